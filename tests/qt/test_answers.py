"""The "Answers needed" panel: the live run's question answered in the editor, the waiting
badge on the node, images as thumbnails, refusals shown in the panel (no dialog)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtWidgets

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.engine import events as ev
from genarun_studio.human import RunInbox
from genarun_studio.qt.main_window import MainWindow
from genarun_studio.store import Project

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def until(loop: asyncio.AbstractEventLoop, predicate: Any, what: str) -> None:
    async def wait() -> None:
        deadline = loop.time() + 30
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.01)

    loop.run_until_complete(wait())


def test_the_live_run_waits_and_is_answered_in_the_panel(
    window: MainWindow, loop: asyncio.AbstractEventLoop
) -> None:
    window.open_path(EXAMPLES / "story-choice.genarun.json")
    window.mock_box.setChecked(True)
    window._start(window._options(), inputs={})
    run = window.runner.run
    assert run is not None
    until(loop, lambda: run.status == "waiting", "the run to wait")
    until(loop, lambda: window.answers.pending(), "the panel to list the question")
    view = window.canvas.item("choice")  # type: ignore[union-attr]
    # the canvas repaints states 10 times a second: wait for it, not for a fixed time
    until(loop, lambda: view.status_state == "waiting", "the waiting badge on the node")
    assert (view.status_state, view.status_text) == ("waiting", "waiting")
    assert window.answers_dock.windowTitle() == "Answers needed (1)"
    assert not window.act_run.isEnabled()  # the run still goes: it waits for a person
    assert window.act_stop.isEnabled()
    [pending] = window.answers.pending()
    assert pending.live
    assert "What does a leopard gecko named Pip do next?" in window.answers.question.text()
    choices = window.answers._editor
    assert isinstance(choices, QtWidgets.QListWidget)
    assert choices.count() == 3
    choices.setCurrentRow(2)
    chosen = choices.item(2).text()
    window.answers.submit_button.click()

    summary = loop.run_until_complete(asyncio.wait_for(window.runner.wait(), 30))
    assert summary is not None
    assert summary.status == "finished"
    assert run.instances["opening/paths/choice"].output == chosen
    answer = RunInbox(run.folder.path).answer("opening/paths/choice")
    assert answer is not None
    assert answer.channel == "editor"
    assert window.answers.pending() == []
    assert window.answers_dock.windowTitle() == "Answers needed"


def suspended(project: Path, tree: Any, **options: Any) -> str:
    async def go() -> str:
        waiting = asyncio.Event()
        run = Engine(project=Project(project)).prepare(tree, options=RunOptions(**options))
        run.subscribe(lambda event: waiting.set() if isinstance(event, ev.RunWaiting) else None)
        run.start()
        await asyncio.wait_for(waiting.wait(), 30)
        run.human.suspend()
        return (await run.wait()).run_id

    return asyncio.run(go())


def test_images_show_as_thumbnails_and_a_pick_is_recorded(qtbot: Any, tmp_path: Path) -> None:
    project = tmp_path / "project"
    tree = load_tree(EXAMPLES / "best-of-four.genarun.json")
    run_id = suspended(project, tree, mock=True)
    window = MainWindow(
        project,
        settings=QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat),
    )
    qtbot.addWidget(window)
    panel = window.answers
    [pending] = panel.pending()
    assert (pending.run_id, pending.live) == (run_id, False)
    images = panel._editor
    assert isinstance(images, QtWidgets.QListWidget)
    assert images.count() == 4
    for n in range(4):
        assert not images.item(n).icon().isNull()
    images.setCurrentRow(3)
    assert panel.submit()
    answer = RunInbox(pending.run_dir).answer("candidates/best")
    assert answer is not None
    assert answer.value == pending.request.options[3]
    assert panel.pending() == []


def test_a_run_that_ended_waiting_is_answered_and_resumed_in_the_editor(
    window: MainWindow, loop: asyncio.AbstractEventLoop
) -> None:
    """The whole editor channel without a terminal: a run of an earlier session that ended
    waiting is answered in the panel, and Resume run finishes it in its own folder."""
    tree = load_tree(EXAMPLES / "story-choice.genarun.json")
    run_id = suspended(window.runner.project.root, tree, mock=True)
    asyncio.set_event_loop(loop)  # asyncio.run (the earlier session) unset the editor's loop
    panel = window.answers
    panel.refresh()
    [pending] = panel.pending()
    assert (pending.run_id, pending.live) == (run_id, False)
    assert not panel.resume_button.isHidden()
    choices = panel._editor
    assert isinstance(choices, QtWidgets.QListWidget)
    choices.setCurrentRow(1)
    chosen = choices.item(1).text()
    assert panel.submit()
    assert panel.pending() == []
    assert f"Resume run goes on with {run_id}" in panel.note.text()
    panel.resume_button.click()
    run = window.runner.run
    assert run is not None
    assert run.id == run_id  # the same run, in its own folder, not a new one
    summary = loop.run_until_complete(asyncio.wait_for(window.runner.wait(), 30))
    assert summary is not None
    assert summary.status == "finished"
    assert run.instances["opening/paths/choice"].output == chosen
    assert "opening/paths/choice/chapter" in run.instances
    # an unknown run is refused with a message, nothing starts
    assert window.continue_history("story-choice/1999-01-01_00-00-00") is False
    assert "Cannot resume" in window.last_warning


def test_refusals_show_in_the_panel(qtbot: Any, tmp_path: Path) -> None:
    from tests.engine.conftest import make_tree

    project = tmp_path / "project"
    tree = make_tree(
        {
            "id": "draft",
            "type": "template",
            "config": {"template": "the draft"},
            "children": [
                {
                    "id": "ok",
                    "type": "human",
                    "config": {"kind": "approve", "question": "Publish?", "text": "${draft}"},
                },
                {
                    "id": "note",
                    "type": "human",
                    "config": {"kind": "freeText", "question": "A note?", "max_length": 5},
                },
            ],
        }
    )
    suspended(project, tree)
    window = MainWindow(
        project,
        settings=QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat),
    )
    qtbot.addWidget(window)
    panel = window.answers
    assert [p.request.key for p in panel.pending()] == ["draft/ok", "draft/note"]
    run_id = panel.pending()[0].run_id
    panel.select(run_id, "draft/note")
    assert panel.submit("far too long") is False
    assert "at most 5" in panel.error.text()
    panel.select(run_id, "draft/ok")
    assert not panel.reject_button.isHidden()
    panel.reject_button.click()
    assert [p.request.key for p in panel.pending()] == ["draft/note"]
    answer = RunInbox(panel.pending()[0].run_dir).answer("draft/ok")
    assert answer is not None
    assert answer.value == {"decision": "reject", "text": "the draft"}


def test_the_panel_starts_and_stops_the_hook_server(qtbot: Any, tmp_path: Path) -> None:
    window = MainWindow(
        tmp_path / "project",
        settings=QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat),
    )
    qtbot.addWidget(window)
    panel = window.answers
    panel.hooks_button.setChecked(True)
    url = panel.hooks_url
    assert url is not None
    assert url.startswith("http://127.0.0.1:")
    import httpx

    response = httpx.get(f"{url}/runs/t/1/n/hook", timeout=10)
    assert response.status_code == 401  # the server answers (no token: 401 before any 404)
    window.close()  # closing the window stops the server
    assert panel.hooks_url is None
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/runs/t/1/n/hook", timeout=10)


def test_the_human_node_form_is_generated_from_its_config(qtbot: Any) -> None:
    from genarun_studio.core.document import TreeDocument
    from genarun_studio.qt.forms import NodeForm

    doc = TreeDocument.open(EXAMPLES / "story-choice.genarun.json")
    form = NodeForm(doc, "choice", sorted(doc.tree.models))
    qtbot.addWidget(form)
    form.show()
    kind = form.field_widget("config.kind")
    assert isinstance(kind, QtWidgets.QComboBox)
    assert kind.currentText() == "multipleChoice"
    assert {kind.itemText(n) for n in range(kind.count())} >= {"pickImage", "approve", "rating"}
    options_from = form.field_widget("config.options_from")
    assert isinstance(options_from, QtWidgets.QLineEdit)
    assert options_from.text() == "paths"
    options_from.setText("opening_paths")
    form.flush()
    assert doc.node("choice").config["options_from"] == "opening_paths"


def test_questions_of_another_process_show_up_by_themselves(
    window: MainWindow, loop: asyncio.AbstractEventLoop
) -> None:
    """A terminal's run that exits waiting writes the index through its own connection: the
    panel (and its dock's count) picks the question up with no Refresh click."""
    assert window.answers._external_timer.isActive()
    assert window.answers.check_external() is False
    tree = load_tree(EXAMPLES / "story-choice.genarun.json")
    run_id = suspended(window.runner.project.root, tree, mock=True)  # its own Project
    asyncio.set_event_loop(loop)
    assert window.answers.pending() == []
    assert window.answers.check_external() is True
    assert [p.run_id for p in window.answers.pending()] == [run_id]
    assert window.answers_dock.windowTitle() == "Answers needed (1)"
    assert window.answers.check_external() is False


def test_the_panel_copies_a_webhook_call_that_answers(qtbot: Any, tmp_path: Path) -> None:
    """The editor's user hands a question on: the copied curl command carries the URL and
    the run's token (on the clipboard only, never in the panel's text), and it works."""
    import re

    import httpx

    project = tmp_path / "project"
    tree = load_tree(EXAMPLES / "story-choice.genarun.json")
    run_id = suspended(project, tree, mock=True)
    window = MainWindow(
        project,
        settings=QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat),
    )
    qtbot.addWidget(window)
    panel = window.answers
    assert not panel.copy_hook_button.isEnabled()  # no server yet
    assert panel.copy_hook_call() is None
    panel.hooks_button.setChecked(True)
    assert panel.copy_hook_button.isEnabled()
    command = panel.copy_hook_call()
    assert command is not None
    assert QtWidgets.QApplication.clipboard().text() == command
    [pending] = panel.pending()
    token = RunInbox(pending.run_dir).token()
    assert f"Bearer {token}" in command
    for label in (panel.hooks_label, panel.note, panel.where, panel.error, panel.question):
        assert token not in label.text()
    match = re.search(r"'(http://127\.0\.0\.1:\d+/runs/[^']+)'$", command)
    assert match is not None
    url = match.group(1)
    assert url.startswith(f"{panel.hooks_url}/runs/{run_id}/choice/hook?key=")
    headers = {"Authorization": f"Bearer {token}"}
    shown = httpx.get(url, headers=headers, timeout=10).json()
    answer = {"answer": shown["options"][2], "who": "friend"}
    assert httpx.post(url, json=answer, headers=headers, timeout=10).status_code == 200
    given = RunInbox(pending.run_dir).answer("opening/paths/choice")
    assert given is not None
    assert (given.value, given.who, given.channel) == (shown["options"][2], "friend", "webhook")
    window.close()
