"""What a newcomer meets first (issue 15): where runs go, keys before a run, lanes and
ignored options, grouped warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from genarun_studio.cli import cli
from genarun_studio.store import default_project_dir, find_project_dir

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


# -- project discovery (like git) ----------------------------------------------------------


def test_the_nearest_folder_holding_dot_genarun_is_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GENARUN_PROJECT", raising=False)
    (tmp_path / "proj" / ".genarun").mkdir(parents=True)
    deep = tmp_path / "proj" / "trees" / "notes"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_project_dir() == (tmp_path / "proj").resolve()
    assert default_project_dir() == (tmp_path / "proj").resolve()
    monkeypatch.setenv("GENARUN_PROJECT", str(tmp_path / "elsewhere"))  # the variable wins
    assert default_project_dir() == tmp_path / "elsewhere"


def test_without_a_project_around_the_user_data_folder_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GENARUN_PROJECT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert find_project_dir(tmp_path) is None
    import platformdirs

    assert default_project_dir() == Path(platformdirs.user_data_dir("genarun", appauthor=False))


def test_a_run_without_project_lands_in_the_project_of_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GENARUN_PROJECT", raising=False)
    project = tmp_path / "tour"
    first = invoke(
        "run", str(EXAMPLES / "lizard-blog.genarun.json"), "--mock", "--project", str(project)
    )
    assert first.exit_code == 0, first.output
    assert (project / ".genarun").is_dir()
    monkeypatch.chdir(project)
    result = invoke("run", str(EXAMPLES / "city-guide.genarun.json"), "--mock", "--json")
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.stdout.strip().splitlines()[-1])["run_dir"])
    assert run_dir.parent == project.resolve() / "trees" / "city-guide"
    listed = invoke("runs", "list", "--json")
    assert {r["tree"] for r in json.loads(listed.stdout)} == {"lizard-blog", "city-guide"}


# -- API keys are checked before a run starts ----------------------------------------------


@pytest.mark.usefixtures("key_environment", "memory_keyring")
def test_a_real_run_without_a_key_stops_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = invoke("run", str(EXAMPLES / "lizard-blog.genarun.json"), "--project", str(tmp_path))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "no API key for 'openai'" in lines[0]
    assert "genarun keys set openai" in lines[0]
    assert "OPENAI_API_KEY" in lines[0]
    assert not (tmp_path / "trees").exists()  # no failed run folder


@pytest.mark.usefixtures("key_environment", "no_keyring")
def test_without_a_keychain_the_message_says_to_set_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = invoke("run", str(EXAMPLES / "lizard-blog.genarun.json"), "--project", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "no OS keychain" in result.stderr
    assert "export OPENAI_API_KEY=" in result.stderr
    assert "keys set" not in result.stderr


@pytest.mark.usefixtures("key_environment", "memory_keyring")
def test_profiles_of_own_servers_and_disabled_nodes_need_no_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from genarun_studio.core.registry import default_registry
    from genarun_studio.core.tree import Tree
    from genarun_studio.profiles import missing_keys

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    tree = Tree.model_validate(
        {
            "format": "genarun/1",
            "models": {
                "text": {"model": "llama3.1", "base_url": "http://127.0.0.1:11434/v1"},
                "router": {"model": "m", "key_name": "openrouter"},
            },
            "nodes": [
                {"id": "a", "type": "text", "config": {"prompt": "hi"}},
                {
                    "id": "b",
                    "type": "text",
                    "enabled": False,
                    "config": {"prompt": "hi", "profile": "router"},
                },
            ],
        }
    )
    registry = default_registry()
    assert missing_keys(tree, registry) == []
    enabled = tree.model_copy(
        update={"nodes": [tree.nodes[0], tree.nodes[1].model_copy(update={"enabled": True})]}
    )
    (problem,) = missing_keys(enabled, registry)
    assert "'openrouter'" in problem
    assert "OPENROUTER_API_KEY" in problem
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-test-key-0123456789abcdef")
    assert missing_keys(enabled, registry) == []


def test_messages_are_not_wrapped_when_piped(tmp_path: Path) -> None:
    tree = tmp_path / "t.genarun.json"
    tree.write_text(
        json.dumps(
            {
                "format": "genarun/1",
                "id": "t",
                "nodes": [
                    {
                        "id": "a_node_with_a_rather_long_identifier_to_make_lines_long",
                        "type": "template",
                        "config": {"template": "${no_such_variable_anywhere_in_this_tree}"},
                    }
                ],
            }
        )
    )
    project = tmp_path / ("a-project-folder-with-a-long-name-" * 3)
    result = invoke("run", str(tree), "--mock", "--project", str(project))
    assert result.exit_code == 3, result.output
    failed = [line for line in result.stderr.splitlines() if "failed a_node" in line]
    assert len(failed) == 1, result.stderr
    assert "no_such_variable_anywhere_in_this_tree" in failed[0]
    assert len(failed[0]) > 80
    assert any(str(project.resolve()) in line for line in result.stderr.splitlines())


# -- options that do nothing say so --------------------------------------------------------


def test_an_unknown_lane_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    result = invoke(
        "run",
        str(EXAMPLES / "lizard-blog.genarun.json"),
        "--mock",
        "--concurrency",
        "gpu=8",
        "--project",
        str(tmp_path),
    )
    assert result.exit_code == 2, result.output
    assert "unknown lane 'gpu'" in result.stderr
    for lane in ("text", "image", "http", "local", "human"):
        assert lane in result.stderr
    assert not (tmp_path / "trees").exists()
    ok = invoke(
        "run",
        str(EXAMPLES / "lizard-blog.genarun.json"),
        "--mock",
        "--concurrency",
        "image=1",
        "--project",
        str(tmp_path),
    )
    assert ok.exit_code == 0, ok.output


def test_assume_items_says_when_it_is_ignored(tmp_path: Path) -> None:
    counted = tmp_path / "counted.genarun.json"
    counted.write_text(
        json.dumps(
            {
                "format": "genarun/1",
                "id": "counted",
                "nodes": [
                    {
                        "id": "topics",
                        "type": "text-array",
                        "config": {
                            "prompt": "topics",
                            "validation": {"min_items": 2, "max_items": 2},
                        },
                    }
                ],
            }
        )
    )
    ignored = invoke(
        "run", str(counted), "--dry-run", "--assume-items", "5", "--project", str(tmp_path)
    )
    assert ignored.exit_code == 0, ignored.output
    warnings = [line for line in ignored.stderr.splitlines() if "--assume-items" in line]
    assert warnings == [
        "genarun: warning: --assume-items 5 was ignored: every list in this tree has item "
        "counts of its own (validation min_items / max_items)"
    ]
    uncounted = json.loads(counted.read_text())
    del uncounted["nodes"][0]["config"]["validation"]
    counted.write_text(json.dumps(uncounted))
    used = invoke(
        "run", str(counted), "--dry-run", "--assume-items", "5", "--project", str(tmp_path)
    )
    assert used.exit_code == 0, used.output
    assert "--assume-items" not in used.stderr


# -- validate groups identical problems ----------------------------------------------------


def test_validate_groups_a_warning_many_nodes_share(tmp_path: Path) -> None:
    nodes = [
        {"id": f"n{i}", "type": "template", "config": {"template": "${nobody}"}}
        for i in range(1011)
    ]
    nodes.append({"id": "other", "type": "template", "config": {"template": "${someone}"}})
    tree = tmp_path / "wide.genarun.json"
    tree.write_text(json.dumps({"format": "genarun/1", "nodes": nodes}))
    result = invoke("validate", str(tree))
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, lines[:5]
    assert lines[0].startswith(f"{tree}: warning: unknown variable 'nobody'")
    assert lines[0].endswith(
        "(1011 times: nodes[0].config.template, nodes[1].config.template, "
        "nodes[2].config.template and 1008 more)"
    )
    assert lines[1].startswith(f"{tree}: warning: nodes[1011].config.template: unknown variable")
    assert "1012 warning(s)" in result.stdout
    every = json.loads(invoke("validate", str(tree), "--json").stdout)
    assert len(every) == 1012  # --json keeps them all


# -- install hints that work ---------------------------------------------------------------


def test_a_missing_extra_names_commands_that_work() -> None:
    from genarun_studio.rag.errors import MissingExtra

    message = str(MissingExtra("Retrieval indexes", "rag", "faiss"))
    assert message.startswith("Retrieval indexes: the 'faiss' package is not installed;")
    assert "pip install -e '.[rag]' in a checkout" in message
    assert "-py3-none-any.whl[rag]' from a wheel" in message
    assert "genarun-studio[" not in message  # not a published name
    assert "needs" not in message


@pytest.mark.usefixtures("key_environment", "memory_keyring")
def test_resume_of_a_real_run_checks_the_key_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from genarun_studio.core.formats import load_tree
    from genarun_studio.engine import Engine, RunOptions
    from genarun_studio.store import Project

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    project = Project(tmp_path)
    tree = load_tree(EXAMPLES / "lizard-blog.genarun.json")
    # a real run stopped by its budget before its first call (so it needed no key yet)
    summary = asyncio.run(Engine(project=project).run(tree, options=RunOptions(budget_usd=1e-9)))
    project.close()
    assert summary.status == "stopped"
    result = invoke("resume", summary.run_id, "--project", str(tmp_path), "--budget", "5")
    assert result.exit_code == 2, result.output
    assert "no API key for 'openai'" in result.stderr
    assert "genarun keys set openai" in result.stderr
