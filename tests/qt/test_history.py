"""The run history panel against a project's real index (mock runs) and at 10,000 runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.qt.panels.history import (
    COST,
    STARTED,
    STATUS,
    TREE,
    RunHistoryPanel,
    cost_text,
    duration_text,
)
from genarun_studio.store import Project
from genarun_studio.store.index import RunIndex

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _run_examples(project: Project) -> None:
    async def go() -> None:
        engine = Engine(project=project)
        for seed, name in enumerate(("lizard-blog", "lizard-blog", "city-guide"), start=1):
            tree = load_tree(EXAMPLES / f"{name}.genarun.json")
            await engine.run(tree, {}, RunOptions(mock=True, seed=seed))

    asyncio.run(go())


@pytest.fixture
def index(tmp_path: Path) -> Iterator[RunIndex]:
    project = Project(tmp_path)
    _run_examples(project)
    assert project.index is not None
    yield project.index
    project.close()


def _panel(qtbot: QtBot, index: RunIndex | None) -> RunHistoryPanel:
    panel = RunHistoryPanel(index)
    qtbot.addWidget(panel)
    panel.resize(1100, 320)
    panel.show()
    return panel


def _column(panel: RunHistoryPanel, column: int) -> list[str]:
    proxy = panel.proxy
    return [str(proxy.index(row, column).data()) for row in range(proxy.rowCount())]


def test_table_shows_what_the_index_holds(qtbot: QtBot, index: RunIndex) -> None:
    panel = _panel(qtbot, index)
    runs = index.runs()
    assert len(runs) == 3
    assert panel.model.rowCount() == panel.proxy.rowCount() == 3
    assert [r["run_id"] for r in panel.visible_runs()] == [r["run_id"] for r in runs]
    assert panel.count_label.text() == "3 of 3 runs"

    city = next(r for r in runs if r["tree_id"] == "city-guide")
    row = next(i for i, r in enumerate(panel.visible_runs()) if r["run_id"] == city["run_id"])
    assert panel.proxy.index(row, TREE).data() == "city-guide"
    assert panel.proxy.index(row, STATUS).data() == city["status"] == "finished"
    assert panel.proxy.index(row, COST).data() == cost_text(city["cost_usd"])
    assert panel.proxy.index(row, STATUS).data(Qt.ItemDataRole.ForegroundRole).name() == "#2e7d32"
    assert panel.proxy.index(row, 7).data() == "mock"

    assert [panel.tree_combo.itemData(i) for i in range(panel.tree_combo.count())] == [
        None,
        "city-guide",
        "lizard-blog",
    ]
    assert panel.status_combo.itemData(1) == "finished"
    panel.grab().save("/tmp/history.png")


def test_sorting_by_started(qtbot: QtBot, index: RunIndex) -> None:
    panel = _panel(qtbot, index)
    starts = sorted(r["started_at"] for r in index.runs())

    panel.view.sortByColumn(STARTED, Qt.SortOrder.AscendingOrder)
    assert [r["started_at"] for r in panel.visible_runs()] == starts
    panel.view.sortByColumn(STARTED, Qt.SortOrder.DescendingOrder)
    assert [r["started_at"] for r in panel.visible_runs()] == starts[::-1]


def test_tree_status_and_date_filters(qtbot: QtBot, index: RunIndex) -> None:
    panel = _panel(qtbot, index)
    panel.set_tree_filter("lizard-blog")
    assert {r["tree_id"] for r in panel.visible_runs()} == {"lizard-blog"}
    assert panel.proxy.rowCount() == 2
    assert panel.count_label.text() == "2 of 3 runs"

    panel.set_tree_filter(None)
    panel.set_status_filter("failed")
    assert panel.proxy.rowCount() == 0
    panel.set_status_filter(None)
    assert panel.proxy.rowCount() == 3

    day = panel.from_date.date().toPython()
    assert isinstance(day, type(panel.to_date.date().toPython()))
    panel.from_date.setDate(panel.to_date.date().addDays(1))
    assert panel.proxy.rowCount() == 0
    panel.set_date_range(None, None)
    assert panel.proxy.rowCount() == 3


def test_text_filter_finds_a_run_by_input_value(qtbot: QtBot, index: RunIndex) -> None:
    city = next(r for r in index.runs() if r["tree_id"] == "city-guide")
    assert json.loads(city["inputs_json"])["city"] == "Lisbon"
    panel = _panel(qtbot, index)

    panel.set_text_filter("lisbon")
    assert [r["run_id"] for r in panel.visible_runs()] == [city["run_id"]]
    panel.set_text_filter(city["run_id"].split("/")[1])
    assert city["run_id"] in [r["run_id"] for r in panel.visible_runs()]
    panel.set_text_filter("no such thing")
    assert panel.proxy.rowCount() == 0


def test_double_click_and_enter_emit_run_activated(qtbot: QtBot, index: RunIndex) -> None:
    panel = _panel(qtbot, index)
    qtbot.waitExposed(panel)
    target = panel.proxy.index(1, TREE)
    run_id = panel.visible_runs()[1]["run_id"]
    rect = panel.view.visualRect(target)

    with qtbot.waitSignal(panel.runActivated, timeout=2000) as blocker:
        qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [run_id]
    assert panel.selected_run_id() == run_id

    panel.view.setFocus()
    panel.view.setCurrentIndex(panel.proxy.index(0, TREE))
    with qtbot.waitSignal(panel.runActivated, timeout=2000) as blocker:
        qtbot.keyClick(panel.view, Qt.Key.Key_Return)
    assert blocker.args == [panel.visible_runs()[0]["run_id"]]


def test_refresh_keeps_selection_and_picks_up_new_runs(qtbot: QtBot, tmp_path: Path) -> None:
    project = Project(tmp_path)
    index = project.index
    assert index is not None
    panel = _panel(qtbot, None)
    assert panel.model.rowCount() == 0
    assert panel.count_label.text() == "0 of 0 runs"

    _run_examples(project)
    panel.set_index(index)
    assert panel.proxy.rowCount() == 3
    chosen = panel.visible_runs()[2]["run_id"]
    assert panel.select_run(chosen)
    index.record_run(
        {"run_id": "x/1", "tree_id": "x", "status": "failed", "started_at": 4_000_000_000},
        str(tmp_path / "x"),
    )
    panel.refresh()
    assert panel.proxy.rowCount() == 4  # the untouched date range grew to cover it
    assert panel.selected_run_id() == chosen
    assert panel.proxy.index(0, STATUS).data() == "failed"
    project.close()


def test_formats() -> None:
    assert duration_text(None) == "—"
    assert duration_text(0.051) == "0.05 s"
    assert duration_text(185) == "3 m 05 s"
    assert duration_text(3720) == "1 h 02 m"
    assert cost_text(0.00123) == "$0.0012"
    assert cost_text(12.345) == "$12.35"


def test_ten_thousand_runs(qtbot: QtBot, tmp_path: Path) -> None:
    index = RunIndex(tmp_path / "index.sqlite")
    with index.transaction():
        for n in range(10_000):
            meta: dict[str, Any] = {
                "run_id": f"t{n % 20}/2026-01-01_00-00-{n}",
                "tree_id": f"t{n % 20}",
                "status": "finished",
                "started_at": 1_700_000_000 + n,
                "instances": {"done": 3},
                "usage": {},
                "cost_usd": 0.001,
                "inputs": {"n": n},
            }
            index.record_run(meta, str(tmp_path / meta["run_id"]))
    panel = _panel(qtbot, index)
    assert panel.model.rowCount() == 10_000
    assert panel.proxy.rowCount() == 10_000
    panel.set_tree_filter("t7")
    assert panel.proxy.rowCount() == 500
    assert panel.count_label.text() == "500 of 10000 runs"
    panel.view.sortByColumn(STARTED, Qt.SortOrder.AscendingOrder)
    starts = [r["started_at"] for r in panel.visible_runs()]
    assert starts == sorted(starts)
    assert not panel.proxy.index(0, 0).parent().isValid()
    assert panel.model.rowCount(QModelIndex()) == 10_000
    index.close()
