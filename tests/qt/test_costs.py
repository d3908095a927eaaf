"""Cost views: sums per run, tree, model and day from an index; dry-run estimates beside."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.qt.panels.costs import CostView
from genarun_studio.store import Project
from genarun_studio.store.index import RunIndex

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
DAY = 86_400.0
NOON = datetime(2026, 3, 2, 12, 0).timestamp()


def _fill(index: RunIndex, runs: int) -> dict[str, Any]:
    """``runs`` fabricated runs over 3 trees and 5 days, 2 instances each (2 models)."""
    expected: dict[str, Any] = {"tree": {}, "day": {}, "model": {}, "total": 0.0, "est": 0.0}
    with index.transaction():
        for n in range(runs):
            tree = f"tree{n % 3}"
            started = NOON + (n % 5) * DAY + n
            cost = round(0.01 * (n % 7 + 1), 4)
            est = round(cost * 1.5, 4) if n % 2 == 0 else None
            run_id = f"{tree}/r{n}"
            index.record_run(
                {
                    "run_id": run_id,
                    "tree_id": tree,
                    "status": "finished",
                    "started_at": started,
                    "instances": {"done": 2},
                    "usage": {"input_tokens": 10, "output_tokens": 5},
                    "cost_usd": cost,
                    "est_cost_usd": est,
                },
                f"/nowhere/{run_id}",
            )
            for key, model, share in (("a", "gpt-4o-mini", 0.25), ("b", "gpt-image-1", 0.75)):
                index.record_instance(
                    run_id,
                    {
                        "key": key,
                        "node_id": key,
                        "state": "done",
                        "cost_usd": cost * share,
                        "usage": {"input_tokens": 5},
                        "calls": [{"model": model, "cost_usd": cost * share}],
                    },
                )
                expected["model"][model] = expected["model"].get(model, 0.0) + cost * share
            day = datetime.fromtimestamp(started).strftime("%Y-%m-%d")
            expected["tree"][tree] = expected["tree"].get(tree, 0.0) + cost
            expected["day"][day] = expected["day"].get(day, 0.0) + cost
            expected["total"] += cost
            expected["est"] += est or 0.0
    return expected


def _view(qtbot: QtBot, index: RunIndex | None) -> CostView:
    view = CostView(index)
    qtbot.addWidget(view)
    view.resize(1100, 420)
    view.show()
    return view


def test_every_view_sums_to_the_same_total(qtbot: QtBot, tmp_path: Path) -> None:
    index = RunIndex(tmp_path / ".genarun" / "index.sqlite")
    expected = _fill(index, 40)
    view = _view(qtbot, index)
    assert view.runs.rowCount() == 40
    trees = {r["tree_id"]: r["cost_usd"] for r in view.trees.rows}
    assert trees == pytest.approx(expected["tree"])
    days = {r["day"]: r["cost_usd"] for r in view.days.rows}
    assert days == pytest.approx(expected["day"])
    assert [r["day"] for r in view.days.rows] == sorted(days)
    models = {r["model"]: r["cost_usd"] for r in view.models.rows}
    assert models == pytest.approx(expected["model"])
    for model in (view.runs, view.trees, view.days, view.models):
        assert view.totals_by(model) == pytest.approx(expected["total"])
    assert view.totals_by(view.trees, "est_cost_usd") == pytest.approx(expected["est"])
    assert sum(r["estimated_runs"] for r in view.trees.rows) == 20
    assert view.totals.text().startswith(f"<b>${expected['total']:,.2f}</b> actual over 40 runs")
    assert "estimated for 20 of them" in view.totals.text()
    assert len(view.chart.days) == 5
    view.tabs.setCurrentIndex(3)
    assert not view.grab().isNull()  # the chart paints
    assert view.select_run("tree1/r1")
    assert {r["node_id"]: r["cost_usd"] for r in view.nodes.rows} == pytest.approx(
        {"a": 0.02 * 0.25, "b": 0.02 * 0.75}
    )
    index.close()


def test_ten_thousand_runs(qtbot: QtBot, tmp_path: Path) -> None:
    index = RunIndex(tmp_path / "index.sqlite")
    expected = _fill(index, 10_000)
    view = _view(qtbot, index)
    assert view.runs.rowCount() == 10_000
    assert view.totals_by(view.days) == pytest.approx(expected["total"])
    assert view.run_table.model().rowCount() == 10_000
    index.close()


def test_estimate_a_real_run_beside_its_actual_cost(qtbot: QtBot, tmp_path: Path) -> None:
    project = Project(tmp_path)
    tree = load_tree(EXAMPLES / "lizard-blog.genarun.json")
    summary = asyncio.run(Engine(project=project).run(tree, {}, RunOptions(mock=True, seed=1)))
    assert project.index is not None
    view = _view(qtbot, project.index)
    assert view.select_run(summary.run_id)
    assert {r["model"] for r in view.models.rows} >= {"gpt-4o-mini", "gpt-image-1"}
    assert view.totals_by(view.runs) == 0.0  # a mock run is free
    with qtbot.waitSignal(view.estimated, timeout=60_000):
        assert view.estimate(summary.run_id)
    assert view.last_error == ""
    recorded = project.index.run(summary.run_id)
    assert recorded is not None
    assert recorded["est_cost_usd"] > 0
    nodes = {r["node_id"]: r["est_cost_usd"] for r in view.nodes.rows}
    assert set(nodes) == {"site", "topics", "article", "hero"}
    assert sum(nodes.values()) == pytest.approx(recorded["est_cost_usd"])
    assert nodes["hero"] > nodes["site"]  # three images cost more than one short answer
    assert view.runs.rows[0]["est_cost_usd"] == pytest.approx(recorded["est_cost_usd"])
    assert not list(Path(summary.run_dir).parent.glob("2*-2"))  # the dry run left no run
    view.shutdown()
    # kept in the run folder too: an index rebuilt from the folders still has it
    from genarun_studio.store.rebuild import rebuild_index

    assert (Path(summary.run_dir) / "estimate.json").is_file()
    assert rebuild_index(project) == 1
    rebuilt = project.index.run(summary.run_id)
    assert rebuilt is not None
    assert rebuilt["est_cost_usd"] == pytest.approx(recorded["est_cost_usd"])
    assert project.index.node_estimates(summary.run_id) == pytest.approx(nodes)
    project.close()
