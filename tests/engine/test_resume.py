"""Resume, the project-wide cache, cost and budgets, through the engine's public API."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from genarun_studio.engine import Engine, RunOptions
from genarun_studio.errors import RunError
from genarun_studio.providers.base import Usage
from genarun_studio.store import Project
from tests.engine.conftest import ScriptedProvider, items, make_tree, text, until

TREE = make_tree(
    items("l", "list [a | b | c] things", 3, text("t", "about ${l}", text("u", "more on ${t}"))),
    text("solo", "a separate [x | y] branch"),
)


def scripted_engine(project: Path, provider: ScriptedProvider) -> Engine:
    return Engine(project=Project(project), providers={"openai": lambda profile: provider})


def read(run_dir: str | Path, name: str) -> object:
    return json.loads((Path(run_dir) / name).read_text())


async def test_a_stopped_run_resumes_without_calling_finished_nodes_again(tmp_path: Path) -> None:
    provider = ScriptedProvider()
    gate = asyncio.Event()
    provider.gates["more on"] = gate  # the grandchildren hang until stopped
    engine = scripted_engine(tmp_path / "p", provider)
    run = engine.start(TREE, options=RunOptions(seed=8))
    await until(lambda: provider.count("more on") == 3, "the grandchildren to start")
    run.stop()
    first = await run.wait()
    assert first.status == "stopped"
    finished = {k for k, i in run.instances.items() if i.state == "done"}
    assert finished == {"l", "l[0]/t", "l[1]/t", "l[2]/t", "solo"}
    calls_before = len(provider.calls)

    gate.set()
    resumed = engine.prepare_resume(run.id)
    summary = await resumed.wait()
    assert summary.status == "finished"
    assert summary.run_dir == first.run_dir
    new_prompts = provider.prompts()[calls_before:]
    assert sorted(p.split(" on ")[0] for p in new_prompts) == ["more"] * 3

    baseline_provider = ScriptedProvider()
    baseline = await scripted_engine(tmp_path / "q", baseline_provider).run(
        TREE, options=RunOptions(seed=8)
    )
    assert read(summary.run_dir, "output.json") == read(baseline.run_dir, "output.json")
    meta = read(summary.run_dir, "run.json")
    assert isinstance(meta, dict)
    assert meta["status"] == "finished"
    assert meta["resumes"] == 1


async def test_a_torn_journal_line_from_a_kill_is_ignored_and_cut(tmp_path: Path) -> None:
    provider = ScriptedProvider()
    engine = scripted_engine(tmp_path, provider)
    summary = await engine.run(TREE, options=RunOptions(seed=3))
    journal = Path(summary.run_dir) / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    # as if killed while writing the 4th line: keep three whole lines and half of one
    journal.write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    run_json = Path(summary.run_dir) / "run.json"
    meta = json.loads(run_json.read_text())
    run_json.write_text(json.dumps({**meta, "status": "running", "pid": None}))
    calls = len(provider.calls)
    resumed = engine.prepare_resume(summary.run_id)
    assert (await resumed.wait()).status == "finished"
    # the persistent cache answers what the journal lost: still no new call
    assert len(provider.calls) == calls
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert len({r["key"] for r in records}) == len(resumed.instances)


async def test_resume_needs_a_known_run(tmp_path: Path) -> None:
    engine = Engine(project=Project(tmp_path))
    with pytest.raises(RunError, match="no run"):
        engine.prepare_resume("t/2020-01-01_00-00-00")
    with pytest.raises(RunError, match="should look like"):
        engine.prepare_resume("../../etc")


async def test_the_project_cache_spans_engines_and_processes(tmp_path: Path) -> None:
    first = ScriptedProvider()
    await scripted_engine(tmp_path, first).run(TREE, options=RunOptions(seed=5))
    second = ScriptedProvider()
    summary = await scripted_engine(tmp_path, second).run(TREE, options=RunOptions(seed=5))
    assert second.calls == []
    assert summary.counts == {"cached": 8}
    logs = read(summary.run_dir, "logs.json")
    assert isinstance(logs, dict)
    assert all(r["cached_from"] for r in logs["instances"])


async def test_cost_comes_from_reported_usage_and_the_pricing_table(tmp_path: Path) -> None:
    provider = ScriptedProvider()
    provider.rules["price me"] = lambda r: "ok"  # reports 10 input and 5 output tokens
    summary = await scripted_engine(tmp_path, provider).run(make_tree(text("a", "price me")))
    # gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output
    assert summary.cost_usd == pytest.approx((10 * 0.15 + 5 * 0.60) / 1e6)
    meta = read(summary.run_dir, "run.json")
    assert isinstance(meta, dict)
    assert meta["cost_usd"] == pytest.approx(summary.cost_usd)
    index = Project(tmp_path).index
    assert index is not None
    assert index.run(summary.run_id)["cost_usd"] == pytest.approx(summary.cost_usd)  # type: ignore[index]


async def test_mock_runs_are_free(tmp_path: Path) -> None:
    summary = await Engine(project=Project(tmp_path)).run(TREE, options=RunOptions(mock=True))
    assert summary.cost_usd == 0
    assert summary.usage.input_tokens > 0


async def test_a_budget_stops_the_run_before_it_is_passed_and_resume_goes_on(
    tmp_path: Path,
) -> None:
    provider = ScriptedProvider()
    provider.rules["list"] = lambda r: '["a", "b", "c"]'
    provider.rules["about"] = lambda r: "text"
    provider.usage = Usage(input_tokens=1000, output_tokens=500)  # $0.00045 on gpt-4o-mini
    engine = scripted_engine(tmp_path, provider)
    tree = make_tree(
        items("l", "list", 3, text("t", "about ${l}")),
        limits={"concurrency": {"text": 1}, "backoff_s": 0},
    )
    # a text call is estimated at ~$0.0003 before it is made: the third would pass $0.001
    run = engine.start(tree, options=RunOptions(seed=1, budget_usd=0.001))
    summary = await run.wait()
    assert summary.status == "stopped"
    assert len(provider.calls) == 2
    assert summary.cost_usd == pytest.approx(2 * 0.00045)
    assert [i.key for i in run.instances.values() if i.state == "stopped"]
    resumed = engine.prepare_resume(run.id, budget_usd=1.0)
    assert (await resumed.wait()).status == "finished"
    assert len(provider.calls) == 4
    assert resumed.cost_usd == pytest.approx(4 * 0.00045)


async def test_mock_answers_never_stand_in_for_real_ones(tmp_path: Path) -> None:
    await Engine(project=Project(tmp_path)).run(TREE, options=RunOptions(mock=True, seed=4))
    provider = ScriptedProvider()
    summary = await scripted_engine(tmp_path, provider).run(TREE, options=RunOptions(seed=4))
    assert summary.counts == {"done": 8}
    assert len(provider.calls) == 8


async def test_a_finished_or_live_run_is_not_resumed(tmp_path: Path) -> None:
    provider = ScriptedProvider()
    engine = scripted_engine(tmp_path, provider)
    summary = await engine.run(TREE, options=RunOptions(seed=3))
    with pytest.raises(RunError, match="already finished"):
        engine.prepare_resume(summary.run_id)
    run_json = Path(summary.run_dir) / "run.json"
    meta = json.loads(run_json.read_text())
    run_json.write_text(json.dumps({**meta, "status": "running", "pid": os.getpid()}))
    with pytest.raises(RunError, match="still going"):
        engine.prepare_resume(summary.run_id)


async def test_resume_counts_what_failed_attempts_spent(tmp_path: Path) -> None:
    provider = ScriptedProvider()
    provider.rules["broken"] = lambda r: "not json at all"
    provider.usage = Usage(input_tokens=1000, output_tokens=500)
    engine = scripted_engine(tmp_path, provider)
    tree = make_tree(
        {"id": "o", "type": "object", "config": {"prompt": "broken"}},
        text("t", "fine"),
        limits={"max_reasks": 0, "backoff_s": 0},
    )
    provider.rules["fine"] = lambda r: "ok"
    first = await engine.run(tree, options=RunOptions(seed=1))
    assert first.status == "failed"
    resumed = engine.prepare_resume(first.run_id)
    summary = await resumed.wait()
    # the failed object was asked twice (once per session), the text once: all were paid
    assert summary.cost_usd == pytest.approx(3 * 0.00045)


async def test_a_cached_result_whose_files_are_gone_is_made_again(tmp_path: Path) -> None:
    engine = Engine(project=Project(tmp_path))
    tree = make_tree({"id": "pic", "type": "image", "config": {"prompt": "a fox"}})
    first = await engine.run(tree, options=RunOptions(mock=True, seed=1))
    shutil.rmtree(first.run_dir)
    again = await engine.run(tree, options=RunOptions(mock=True, seed=1))
    assert again.counts == {"done": 1}
    output = json.loads((Path(again.run_dir) / "output.json").read_text())
    assert (Path(again.run_dir) / output["pic"]).is_file()


async def test_stop_before_the_first_tick_starts_nothing(tmp_path: Path) -> None:
    provider = ScriptedProvider()
    run = scripted_engine(tmp_path, provider).start(TREE, options=RunOptions(seed=1))
    run.stop()
    summary = await run.wait()
    assert summary.status == "stopped"
    assert provider.calls == []
    assert set(summary.counts) == {"stopped"}
