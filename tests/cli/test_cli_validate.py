"""Tests of the ``genarun`` command: validate, schema, and the safety of run."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from genarun_studio.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "lizard-blog.genarun.json"


def invoke(*args: str | Path) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    # A crash would show as an exception other than the command's own exit.
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"genarun crashed: {result.exception!r}\n{result.output}")
    return result


def assert_clean_failure(result: Result, file: Path, code: int = 2) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("genarun: "), result.stderr
    assert str(file) in result.stderr
    assert "Traceback" not in result.output


def tnode(node_id: str, template: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "template", "config": {"template": template}, **extra}


def write(path: Path, content: Any) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return path


def files_under(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


# ---------------------------------------------------------------------------------------
# genarun validate


def test_validate_a_good_tree() -> None:
    result = invoke("validate", EXAMPLE)
    assert result.exit_code == 0
    assert result.stdout.strip() == f"{EXAMPLE}: valid (4 nodes, 0 warning(s))"
    assert result.stderr == ""


def test_validate_shows_warnings_and_still_passes(tmp_path: Path) -> None:
    tree = write(tmp_path / "warn.genarun.json", {"nodes": [tnode("a", "Hi ${nobody}")]})
    result = invoke("validate", tree)
    assert result.exit_code == 0
    assert "valid (1 nodes, 1 warning(s))" in result.stdout
    assert f"{tree}: warning: nodes[0].config.template: unknown variable 'nobody'" in (
        result.stderr
    )


def test_validate_json_lists_warnings(tmp_path: Path) -> None:
    tree = write(tmp_path / "warn.genarun.json", {"nodes": [tnode("a", "Hi ${nobody}")]})
    result = invoke("validate", tree, "--json")
    assert result.exit_code == 0
    problems = json.loads(result.stdout)
    assert problems == [
        {
            "severity": "warning",
            "path": "nodes[0].config.template",
            "message": problems[0]["message"],
            "node_id": "a",
        }
    ]
    assert "nobody" in problems[0]["message"]


def test_validate_json_of_a_good_tree_is_an_empty_list() -> None:
    result = invoke("validate", EXAMPLE, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_validate_json_of_a_bad_tree_lists_the_errors(tmp_path: Path) -> None:
    doc = {"nodes": [tnode("a"), tnode("a"), {"id": "b", "type": "video"}]}
    tree = write(tmp_path / "bad.genarun.json", doc)
    result = invoke("validate", tree, "--json")
    assert_clean_failure(result, tree)
    problems = json.loads(result.stdout)
    assert [(p["severity"], p["path"]) for p in problems] == [
        ("error", "nodes[1].id"),
        ("error", "nodes[2].type"),
    ]


def test_validate_reports_legacy_warnings_in_legacy_terms(tmp_path: Path) -> None:
    doc = {"generations": [{"type": "text", "outputKey": "a", "config": {"prompt": "${zz}"}}]}
    tree = write(tmp_path / "old.json", doc)
    result = invoke("validate", tree, "--json")
    assert result.exit_code == 0
    assert [p["path"] for p in json.loads(result.stdout)] == [
        "generations[0].config.prompt[0].template"
    ]


def _nested_children(levels: int) -> str:
    node = '{"id": "n", "type": "template", "config": {"template": "x"}, "children": ['
    return '{"nodes": [' + node * levels + "]}" * levels + "]}"


def _nested_generations(levels: int) -> str:
    gen = '{"type": "text", "config": {"prompt": "x"}, "generations": ['
    return '{"generations": [' + gen * levels + "]}" * levels + "]}"


BAD_FILES: list[tuple[str, Any, str]] = [
    ("broken JSON", '{"nodes": [', "not valid JSON"),
    ("empty", b"", "empty"),
    ("whitespace", "  \n\t  \n", "empty"),
    ("binary", random.Random(7).randbytes(2048) + b"\x00", "binary"),
    ("not UTF-8", b'{"name": "caf\xe9"}', "UTF-8"),
    ("a number", "42", "JSON object"),
    ("a string", '"tree"', "JSON object"),
    ("null", "null", "JSON object"),
    ("children a string", {"nodes": [tnode("a", children="x")]}, "nodes[0].children"),
    ("enabled a string", {"nodes": [tnode("a", enabled="yes")]}, "nodes[0].enabled"),
    ("unknown field", {"nodes": [tnode("a", colour="red")]}, "nodes[0].colour"),
    ("bad id", {"nodes": [tnode("../evil")]}, "nodes[0].id"),
    ("duplicate ids", {"nodes": [tnode("a"), tnode("a")]}, "nodes[1].id"),
    ("unknown type", {"nodes": [{"id": "a", "type": "video"}]}, "nodes[0].type"),
    ("invalid config", {"nodes": [{"id": "a", "type": "text"}]}, "nodes[0].config.prompt"),
    ("template syntax", {"nodes": [tnode("a", "${x")]}, "nodes[0].config.template"),
    ("3,000 nested children", _nested_children(3000), "deep"),
    ("3,000 nested generations", _nested_generations(3000), "deep"),
    ("100,000 nested arrays", "[" * 100_000 + "]" * 100_000, "deep"),
    ("huge number", '{"seed": ' + "9" * 5000 + "}", "digits"),
    ("NaN", '{"seed": NaN}', "NaN"),
    (
        "legacy unknown type",
        {"generations": [{"type": "video", "outputKey": "v"}]},
        "generations[0].type",
    ),
]


@pytest.mark.parametrize(
    ("label", "content", "words"), BAD_FILES, ids=[label for label, _, _ in BAD_FILES]
)
def test_validate_bad_files_exit_2_with_one_clear_message(
    tmp_path: Path, label: str, content: Any, words: str
) -> None:
    tree = write(tmp_path / "bad.genarun.json", content)
    result = invoke("validate", tree)
    assert_clean_failure(result, tree)
    assert words in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("label", "content", "words"), BAD_FILES, ids=[label for label, _, _ in BAD_FILES]
)
def test_validate_json_of_bad_files_parses(
    tmp_path: Path, label: str, content: Any, words: str
) -> None:
    tree = write(tmp_path / "bad.genarun.json", content)
    result = invoke("validate", tree, "--json")
    assert_clean_failure(result, tree)
    problems = json.loads(result.stdout)
    assert problems
    assert all(p["severity"] == "error" for p in problems)


def test_validate_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.genarun.json"
    result = invoke("validate", missing)
    assert_clean_failure(result, missing)
    assert "does not exist" in result.stderr


def test_validate_a_directory_exits_2_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "folder.genarun.json"
    folder.mkdir()
    result = invoke("validate", folder)
    assert_clean_failure(result, folder)
    assert "folder" in result.stderr


# ---------------------------------------------------------------------------------------
# genarun schema


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_schema_is_a_valid_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_accepts_the_example(schema: dict[str, Any]) -> None:
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(example))
    assert errors == []


def _schema_errors(schema: dict[str, Any], doc: Any) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(doc)]


def test_schema_rejects_an_unknown_config_field(schema: dict[str, Any]) -> None:
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    example["nodes"][0]["children"][0]["children"][1]["config"]["colour"] = "red"
    found = _schema_errors(schema, example)
    assert any("'colour' was unexpected" in m for m in found), found


@pytest.mark.parametrize(
    "doc",
    [
        {"nodes": [tnode("a", bogus=1)]},
        {"nodes": [tnode("../evil")]},
        {"nodes": [tnode("a", enabled="yes")]},
        {"nodes": [{"id": "a", "type": "template", "config": {"template": 3}}]},
        {"nodes": [{"id": "a", "type": "text", "config": {}}]},
        {"format": "genarun/2"},
    ],
)
def test_schema_rejects_what_the_loader_rejects(
    schema: dict[str, Any], doc: dict[str, Any]
) -> None:
    assert _schema_errors(schema, doc)


@pytest.mark.parametrize(
    "example",
    sorted((ROOT / "resources" / "examples").glob("*.js*")),  # .json, and the original's .js
    ids=lambda p: p.name,
)
def test_every_shipped_example_validates_and_its_saved_form_fits_the_schema(
    schema: dict[str, Any], example: Path
) -> None:
    from genarun_studio.core.formats import dumps_tree, load_tree

    result = invoke("validate", example)
    assert result.exit_code == 0, result.output
    assert "0 warning(s)" in result.stdout
    saved = json.loads(dumps_tree(load_tree(example)))
    assert _schema_errors(schema, saved) == []


def test_schema_accepts_what_the_loader_saves(schema: dict[str, Any], tmp_path: Path) -> None:
    from genarun_studio.core.formats import dumps_tree, tree_from_data

    legacy = {
        "models": {"text": "gpt-4o-mini"},
        "generations": [
            {
                "type": "text-array",
                "outputKey": "ideas",
                "config": {"prompt": {"prefix": "Ten", "template": "ideas"}, "temperature": 1},
                "validation": {"minLength": 2},
                "generations": [{"type": "image", "outputKey": "pic", "config": {"prompt": "x"}}],
            }
        ],
    }
    saved = json.loads(dumps_tree(tree_from_data(legacy)))
    assert _schema_errors(schema, saved) == []


# ---------------------------------------------------------------------------------------
# genarun run: nothing outside --project, clear input errors


def _run(tree: Path, project: Path, *extra: str) -> Result:
    return invoke("run", tree, "--mock", "--quiet", "--project", project, *extra)


@pytest.mark.parametrize(
    "doc",
    [
        {"id": "../../escape", "nodes": [tnode("a")]},
        {"id": "a/b", "nodes": [tnode("a")]},
        {"nodes": [tnode("../x")]},
        {"nodes": [tnode("a", children=[tnode("../../x")])]},
        {"nodes": [tnode("a", output_key="../x")]},
    ],
)
def test_run_refuses_path_characters_and_writes_nothing(
    tmp_path: Path, doc: dict[str, Any]
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    tree = write(tmp_path / "evil.genarun.json", doc)
    project = work / "project"
    before = files_under(tmp_path)
    result = _run(tree, project)
    assert_clean_failure(result, tree)
    assert "not a valid identifier" in result.stderr
    assert files_under(tmp_path) - before <= {Path("work/project")}, files_under(tmp_path)
    assert not project.exists() or files_under(project) <= {Path("trees")}


def test_run_of_a_legacy_tree_with_path_like_names_stays_inside_the_project(
    tmp_path: Path,
) -> None:
    doc = {
        "generations": [
            {
                "id": "../../etc",
                "type": "text-array",
                "outputKey": "../../../ideas",
                "config": {"prompt": "ideas"},
                "validation": {"minLength": 2, "maxLength": 2},
                "generations": [
                    {"type": "image", "outputKey": "/tmp/pic", "config": {"prompt": "${i}"}}
                ],
            }
        ]
    }
    work = tmp_path / "work"
    work.mkdir()
    tree = write(work / "..genarun.json", doc)
    project = work / "project"
    result = _run(tree, project, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished"
    run_dir = Path(summary["run_dir"]).resolve()
    assert project.resolve() in run_dir.parents
    assert set(work.iterdir()) == {tree, project}
    assert set(tmp_path.iterdir()) == {work}
    for path in project.rglob("*"):
        assert project.resolve() in path.resolve().parents
    output = json.loads((run_dir / "output.json").read_text(encoding="utf-8"))
    images = [item["tmp_pic"] for item in output["ideas"]]
    assert len(images) == 2
    for image in images:
        assert (run_dir / image).resolve().is_file()
        assert run_dir in (run_dir / image).resolve().parents


def test_run_the_example_with_the_mock(tmp_path: Path) -> None:
    project = tmp_path / "project"
    result = _run(EXAMPLE, project, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished"
    assert (project / "trees" / "lizard-blog").is_dir()


def test_run_with_a_missing_required_input_exits_2_naming_it(tmp_path: Path) -> None:
    doc = {
        "inputs": {"who": {"type": "string"}, "mood": {"default": "calm"}},
        "nodes": [tnode("greet", "Hello ${who}, ${mood}")],
    }
    tree = write(tmp_path / "greet.genarun.json", doc)
    project = tmp_path / "project"
    result = _run(tree, project)
    assert result.exit_code == 2
    assert result.stderr.startswith("genarun: ")
    assert "who" in result.stderr
    assert "mood" not in result.stderr
    assert "Traceback" not in result.output
    given = _run(tree, project, "--input", "who=Ada")
    assert given.exit_code == 0, given.output


def test_run_of_a_legacy_tree_needs_its_required_inputs(tmp_path: Path) -> None:
    doc = {"type": "text", "requiredInputs": ["year"], "config": {"prompt": "News of ${year}"}}
    tree = write(tmp_path / "news.json", doc)
    result = _run(tree, tmp_path / "project")
    assert result.exit_code == 2
    assert result.stderr.startswith("genarun: ")
    assert "year" in result.stderr


def test_run_of_a_bad_tree_exits_2(tmp_path: Path) -> None:
    tree = write(tmp_path / "bad.genarun.json", b"\x00\x01garbage")
    result = _run(tree, tmp_path / "project")
    assert_clean_failure(result, tree)


# ---------------------------------------------------------------------------------------
# The real command in a subprocess: no traceback ever reaches the user


def test_real_command_reports_bad_input_without_a_traceback(tmp_path: Path) -> None:
    tree = write(tmp_path / "garbage.genarun.json", random.Random(3).randbytes(512) + b"\x00")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "genarun_studio.cli", "validate", str(tree)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("genarun: ")
    assert str(tree) in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
