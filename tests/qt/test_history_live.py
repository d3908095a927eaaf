"""The history's running row follows a real run (mock provider with latency) as it goes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from PySide6 import QtWidgets
from pytestqt.qtbot import QtBot

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.providers.mock import MockProvider
from genarun_studio.qt.history import INSTANCES, STATUS, RunHistoryPanel
from genarun_studio.store import Project

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def loop(qapp: QtWidgets.QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.close()
    asyncio.set_event_loop(None)


def test_the_running_row_changes_while_the_run_goes(
    qtbot: QtBot, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> None:
    project = Project(tmp_path / "project")
    panel = RunHistoryPanel(project.index)
    qtbot.addWidget(panel)
    engine = Engine(project=project, mock_provider=MockProvider(latency_s=0.15))
    run = engine.prepare(
        load_tree(EXAMPLES / "lizard-blog.genarun.json"), {}, RunOptions(mock=True, seed=3)
    )
    panel.follow_run(run)
    assert panel.live_run_id == run.id
    assert panel.model.row_of(run.id) == 0  # the row appears before anything ran
    seen: list[tuple[str, int, int]] = []

    async def watch() -> None:
        task = asyncio.ensure_future(run.wait())
        while not task.done():
            await asyncio.sleep(0.02)
            row = panel.model.run(panel.model.row_of(run.id))
            seen.append((row["effective_status"], int(row["done"]), int(row["total"])))
        await task

    loop.run_until_complete(asyncio.wait_for(watch(), 60))
    running = [s for s in seen if s[0] == "running"]
    assert running, "the row never showed the run as running"
    done_counts = [done for _, done, _ in running]
    assert max(done_counts) > min(done_counts)  # counts moved while it ran
    assert panel.live_run_id is None  # the end of the run ends following
    row = panel.model.run(panel.model.row_of(run.id))
    indexed = project.index.run(run.id) if project.index else None
    assert indexed is not None
    assert row["status"] == indexed["status"] == "finished"
    assert row["done"] == indexed["done"]
    source = panel.proxy.mapFromSource(panel.model.index(panel.model.row_of(run.id), STATUS))
    assert source.data() == "finished"
    assert str(panel.proxy.index(source.row(), INSTANCES).data()).startswith(str(indexed["total"]))
    project.close()
