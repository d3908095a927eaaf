"""History actions in the editor window: delete runs (asked first, live run refused), compare."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from genarun_studio.engine import RunOptions
from genarun_studio.providers.mock import MockProvider
from genarun_studio.qt.dialogs.compare import RunCompare
from genarun_studio.qt.main_window import MainWindow

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _run(window: MainWindow, loop: asyncio.AbstractEventLoop, seed: int) -> Any:
    window.seed_edit.setText(str(seed))
    window._start(window._options(), inputs={})

    async def wait() -> Any:
        return await window.runner.wait()

    return loop.run_until_complete(asyncio.wait_for(wait(), 60))


def test_delete_asks_then_removes_folder_and_rows(
    window: MainWindow, loop: asyncio.AbstractEventLoop
) -> None:
    window.open_path(EXAMPLES / "lizard-blog.genarun.json")
    first, second = _run(window, loop, 1), _run(window, loop, 2)
    index = window.runner.project.index
    assert index is not None
    window.history.select_runs([first.run_id, second.run_id])
    assert window.history.selected_run_ids() == [second.run_id, first.run_id]
    asked: list[list[str]] = []

    def refuse(run_ids: list[str]) -> bool:
        asked.append(run_ids)
        return False

    window.ask_delete = refuse  # type: ignore[method-assign]
    assert window.delete_runs() == []
    assert asked == [[second.run_id, first.run_id]]
    assert Path(first.run_dir).is_dir()
    window._on_history_run(first.run_id)
    from genarun_studio.qt.panels.assets import make_thumbnail

    cache = index.path.parent / "thumbs"
    thumbs = {
        run.run_id: [
            make_thumbnail(p, cache) for p in sorted(Path(run.run_dir, "assets").iterdir())
        ]
        for run in (first, second)
    }
    assert thumbs[first.run_id]
    window.ask_delete = lambda run_ids: True  # type: ignore[method-assign]
    assert window.delete_runs([first.run_id]) == [first.run_id]
    assert not Path(first.run_dir).exists()
    # its thumbnails went with it; the other run's stay
    assert not any(t.exists() for t in thumbs[first.run_id])
    assert all(t.exists() for t in thumbs[second.run_id])
    assert index.run(first.run_id) is None
    assert index.instances(first.run_id) == []
    assert [r["run_id"] for r in window.history.model.runs] == [second.run_id]
    assert window.run_detail.run_id is None  # the detail of a deleted run is cleared


def test_a_live_run_cannot_be_deleted(window: MainWindow, loop: asyncio.AbstractEventLoop) -> None:
    window.open_path(EXAMPLES / "lizard-blog.genarun.json")
    window.runner.engine.mock_provider = MockProvider(latency_s=0.2)
    window.ask_delete = lambda run_ids: True  # type: ignore[method-assign]
    run = window.runner.start(window.document.tree, {}, RunOptions(mock=True, seed=1))
    assert window.delete_runs([run.id]) == []
    assert "still going" in window.last_warning

    async def wait() -> Any:
        return await window.runner.wait()

    summary = loop.run_until_complete(asyncio.wait_for(wait(), 60))
    assert Path(summary.run_dir).is_dir()
    assert window.delete_runs([run.id]) == [run.id]


def test_compare_opens_on_the_two_selected_runs(
    window: MainWindow, loop: asyncio.AbstractEventLoop
) -> None:
    window.open_path(EXAMPLES / "lizard-blog.genarun.json")
    first, second = _run(window, loop, 1), _run(window, loop, 2)
    window.history.select_runs([first.run_id, second.run_id])
    dialog = window.compare_runs()
    assert isinstance(dialog, RunCompare)
    assert dialog.run_a.currentData() == second.run_id
    assert dialog.run_b.currentData() == first.run_id
    dialog.set_node("site")
    assert dialog.comparisons[0].kind == "differ"
    dialog.close()


def test_rerun_failed_nodes_also_runs_what_their_failure_skipped(
    window: MainWindow, loop: asyncio.AbstractEventLoop, monkeypatch: Any
) -> None:
    """A node that failed skipped its subtree: rerunning the failed nodes runs that subtree
    too, and calls the model only for what did not finish (the rest comes from the cache)."""
    from genarun_studio.core.formats import loads_tree
    from tests.providers.openai_server import running_server

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    with running_server() as server:
        tree = loads_tree(
            json.dumps(
                {
                    "id": "flaky",
                    "models": {
                        "text": {
                            "provider": "openai",
                            "model": "gpt-4.1",
                            "base_url": server.base_url,
                        }
                    },
                    "limits": {"retries": 0},
                    "nodes": [
                        {"id": "fine", "type": "text", "config": {"prompt": "Say FINE"}},
                        {
                            "id": "poem",
                            "type": "text",
                            "config": {"prompt": "Write a POEM"},
                            "children": [
                                {
                                    "id": "title",
                                    "type": "text",
                                    "config": {"prompt": "TITLE: ${poem}"},
                                }
                            ],
                        },
                    ],
                }
            ).encode()
        )
        server.fail(500, when=lambda request: "POEM" in request.last_user(), times=1)
        window.runner.start(tree, {}, RunOptions(seed=5, concurrency={"text": 1}, budget_usd=3))
        first = loop.run_until_complete(asyncio.wait_for(window.runner.wait(), 60))
        assert first.status == "failed"
        assert {k: v for k, v in first.counts.items() if v} == {
            "done": 1,
            "failed": 1,
            "skipped": 1,
        }
        server.clear()
        window.history.refresh()
        window.rerun_history(first.run_id, failed_only=True)
        second = loop.run_until_complete(asyncio.wait_for(window.runner.wait(), 60))
        assert second.status == "finished"
        run = window.runner.run
        assert run is not None
        assert (run.seed, run.options.concurrency, run.options.budget_usd) == (5, {"text": 1}, 3)
        assert {k: i.state for k, i in run.instances.items()} == {
            "fine": "skipped",
            "poem": "done",
            "poem/title": "done",
        }
        prompts = [r.last_user() for r in server.requests]
        assert len(prompts) == 2  # no call for "fine": only the failed node and its child
        assert prompts[0] == "Write a POEM"
        assert prompts[1].startswith("TITLE: ")
