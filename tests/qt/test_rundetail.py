"""The run detail widget against a project's real index (mock runs)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.qt.panels.rundetail import MAX_CHILDREN, RunDetail, pack_rows
from genarun_studio.store import Project
from genarun_studio.store.index import RunIndex

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
BROKEN_TREE = {
    "format": "genarun/1",
    "id": "broken",
    "name": "Broken",
    "nodes": [
        {"id": "broken", "type": "template", "config": {"template": "{bad", "parse_json": True}}
    ],
}


class Runs:
    def __init__(self, project: Project, blog: str, broken: str) -> None:
        self.project = project
        self.blog = blog
        self.broken = broken

    @property
    def index(self) -> RunIndex:
        assert self.project.index is not None
        return self.project.index


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Runs]:
    project = Project(tmp_path / "project")
    tree_file = tmp_path / "broken.genarun.json"
    tree_file.write_text(json.dumps(BROKEN_TREE), encoding="utf-8")

    async def go() -> tuple[str, str]:
        engine = Engine(project=project)
        blog = await engine.run(
            load_tree(EXAMPLES / "lizard-blog.genarun.json"), {}, RunOptions(mock=True, seed=1)
        )
        broken = await engine.run(load_tree(tree_file), {}, RunOptions(mock=True, seed=1))
        return blog.run_id, broken.run_id

    blog, broken = asyncio.run(go())
    yield Runs(project, blog, broken)
    project.close()


def _detail(qtbot: QtBot, index: RunIndex | None) -> RunDetail:
    detail = RunDetail(index)
    qtbot.addWidget(detail)
    detail.resize(1100, 420)
    detail.show()
    return detail


def test_timeline_has_one_bar_per_instance(qtbot: QtBot, runs: Runs) -> None:
    detail = _detail(qtbot, runs.index)
    assert detail.show_run(runs.blog)
    assert detail.run_id == runs.blog
    instances = runs.index.instances(runs.blog)
    bars = detail.timeline_bars()
    assert len(bars) == len(instances) == 8
    assert sorted(str(b.data(0)) for b in bars) == sorted(i["key"] for i in instances)
    assert all(b.rect().width() >= 2 for b in bars)
    assert all("node " in b.toolTip() for b in bars)


def test_a_question_still_open_has_its_bar(qtbot: QtBot, tmp_path: Path) -> None:
    """A run that ended waiting for a person: the waiting instance started and never ended,
    and still gets its (waiting-coloured) bar, to the run's last moment."""
    from genarun_studio.engine import events as ev
    from genarun_studio.qt.canvas import STATE_COLORS

    project = Project(tmp_path / "project")

    async def go() -> str:
        waiting = asyncio.Event()
        run = Engine(project=project).prepare(
            load_tree(EXAMPLES / "story-choice.genarun.json"), options=RunOptions(mock=True)
        )
        run.subscribe(lambda event: waiting.set() if isinstance(event, ev.RunWaiting) else None)
        run.start()
        await asyncio.wait_for(waiting.wait(), 30)
        run.human.suspend()
        return (await run.wait()).run_id

    run_id = asyncio.run(go())
    assert project.index is not None
    detail = _detail(qtbot, project.index)
    assert detail.show_run(run_id)
    bars = {str(b.data(0)): b for b in detail.timeline_bars()}
    assert sorted(bars) == ["opening", "opening/paths", "opening/paths/choice"]
    question = bars["opening/paths/choice"]
    assert question.brush().color().name() == STATE_COLORS["waiting"].lower()
    assert "waiting" in question.toolTip()
    right = max(b.mapRectToScene(b.rect()).right() for b in bars.values())
    assert question.mapRectToScene(question.rect()).right() == right
    project.close()


def test_bars_in_one_lane_row_never_overlap(qtbot: QtBot, runs: Runs) -> None:
    detail = _detail(qtbot, runs.index)
    assert detail.show_run(runs.blog)
    rows: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for bar in detail.timeline_bars():
        rect = bar.mapRectToScene(bar.rect())
        rows.setdefault((str(bar.data(1)), int(bar.data(2))), []).append(
            (rect.left(), rect.right())
        )
    assert {lane for lane, _ in rows} == {"text", "image"}
    for spans in rows.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start


def test_pack_rows_is_greedy_and_disjoint() -> None:
    spans = [(0.0, 10.0), (5.0, 8.0), (9.0, 20.0), (11.0, 12.0), (0.0, 1.0)]
    rows = pack_rows(spans, gap=0.5)
    assert rows == [1, 0, 0, 1, 0]
    for row in set(rows):
        mine = sorted(s for s, r in zip(spans, rows, strict=True) if r == row)
        assert all(a[1] + 0.5 <= b[0] for a, b in itertools.pairwise(mine))


def test_nodes_table_counts_instances(qtbot: QtBot, runs: Runs) -> None:
    detail = _detail(qtbot, runs.index)
    assert detail.show_run(runs.blog)
    table = detail.nodes
    counts = {
        table.item(row, 0).text(): int(table.item(row, 1).text()) for row in range(table.rowCount())
    }
    assert counts == {"site": 1, "topics": 1, "article": 3, "hero": 3}
    assert table.isSortingEnabled()
    table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    assert int(table.item(0, 1).text()) == 3


def test_output_tree_and_missing_output(qtbot: QtBot, runs: Runs) -> None:
    detail = _detail(qtbot, runs.index)
    assert detail.show_run(runs.blog)
    assert detail.output_stack.currentWidget() is detail.output_tree
    assert {"site", "topics"} <= set(detail.output_top_keys())
    run = runs.index.run(runs.blog)
    assert run is not None
    (Path(run["run_dir"]) / "output.json").unlink()
    assert detail.show_run(runs.blog)
    assert detail.output_stack.currentWidget() is detail.output_message
    assert "no output.json" in detail.output_message.text()


def test_output_tree_caps_children(qtbot: QtBot, runs: Runs) -> None:
    detail = _detail(qtbot, runs.index)
    run = runs.index.run(runs.blog)
    assert run is not None
    big = {"items": list(range(MAX_CHILDREN + 20))}
    (Path(run["run_dir"]) / "output.json").write_text(json.dumps(big), encoding="utf-8")
    assert detail.show_run(runs.blog)
    items = detail.output_tree.topLevelItem(0)
    assert items.childCount() == MAX_CHILDREN + 1
    assert "20 more" in items.child(MAX_CHILDREN).text(0)


def test_errors_tab(qtbot: QtBot, runs: Runs) -> None:
    detail = _detail(qtbot, runs.index)
    assert detail.show_run(runs.blog)
    assert detail.failures() == []
    assert detail.errors.item(0).text() == "No failures"
    assert detail.show_run(runs.broken)
    failures = detail.failures()
    assert [key for key, _ in failures] == ["broken"]
    assert "JSON" in failures[0][1]
    assert "broken" in detail.errors.item(0).text()
    assert detail.tabs.tabText(3) == "Errors (1)"
    assert len(detail.timeline_bars()) == 1


def test_unknown_run_and_clear(qtbot: QtBot, runs: Runs) -> None:
    detail = _detail(qtbot, runs.index)
    assert detail.show_run(runs.blog)
    assert not detail.show_run("nope")
    assert detail.run_id is None
    assert detail.timeline_bars() == []
    assert detail.nodes.rowCount() == 0
    assert detail.show_run(runs.blog)
    detail.clear()
    assert detail.timeline_bars() == []
    assert detail.failures() == []
    assert not _detail(qtbot, None).show_run(runs.blog)


def test_logs_tab_reads_logs_json_when_shown_and_filters(qtbot: QtBot, runs: Runs) -> None:
    detail = _detail(qtbot, runs.index)
    assert detail.show_run(runs.blog)
    logs = detail.logs
    assert logs.model.rowCount() == 0  # nothing read until the tab is shown
    detail.show_logs()
    assert logs.source == "logs.json"
    keys = logs.visible_keys()
    assert sorted(keys) == sorted(i["key"] for i in runs.index.instances(runs.blog))
    assert logs.count_label.text() == "8 of 8"

    logs.set_filter(node="hero")
    assert len(logs.visible_keys()) == 3
    assert all(k.endswith("hero") for k in logs.visible_keys())
    hero = logs.visible_keys()[0]
    assert logs.select_key(hero)
    text = logs.detail.toPlainText()
    assert hero in text
    assert "prompt" in text
    assert "Call 1" in text

    logs.set_filter(node="article")
    article = logs.visible_keys()[0]
    logs.select_key(article)
    assert "answer" in logs.detail.toPlainText()
    entry = next(e for e in logs.model.entries if e.record["key"] == article)
    word = max(entry.prompt.split(), key=len)
    logs.set_filter(text=word.upper())  # the search is case-insensitive
    assert article in logs.visible_keys()
    logs.set_filter(text="no such text anywhere")
    assert logs.visible_keys() == []


def test_logs_of_a_failed_run_and_from_the_journal(qtbot: QtBot, runs: Runs) -> None:
    detail = _detail(qtbot, runs.index)
    detail.tabs.setCurrentWidget(detail.logs)
    run = runs.index.run(runs.broken)
    assert run is not None
    (Path(run["run_dir"]) / "logs.json").unlink()  # a live or killed run has only its journal
    assert detail.show_run(runs.broken)
    assert detail.logs.source == "journal.jsonl"
    detail.logs.set_filter(state="failed")
    assert detail.logs.visible_keys() == ["broken"]
    detail.logs.select_key("broken")
    assert "Error" in detail.logs.detail.toPlainText()
    assert "JSON" in detail.logs.detail.toPlainText()
