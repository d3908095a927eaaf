"""The compare dialog: one node's output of two real mock runs side by side (the
comparison itself is tested without Qt in tests/store/test_compare.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.qt.dialogs.compare import RunCompare
from genarun_studio.store import Project
from genarun_studio.store.compare import output_text
from genarun_studio.store.index import RunIndex

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


class Runs:
    def __init__(self, project: Project, ids: list[str]) -> None:
        self.project = project
        self.first, self.second, self.again = ids

    @property
    def index(self) -> RunIndex:
        assert self.project.index is not None
        return self.project.index


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Runs]:
    project = Project(tmp_path)
    tree = load_tree(EXAMPLES / "lizard-blog.genarun.json")

    async def go() -> list[str]:
        ids = []
        for seed in (1, 2, 1):
            engine = Engine(project=project)
            summary = await engine.run(tree, {}, RunOptions(mock=True, seed=seed))
            ids.append(summary.run_id)
        return ids

    yield Runs(project, asyncio.run(go()))
    project.close()


def test_the_dialog_shows_a_text_diff_and_images_side_by_side(qtbot: QtBot, runs: Runs) -> None:
    dialog = RunCompare(runs.index, runs.first, runs.second)
    qtbot.addWidget(dialog)
    dialog.set_node("site")
    assert "1 differ" in dialog.summary.text()
    page = dialog.html(runs.first, runs.second)
    assert "diff_" in page  # difflib's marked changes
    title = runs.index.run(runs.first)
    assert title is not None
    first_site = next(c for c in dialog.comparisons if c.key == "site")
    assert first_site.a is not None
    assert output_text(first_site.a["output"]).splitlines()[0] in dialog.view.toPlainText()

    dialog.set_node("hero")
    assert len(dialog.comparisons) == 3
    for item in dialog.comparisons:
        assert len(item.images_a) == len(item.images_b) == 1
        assert item.images_a[0] != item.images_b[0]
    page = dialog.html(runs.first, runs.second)
    assert page.count("<img ") == 6


def test_the_run_before_of_the_same_tree_is_the_default_other_run(qtbot: QtBot, runs: Runs) -> None:
    dialog = RunCompare(runs.index, runs.again)
    qtbot.addWidget(dialog)
    assert dialog.run_a.currentData() == runs.again
    assert dialog.run_b.currentData() == runs.second
    assert dialog.node_combo.count() == 4


def test_only_runs_of_the_compared_tree_are_offered(qtbot: QtBot, runs: Runs) -> None:
    runs.index.record_run(
        {"run_id": "other/2026-01-01_00-00-00", "tree_id": "other", "status": "finished"},
        "/nowhere",
    )
    dialog = RunCompare(runs.index, runs.first)
    qtbot.addWidget(dialog)
    offered = [dialog.run_a.itemData(i) for i in range(dialog.run_a.count())]
    assert sorted(offered) == sorted([runs.first, runs.second, runs.again])
    everything = RunCompare(runs.index)
    qtbot.addWidget(everything)
    assert everything.run_a.count() == 4
