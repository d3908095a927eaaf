"""The editor as a user drives it: open, edit, enable/disable, run on the mock, pause,
stop, step, save, legacy files, screenshots. Offscreen, with a real engine on qasync."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from genarun_studio.core.formats import load_tree
from genarun_studio.qt.main_window import MainWindow

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"
LIZARD = EXAMPLES / "lizard-blog.genarun.json"


def run_until_finished(window: MainWindow, loop: asyncio.AbstractEventLoop) -> Any:
    async def wait() -> Any:
        return await window.runner.wait()

    return loop.run_until_complete(asyncio.wait_for(wait(), 60))


def test_open_an_example_shows_every_node_wired(window: MainWindow) -> None:
    assert window.open_path(LIZARD)
    canvas = window.canvas
    assert canvas is not None
    ids = ["site", "topics", "article", "hero"]
    for node_id in ids:
        assert canvas.item(node_id) is not None
    assert canvas.parent_of("article") == "topics"
    assert canvas.children_of("site") == ["topics"]
    assert canvas.item("article").wire_in is not None
    assert "Pet lizard care blog" in window.windowTitle()


def test_run_on_mock_reaches_done_and_shows_counts(
    window: MainWindow, loop: asyncio.AbstractEventLoop
) -> None:
    window.open_path(LIZARD)
    window.mock_box.setChecked(True)
    window.seed_edit.setText("3")
    window._start(window._options(), inputs={})
    summary = run_until_finished(window, loop)
    assert summary.status == "finished"
    run = window.runner.run
    assert run is not None
    assert {i.state for i in run.instances.values()} == {"done"}
    assert window.history.selected_run_id() is None
    assert [r["run_id"] for r in window.history.visible_runs()] == [run.id]
    assert window.run_detail.run_id == run.id
    assert len(window.run_detail.timeline_bars()) == len(run.instances)
    QtWidgets.QApplication.processEvents()
    window._on_nodes_changed({"site", "topics", "article", "hero"})
    view = window.canvas.item("hero")  # type: ignore[union-attr]
    n = sum(1 for i in run.instances.values() if i.node_id == "hero")
    assert (view.status_state, view.status_text) == ("done", f"done {n}/{n}")
    assert view.thumbnail is not None
    assert not view.thumbnail.isNull()


def click_enable_box(qtbot: Any, canvas: Any, node_id: str) -> None:
    """A real mouse click on the enable box painted on a node."""
    view = canvas.item(node_id)
    viewer = canvas.view
    viewer.centerOn(view)
    QtWidgets.QApplication.processEvents()
    scene_point = view.mapToScene(view.check_rect().center())
    qtbot.mouseClick(
        viewer.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=viewer.mapFromScene(scene_point)
    )


def test_unticking_enabled_on_the_canvas_skips_the_subtree(
    window: MainWindow, loop: asyncio.AbstractEventLoop, qtbot: Any
) -> None:
    window.open_path(LIZARD)
    canvas = window.canvas
    assert canvas is not None
    assert canvas.item("topics").checked is True
    click_enable_box(qtbot, canvas, "topics")
    assert canvas.item("topics").checked is False
    assert window.document.node("topics").enabled is False
    assert canvas.item("hero").dimmed
    assert not canvas.item("site").dimmed
    window._start(window._options(), inputs={})
    run_until_finished(window, loop)
    run = window.runner.run
    assert run is not None
    assert {k: i.state for k, i in run.instances.items()} == {
        "site": "done",
        "site/topics": "skipped",
        "site/topics/article": "skipped",
        "site/topics/hero": "skipped",
    }
    window.undo()
    assert window.document.node("topics").enabled is True
    assert canvas.item("topics").checked is True
    assert not canvas.item("hero").dimmed


def test_pause_and_stop_mid_run(window: MainWindow, loop: asyncio.AbstractEventLoop) -> None:
    from genarun_studio.providers.mock import MockProvider

    window.open_path(LIZARD)
    window.runner.engine.mock_provider = MockProvider(latency_s=0.2)
    window._start(window._options(), inputs={})
    run = window.runner.run
    assert run is not None

    async def pause_then_stop() -> str:
        await _until(lambda: any(i.state == "running" for i in run.instances.values()))
        window.toggle_pause()
        assert window.act_pause.text() == "Resume"
        await _until(lambda: not any(i.state == "running" for i in run.instances.values()))
        started = sum(1 for i in run.instances.values() if i.started_at)
        await asyncio.sleep(0.3)
        assert sum(1 for i in run.instances.values() if i.started_at) == started
        window.stop()
        return (await window.runner.wait()).status  # type: ignore[union-attr]

    assert loop.run_until_complete(asyncio.wait_for(pause_then_stop(), 60)) == "stopped"
    assert not window.act_stop.isEnabled()


def test_step_runs_one_node_then_pauses(
    window: MainWindow, loop: asyncio.AbstractEventLoop
) -> None:
    window.open_path(LIZARD)
    window.step()
    run = window.runner.run
    assert run is not None

    async def first_step() -> None:
        await _until(lambda: "site" in run.instances and run.instances["site"].state == "done")
        await asyncio.sleep(0.1)

    loop.run_until_complete(asyncio.wait_for(first_step(), 30))
    assert run.status == "paused"
    assert run.instances["site/topics"].state == "queued"
    window.step()
    loop.run_until_complete(
        asyncio.wait_for(
            _until(
                lambda: (
                    run.instances.get("site/topics") is not None
                    and run.instances["site/topics"].state == "done"
                )
            ),
            30,
        )
    )
    assert run.status == "paused"
    window.stop()
    run_until_finished(window, loop)


async def _until(predicate: Any) -> None:
    while not predicate():  # noqa: ASYNC110 - engine state, polled for a test
        await asyncio.sleep(0.01)


def test_editing_adding_and_connecting_through_the_document(window: MainWindow) -> None:
    window.open_path(LIZARD)
    canvas = window.canvas
    assert canvas is not None
    canvas.select(["article"])
    new_id = canvas.add_node("image")
    assert new_id is not None
    assert window.document.parent_id(new_id) == "article"
    assert canvas.parent_of(new_id) == "article"
    window.undo()
    assert new_id not in {n.id for n in window.document.tree.walk()}
    # a second parent is refused with a clear message
    canvas.connect_nodes("site", "article")
    assert window.document.parent_id("article") == "topics"
    assert canvas.parent_of("article") == "topics"
    assert "one parent" in window.last_warning
    # so is a cycle
    canvas.reparent("site", "hero")
    assert window.document.parent_id("site") is None
    assert canvas.parent_of("site") is None


def test_delete_keeps_children_and_copy_paste(window: MainWindow) -> None:
    window.open_path(LIZARD)
    canvas = window.canvas
    assert canvas is not None
    canvas.select(["topics"])
    window.delete()
    assert [n.id for n in window.document.tree.nodes] == ["site", "article", "hero"]
    window.undo()
    canvas.select(["topics"])
    window.copy()
    canvas.select(["site"])
    window.paste()
    ids = [n.id for n in window.document.tree.walk()]
    assert len(ids) == 7
    assert window.document.parent_id("topics_2") == "site"


def test_save_round_trips_and_marks_dirty(window: MainWindow, tmp_path: Path) -> None:
    window.open_path(LIZARD)
    assert not window.document.dirty
    target = tmp_path / "saved.genarun.json"
    window._save_to(target)
    assert load_tree(target) == load_tree(LIZARD)
    window.document.set_fields("article", title="Body")
    assert window.document.dirty
    assert window.windowTitle().startswith("Pet lizard care blog *")
    window.save()
    assert not window.document.dirty
    assert json.loads(target.read_text())["nodes"][0]["children"][0]["children"][0]["title"] == (
        "Body"
    )


def test_a_legacy_file_opens_and_saves_native(window: MainWindow, tmp_path: Path) -> None:
    assert window.open_path(EXAMPLES / "photo-exhibition.legacy.json")
    assert window.canvas is not None
    assert window.canvas.item("image") is not None
    assert window.document.path is None
    window._save_to(tmp_path / "photo.genarun.json")
    assert json.loads((tmp_path / "photo.genarun.json").read_text())["format"] == "genarun/1"


def test_a_bad_file_is_reported_and_the_open_tree_stays(window: MainWindow, tmp_path: Path) -> None:
    window.open_path(LIZARD)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert not window.open_path(bad)
    assert "not valid JSON" in window.last_warning
    assert window.document.tree.id == "lizard-blog"


def test_running_a_tree_with_errors_is_refused(window: MainWindow) -> None:
    window.open_path(LIZARD)
    window.document.set_config("hero", {"prompt": "a ${nowhere} picture"})
    assert (
        "unknown variable 'nowhere'" in window.canvas.item("hero").status_text  # type: ignore[union-attr]
    )
    window.document.set_config("article", {"prompt": "broken ${"})
    assert window.canvas.item("article").status_text.startswith("⚠")  # type: ignore[union-attr]
    window._start(window._options(), inputs={})
    assert window.runner.run is None
    assert "errors" in window.last_warning


def test_screenshot_of_the_window_is_not_empty(window: MainWindow, tmp_path: Path) -> None:
    from genarun_studio.qt.app import screenshot

    window.open_path(LIZARD)
    window.fit()
    out = tmp_path / "shot.png"
    assert screenshot(window, out)
    image = QtWidgets.QApplication.instance() and __import__("PySide6.QtGui").QtGui.QImage(str(out))
    assert image.width() >= 1000


def test_closing_with_unsaved_changes_asks_first(window: MainWindow, tmp_path: Path) -> None:
    buttons = QtWidgets.QMessageBox.StandardButton
    window.open_path(LIZARD)
    window._save_to(tmp_path / "t.genarun.json")
    window.document.set_fields("site", title="Changed")
    asked: list[str] = []
    window.ask_save = lambda name: asked.append(name) or buttons.Cancel  # type: ignore[method-assign]
    assert not window.close()
    assert asked == ["Pet lizard care blog"]
    assert window.isVisible()
    window.ask_save = lambda name: buttons.Save  # type: ignore[method-assign]
    assert window.close()
    assert load_tree(tmp_path / "t.genarun.json").node("site").title == "Changed"


def test_a_run_that_ends_with_an_error_gives_the_controls_back(
    window: MainWindow, loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genarun_studio.engine.run import Run

    async def broken_finish(self: Run) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Run, "_finish", broken_finish)
    window.open_path(LIZARD)
    window._start(window._options(), inputs={})
    task = window.runner._task
    assert task is not None
    loop.run_until_complete(asyncio.wait([task], timeout=30))
    QtWidgets.QApplication.processEvents()
    assert window.act_run.isEnabled()
    assert not window.act_stop.isEnabled()
    assert "No space left on device" in window.last_warning


def test_renaming_a_node_keeps_its_canvas_item_and_selection(window: MainWindow) -> None:
    window.open_path(LIZARD)
    canvas = window.canvas
    assert canvas is not None
    item = canvas.item("article")
    canvas.select(["article"])
    window.document.set_fields("article", id="post")
    assert canvas.item("post") is item
    assert canvas.selected_ids() == ["post"]
    window.undo()
    assert canvas.item("article") is item


def test_dropping_a_tree_file_on_the_canvas_opens_it(window: MainWindow) -> None:
    window.open_path(LIZARD)
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(EXAMPLES / "city-guide.genarun.json"))])
    window.canvas.drop(mime, QtCore.QPointF(10, 10))  # type: ignore[union-attr]
    assert window.document.tree.id == "city-guide"


def test_rerun_failed_nodes_from_history_runs_only_those(
    window: MainWindow, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    tree = tmp_path / "t.genarun.json"
    tree.write_text(
        json.dumps(
            {
                "id": "partly",
                "nodes": [
                    {"id": "fine", "type": "template", "config": {"template": "ok"}},
                    {
                        "id": "broken",
                        "type": "template",
                        "config": {"template": "{bad", "parse_json": True},
                    },
                ],
            }
        )
    )
    window.open_path(tree)
    window._start(window._options(), inputs={})
    first = run_until_finished(window, loop)
    assert first.status == "failed"
    window.history.refresh()
    assert window.history.select_run(first.run_id)
    window.rerun_history(failed_only=True)
    second = run_until_finished(window, loop)
    assert second.run_id != first.run_id
    run = window.runner.run
    assert run is not None
    assert {k: i.state for k, i in run.instances.items()} == {"fine": "skipped", "broken": "failed"}
    window.rerun_history(first.run_id)
    third = run_until_finished(window, loop)
    assert third.seed == first.seed


def test_open_a_past_runs_tree_snapshot(
    window: MainWindow,
    loop: asyncio.AbstractEventLoop,
) -> None:
    window.open_path(LIZARD)
    window._start(window._options(), inputs={})
    summary = run_until_finished(window, loop)
    window.document.set_fields("site", title="Changed since")
    window.document.save(Path(summary.run_dir).parent / "edited.genarun.json")
    assert window.open_snapshot(summary.run_id)
    assert window.document.node("site").title == "Site plan"
    assert window.document.path is None


def test_editing_a_title_on_the_canvas_renames_the_node_in_the_document(
    window: MainWindow,
) -> None:
    window.open_path(LIZARD)
    canvas = window.canvas
    assert canvas is not None
    editor = canvas.edit_title("article")
    assert editor.toPlainText() == "Article"
    editor.setPlainText("Long read")
    editor.keyPressEvent(
        QtGui.QKeyEvent(
            QtCore.QEvent.Type.KeyPress, QtCore.Qt.Key.Key_Return, QtCore.Qt.KeyboardModifier(0)
        )
    )
    assert window.document.node("article").title == "Long read"
    assert canvas.item("article").title == "Long read"
    assert editor.scene() is None  # the editor is gone
    window.undo()
    assert window.document.node("article").title == "Article"
    assert canvas.item("article").title == "Article"
    # Escape keeps the title as it was
    editor = canvas.edit_title("article")
    editor.setPlainText("Never mind")
    editor.keyPressEvent(
        QtGui.QKeyEvent(
            QtCore.QEvent.Type.KeyPress, QtCore.Qt.Key.Key_Escape, QtCore.Qt.KeyboardModifier(0)
        )
    )
    assert window.document.node("article").title == "Article"


def test_a_wide_tree_opens_with_every_node_and_wire(window: MainWindow, tmp_path: Path) -> None:
    from genarun_studio.core.formats import save_tree
    from genarun_studio.core.tree import Node, Tree

    root = Node(id="root", type="text", config={"prompt": "x"})
    root.children = [
        Node(id=f"c{i}", type="text", config={"prompt": "${root}"}) for i in range(300)
    ]
    path = tmp_path / "wide.genarun.json"
    save_tree(Tree(id="wide", nodes=[root]), path)
    assert window.open_path(path)
    canvas = window.canvas
    assert canvas is not None
    assert len(canvas.children_of("root")) == 300
    assert canvas.parent_of("c299") == "root"
    canvas.fit()
    viewer = canvas.view
    shown = viewer.mapToScene(viewer.viewport().rect()).boundingRect()
    assert shown.contains(canvas.item("c0").sceneBoundingRect().center())
    assert shown.contains(canvas.item("c299").sceneBoundingRect().center())


def test_a_failed_or_waiting_node_is_outlined_in_its_state_colour(window: MainWindow) -> None:

    from genarun_studio.qt.canvas import STATE_COLORS

    window.open_path(LIZARD)
    canvas = window.canvas
    assert canvas is not None

    def top_edge(node_id: str) -> QtGui.QColor:
        view = canvas.item(node_id)
        rect = view.mapRectToScene(view.body_rect())
        image = QtGui.QImage(
            int(rect.width()), int(rect.height()), QtGui.QImage.Format.Format_ARGB32
        )
        image.fill(0)
        painter = QtGui.QPainter(image)
        view.scene().render(painter, QtCore.QRectF(image.rect()), rect)
        painter.end()
        return image.pixelColor(image.width() // 3, 0)

    plain = top_edge("topics")
    canvas.show_status("topics", "failed", "failed", None)
    canvas.show_status("hero", "waiting", "waiting 1/3", None)
    assert top_edge("topics") == QtGui.QColor(STATE_COLORS["failed"])
    assert top_edge("hero") == QtGui.QColor(STATE_COLORS["waiting"])
    canvas.show_status("topics", "done", "done", None)
    assert top_edge("topics") == plain


def test_select_all_and_disable_the_selection_in_one_step(window: MainWindow) -> None:
    window.open_path(LIZARD)
    canvas = window.canvas
    assert canvas is not None
    window.act_select_all.trigger()
    assert sorted(canvas.selected_ids()) == ["article", "hero", "site", "topics"]
    canvas.select(["article", "hero"])
    window.act_toggle.trigger()
    assert [window.document.node(n).enabled for n in ("article", "hero")] == [False, False]
    assert canvas.item("article").dimmed
    assert canvas.item("hero").checked is False
    window.act_toggle.trigger()  # all disabled: enable them again
    assert window.document.node("hero").enabled
    window.undo()
    window.undo()
    assert window.document.node("article").enabled
    assert not window.document.can_undo


def test_the_right_click_menus_and_duplicate(window: MainWindow, qtbot: Any) -> None:
    window.open_path(LIZARD)
    canvas = window.canvas
    assert canvas is not None
    canvas.select(["site"])
    item = canvas.item("topics")
    canvas.view.centerOn(item)
    QtWidgets.QApplication.processEvents()
    at = canvas.view.mapFromScene(item.mapToScene(item.body_rect().center()))
    event = QtGui.QContextMenuEvent(
        QtGui.QContextMenuEvent.Reason.Mouse, at, canvas.view.viewport().mapToGlobal(at)
    )
    QtWidgets.QApplication.sendEvent(canvas.view.viewport(), event)
    menus = [m for m in canvas.view.findChildren(QtWidgets.QMenu) if m.isVisible()]
    assert len(menus) == 1
    texts = [a.text() for a in menus[0].actions() if not a.isSeparator()]
    assert "D&uplicate" in texts
    assert "Run selected" in texts
    assert canvas.selected_ids() == ["topics"]  # the clicked node, selected first
    menus[0].close()
    before = canvas.item("topics").pos()
    window.act_duplicate.trigger()
    [copy] = canvas.selected_ids()
    assert copy.startswith("topics")
    assert copy != "topics"
    assert window.document.parent_id(copy) == "site"
    assert [n.id for n in window.document.node("site").children] == ["topics", copy]
    assert len(window.document.node(copy).children) == 2  # with its subtree
    assert canvas.item(copy).pos() == before + QtCore.QPointF(40, 40)
    window.undo()
    assert [n.id for n in window.document.node("site").children] == ["topics"]
    canvas.select(["hero"])
    window.act_rename.trigger()
    editor = canvas._title_editor
    assert editor is not None
    assert editor.toPlainText() == "Hero image"


def test_a_big_tree_is_checked_once_edits_pause(
    window: MainWindow, qtbot: Any, tmp_path: Path
) -> None:
    from genarun_studio.core.formats import save_tree
    from genarun_studio.core.tree import Node, Tree
    from genarun_studio.qt.main_window import CHECK_LATER_FROM

    root = Node(id="root", type="template", config={"template": "x"})
    root.children = [
        Node(id=f"c{i}", type="template", config={"template": "${root}"})
        for i in range(CHECK_LATER_FROM + 10)
    ]
    path = tmp_path / "big.genarun.json"
    save_tree(Tree(id="big", nodes=[root]), path)
    assert window.open_path(path)
    assert window.canvas is not None
    assert window.problems.problems() == []  # checked at once on open
    window.document.set_config("c3", {"template": "${nowhere}"})
    window.document.set_config("c4", {"template": "${nowhere}"})
    assert window._check_timer.isActive()  # not after each edit...
    qtbot.waitUntil(lambda: len(window.problems.problems()) == 2, timeout=5000)  # ...once
    assert "nowhere" in window.canvas.item("c3").status_text


def test_node_keys_act_on_the_canvas_not_in_a_text_field(window: MainWindow, qtbot: Any) -> None:
    window.open_path(LIZARD)
    canvas = window.canvas
    assert canvas is not None
    window.activateWindow()
    canvas.select(["hero"])
    field = QtWidgets.QLineEdit(window.statusBar())  # stands for a property's text field
    field.show()
    field.setFocus()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is field)
    qtbot.keyClick(field, QtCore.Qt.Key.Key_D, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert len(list(window.document.tree.walk())) == 4  # nothing duplicated
    canvas.view.setFocus()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is canvas.view)
    qtbot.keyClick(canvas.view, QtCore.Qt.Key.Key_D, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert len(list(window.document.tree.walk())) == 5
