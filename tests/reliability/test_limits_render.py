"""Hostile trees against the size and depth limits (issue 13, items 6, 7 and 14): a
doubling prompt, picks nested deep, seeds too large to record."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from genarun_studio.core import template as tpl
from genarun_studio.core.formats import tree_from_data
from genarun_studio.core.registry import default_registry
from genarun_studio.core.tree import Tree
from genarun_studio.core.validate import check_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.errors import TemplateError, TreeError
from genarun_studio.store import Project


def genarun(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "genarun_studio", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def doubling_tree(depth: int, limits: dict[str, Any] | None = None) -> dict[str, Any]:
    """``depth`` template nodes, each rendering its parent's output twice."""
    node: dict[str, Any] | None = None
    for level in reversed(range(depth)):
        source = "seed text " if level == 0 else f"${{n{level - 1}}}${{n{level - 1}}}"
        node = {
            "id": f"n{level}",
            "type": "template",
            "config": {"template": source},
            "children": [node] if node else [],
        }
    data: dict[str, Any] = {"format": "genarun/1", "id": "doubling", "nodes": [node]}
    if limits:
        data["limits"] = limits
    return data


def run_tree(tmp_path: Path, data: dict[str, Any]) -> Any:
    import asyncio

    engine = Engine(project=Project(tmp_path / "project"))
    tree = tree_from_data(data)

    async def go() -> Any:
        run = engine.start(tree, {}, RunOptions(mock=True, seed=1))
        await run.wait()
        return run

    return asyncio.run(go())


def test_a_doubling_prompt_fails_at_the_render_limit_without_building_the_text(
    tmp_path: Path,
) -> None:
    # 30 levels would render 10 GB; the limit stops the first render past 1,000,000 chars
    run = run_tree(tmp_path, doubling_tree(30))
    failed = [i for i in run.instances.values() if i.state == "failed"]
    assert [i.node_id for i in failed] == ["n17"]  # 10 * 2**17 > 1,000,000
    error = failed[0].error
    assert "node 'n17'" in error
    assert "1,000,000 characters" in error
    assert "limits.max_prompt_chars" in error
    assert run.instances[failed[0].key].output is None
    assert all(i.state == "skipped" for i in run.instances.values() if int(i.node_id[1:]) > 17)
    sizes = [p.stat().st_size for p in Path(run.folder.path).iterdir() if p.is_file()]
    assert max(sizes) < 20_000_000


def test_the_render_limit_is_raised_in_the_tree(tmp_path: Path) -> None:
    run = run_tree(tmp_path, doubling_tree(19, {"max_prompt_chars": 3_000_000}))
    assert {i.state for i in run.instances.values()} == {"done"}


def test_an_output_over_its_limit_fails_the_instance(tmp_path: Path) -> None:
    data = doubling_tree(12, {"max_output_chars": 10_000})
    run = run_tree(tmp_path, data)
    failed = [i for i in run.instances.values() if i.state == "failed"]
    assert [i.node_id for i in failed] == ["n10"]  # 10 * 2**10 chars, plus JSON quotes
    assert "over the limit of 10,000" in (failed[0].error or "")
    assert "limits.max_output_chars" in (failed[0].error or "")


def test_render_stops_as_soon_as_it_passes_max_chars() -> None:
    big = "x" * 1000
    with pytest.raises(tpl.RenderTooLarge) as caught:
        tpl.render("${a}" * 1000, {"a": big}, max_chars=5000)
    assert caught.value.size == 6000  # stopped at the sixth value, not after the thousandth
    assert tpl.render("${a}${a}", {"a": big}, max_chars=2000) == big * 2


def test_sigterm_stops_a_run_of_a_doubling_tree_promptly(tmp_path: Path) -> None:
    """The tree of the issue, on a real process and a real signal: the run must stop,
    recorded as stopped, not grind on for minutes (many wide levels keep it busy)."""
    data = doubling_tree(16)
    leaf = data["nodes"][0]
    while leaf["children"]:
        leaf = leaf["children"][0]
    leaf["type"] = "text"
    leaf["config"] = {"prompt": "${n14} [a | b | c]"}
    leaf["children"] = [
        {
            "id": "fan",
            "type": "template",
            "config": {"value": list(range(200))},
            "children": [
                {"id": f"w{k}", "type": "text", "config": {"prompt": "${n14} ${i}"}}
                for k in range(20)
            ],
        }
    ]
    path = tmp_path / "doubling.genarun.json"
    path.write_text(json.dumps(data))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "genarun_studio",
            "run",
            str(path),
            "--mock",
            "--mock-latency",
            "0.5",
            "--project",
            str(tmp_path / "p"),
            "--json",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    journal = None
    deadline = time.monotonic() + 60
    while journal is None and time.monotonic() < deadline:
        found = list((tmp_path / "p").glob("trees/*/*/journal.jsonl"))
        if found and found[0].read_text().count("\n") >= 16:
            journal = found[0]
        time.sleep(0.05)
    assert journal is not None, "the run never got going"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err
    assert json.loads(out.splitlines()[-1])["status"] == "stopped"
    assert json.loads((journal.parent / "run.json").read_text())["status"] == "stopped"


# -- item 7: picks nested deep --------------------------------------------------------


def nested_picks(depth: int) -> str:
    return "[a | " * depth + "b" + "]" * depth


def test_picks_nested_past_the_limit_are_a_parse_error() -> None:
    tpl.parse(nested_picks(tpl.MAX_PICK_DEPTH))  # at the limit: fine
    with pytest.raises(TemplateError, match="nested more than 50 deep"):
        tpl.Template(nested_picks(tpl.MAX_PICK_DEPTH + 1))


def test_validate_refuses_100000_nested_picks_naming_node_and_field() -> None:
    # 400 KB of picks: the probe took 19 GB and 51 s; now linear and refused
    data = {
        "format": "genarun/1",
        "id": "deep",
        "nodes": [{"id": "writer", "type": "text", "config": {"prompt": nested_picks(100_000)}}],
    }
    with pytest.raises(TreeError) as caught:
        tree_from_data(data)
    assert len(caught.value.problems) == 1
    path, message = caught.value.problems[0]
    assert path.startswith("nodes[0].config.prompt")
    assert "nested more than 50 deep" in message
    tree = Tree.model_validate(data)
    errors = [p for p in check_tree(tree, default_registry()) if p.severity == "error"]
    assert [(p.node_id, p.path) for p in errors] == [("writer", path)]


def test_a_pick_record_still_holds_each_option_text() -> None:
    picks: list[tpl.PickRecord] = []
    import random

    tpl.render("[ x | [y | z] ]", {}, random.Random(3), picks)
    assert picks[0].options == ("x", "[y | z]")


# -- item 14: seeds --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1e100, -1, 2**63, "abc"])
def test_validate_refuses_a_seed_the_run_could_not_record(tmp_path: Path, seed: Any) -> None:
    path = tmp_path / "t.genarun.json"
    path.write_text(
        json.dumps(
            {
                "format": "genarun/1",
                "id": "t",
                "seed": seed,
                "nodes": [{"id": "a", "type": "template", "config": {"template": "x"}}],
            }
        )
    )
    result = genarun("validate", str(path))
    assert result.returncode != 0
    assert "seed" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    run = genarun("run", str(path), "--mock", "--project", str(tmp_path / "p"))
    assert run.returncode == 2, run.stderr
    assert "seed" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "p" / "trees").exists()  # no unindexed run folder left behind


def test_the_largest_seed_runs(tmp_path: Path) -> None:
    path = tmp_path / "t.genarun.json"
    path.write_text(
        json.dumps(
            {
                "format": "genarun/1",
                "id": "t",
                "seed": 2**63 - 1,
                "nodes": [{"id": "a", "type": "template", "config": {"template": "[x | y]"}}],
            }
        )
    )
    result = genarun("run", str(path), "--mock", "--project", str(tmp_path / "p"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["seed"] == 2**63 - 1


def test_cli_seed_out_of_range_is_refused(tmp_path: Path) -> None:
    result = genarun("run", "nothing.json", "--seed", str(2**64), "--mock")
    assert result.returncode == 2
    assert "--seed" in result.stderr
    with pytest.raises(ValueError, match="less than or equal"):
        RunOptions(seed=2**63)
    assert RunOptions(seed=-5).seed == -5  # a run recorded with a negative seed still resumes


def test_tree_error_for_a_float_seed_names_the_field() -> None:
    with pytest.raises((TreeError, ValueError)):
        tree_from_data({"format": "genarun/1", "seed": 1e100, "nodes": []})
