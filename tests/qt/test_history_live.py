"""The history's running row follows a real run (mock provider with latency) as it goes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pytestqt.qtbot import QtBot

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.providers.mock import MockProvider
from genarun_studio.qt.panels.history import INSTANCES, STATUS, RunHistoryPanel
from genarun_studio.store import Project

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


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


def test_runs_of_another_process_show_up_by_themselves(qtbot: QtBot, tmp_path: Path) -> None:
    """A `genarun run` in a terminal writes the same index through its own connection: the
    shown panel notices (SQLite's data version) and refreshes, with no Refresh click."""
    import subprocess
    import sys

    from genarun_studio.qt.panels.history import EXTERNAL_POLL_MS

    project = Project(tmp_path / "project")
    panel = RunHistoryPanel(project.index)
    qtbot.addWidget(panel)
    panel.show()
    assert panel._external_timer.isActive()
    assert panel._external_timer.interval() == EXTERNAL_POLL_MS
    assert panel.check_external() is False  # nothing changed since the panel read it
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "genarun_studio",
            "run",
            str(EXAMPLES / "lizard-blog.genarun.json"),
            "--mock",
            "--project",
            str(project.root),
            "--json",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert panel.model.runs == []
    assert panel.check_external() is True
    assert [r["status"] for r in panel.model.runs] == ["finished"]
    assert panel.check_external() is False
    panel.hide()  # a hidden panel costs nothing: it looks again when shown
    subprocess.run(
        [
            sys.executable,
            "-m",
            "genarun_studio",
            "run",
            str(EXAMPLES / "lizard-blog.genarun.json"),
            "--mock",
            "--project",
            str(project.root),
            "-q",
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert panel.check_external() is False
    panel.show()
    assert panel.check_external() is True
    assert len(panel.model.runs) == 2
    project.close()
