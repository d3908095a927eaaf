"""The "Answers needed" panel: every question a run asks a person, and the answer to it.

It lists the open requests of the editor's live run (from its events) and of the project's
other runs (from their run folders), shows the selected one — its question, its options,
images as thumbnails, the text to approve — and takes the answer. An answer to the live run
reaches it at once; an answer to another run is recorded in its folder, and that run goes
on when it is resumed (or by itself, if it is live in another process). Errors (an answer
that does not fit, a question answered meanwhile) show in the panel, never in a dialog.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from genarun_studio.engine import events as ev
from genarun_studio.errors import GenarunError
from genarun_studio.human import HumanError, HumanRequest, RunInbox, open_requests
from genarun_studio.qt.runner import RunController

__all__ = ["AnswersPanel", "PendingAnswer"]

THUMB = 128
EXTERNAL_POLL_MS = 2000
"""How often the panel checks whether another process wrote to the project's index."""


@dataclass(frozen=True)
class PendingAnswer:
    run_id: str
    run_dir: Path
    request: HumanRequest
    live: bool


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name on this system
        return "someone"


class AnswersPanel(QtWidgets.QWidget):
    countChanged = QtCore.Signal(int)
    """How many questions are open (the dock shows it in its title)."""
    attention = QtCore.Signal()
    """The live run waits for a person: show the panel."""
    resumeRequested = QtCore.Signal(str)
    """Resume this run (one that ended waiting): the main window runs it."""

    def __init__(self, runner: RunController, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._pending: list[PendingAnswer] = []
        self._current: PendingAnswer | None = None
        self._editor: QtWidgets.QWidget | None = None
        self._hooks: Any = None

        self.list = QtWidgets.QListWidget()
        self.list.currentRowChanged.connect(self._on_row)
        self.question = QtWidgets.QLabel()
        self.question.setWordWrap(True)
        self.question.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where = QtWidgets.QLabel()
        self.where.setStyleSheet("color: gray")
        self.where.setWordWrap(True)
        self.holder = QtWidgets.QVBoxLayout()
        self.error = QtWidgets.QLabel()
        self.error.setStyleSheet("color: #d9534f")
        self.error.setWordWrap(True)
        self.submit_button = QtWidgets.QPushButton("Answer")
        self.submit_button.clicked.connect(lambda: self.submit())
        self.accept_button = QtWidgets.QPushButton("Accept")
        self.accept_button.clicked.connect(lambda: self.submit({"decision": "accept"}))
        self.reject_button = QtWidgets.QPushButton("Reject")
        self.reject_button.clicked.connect(lambda: self.submit({"decision": "reject"}))
        self.note = QtWidgets.QLabel()
        self.note.setWordWrap(True)
        self.resume_button = QtWidgets.QPushButton("Resume run")
        self.resume_button.setToolTip(
            "Go on with this run (it ended waiting): what finished is kept, the answers given "
            "since are used, and questions still open are asked again"
        )
        self.resume_button.clicked.connect(self._resume)
        self.resume_button.hide()
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.accept_button, self.reject_button, self.submit_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.resume_button)

        detail = QtWidgets.QWidget()
        form = QtWidgets.QVBoxLayout(detail)
        form.addWidget(self.question)
        form.addWidget(self.where)
        form.addLayout(self.holder, 1)
        form.addWidget(self.error)
        form.addWidget(self.note)
        form.addLayout(buttons)

        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.hooks_button = QtWidgets.QPushButton("Serve webhooks")
        self.hooks_button.setCheckable(True)
        self.hooks_button.toggled.connect(self._toggle_hooks)
        self.hooks_label = QtWidgets.QLabel()
        self.hooks_label.setWordWrap(True)
        self.hooks_label.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.copy_hook_button = QtWidgets.QPushButton("Copy webhook call")
        self.copy_hook_button.setToolTip(
            "Copy a curl command that answers the selected question over HTTP, with its "
            "run's token: give it only to who may answer"
        )
        self.copy_hook_button.clicked.connect(lambda: self.copy_hook_call())
        self.copy_hook_button.setEnabled(False)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.refresh_button)
        top.addWidget(self.hooks_button)
        top.addWidget(self.copy_hook_button)
        top.addStretch(1)

        # a narrow dock: the list above the selected question, nothing forces a width
        self.list.setMinimumWidth(120)
        self.list.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self.list)
        split.addWidget(detail)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 4)
        split.setSizes([90, 450])  # the question and its answer get the room, not the list
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.hooks_label)
        layout.addWidget(split, 1)

        runner.engineEvent.connect(self._on_event)
        runner.runFinished.connect(lambda _summary: self.refresh())
        # questions of other processes (a terminal's run that exited 4, `genarun answer`)
        # show up by themselves: their runs write the index, whose data version moves
        self._seen_version: int | None = None
        self._external_timer = QtCore.QTimer(self)
        self._external_timer.setInterval(EXTERNAL_POLL_MS)
        self._external_timer.timeout.connect(self.check_external)
        self._external_timer.start()
        self.refresh()

    def check_external(self) -> bool:
        """Refresh when another process wrote to the project's index since the last look."""
        version = self._data_version()
        if version is None or version == self._seen_version:
            return False
        self.refresh()
        return True

    def _data_version(self) -> int | None:
        try:
            index = self.runner.project.index
            return index.data_version() if index is not None else None
        except (GenarunError, sqlite3.Error):
            return None

    # -- the list ---------------------------------------------------------------------------

    def pending(self) -> list[PendingAnswer]:
        return list(self._pending)

    def refresh(self) -> None:
        """Gather the open questions again, keeping the selection where it can."""
        keep = (self._current.run_id, self._current.request.key) if self._current else None
        self._seen_version = self._data_version()
        found: list[PendingAnswer] = []
        run = self.runner.run
        live_id = run.id if run is not None and self.runner.busy else None
        if run is not None and live_id is not None:
            found += [
                PendingAnswer(run.id, run.folder.path, r, True) for r in run.human.open_requests()
            ]
        seen = {(p.run_id, p.request.key) for p in found}
        for other in open_requests(self.runner.project.root):
            if (other.run_id, other.request.key) not in seen and other.run_id != live_id:
                found.append(PendingAnswer(other.run_id, other.run_dir, other.request, False))
        self._pending = found
        self.list.blockSignals(True)
        self.list.clear()
        row = 0
        for n, item in enumerate(found):
            first = item.request.question.strip().splitlines()[0] if item.request.question else ""
            entry = QtWidgets.QListWidgetItem(f"{item.request.key}: {first[:80]}")
            entry.setToolTip(f"{item.run_id}{' (running now)' if item.live else ''}")
            self.list.addItem(entry)
            if keep == (item.run_id, item.request.key):
                row = n
        self.list.blockSignals(False)
        if found:
            self.list.setCurrentRow(row)
            self._show(found[row])
        else:
            self._show(None)
        self.countChanged.emit(len(found))

    def select(self, run_id: str, key: str) -> None:
        for n, item in enumerate(self._pending):
            if (item.run_id, item.request.key) == (run_id, key):
                self.list.setCurrentRow(n)
                return
        raise KeyError(f"{run_id} {key}")

    def _on_row(self, row: int) -> None:
        self._show(self._pending[row] if 0 <= row < len(self._pending) else None)

    def _on_event(self, event: object) -> None:
        if isinstance(event, ev.HumanRequested | ev.HumanAnswered):
            self.refresh()
        elif isinstance(event, ev.RunWaiting):
            self.refresh()
            self.attention.emit()

    # -- one request ------------------------------------------------------------------------

    def _show(self, item: PendingAnswer | None) -> None:
        self._current = item
        self.copy_hook_button.setEnabled(self._hooks is not None and item is not None)
        self.error.clear()
        self.note.clear()
        if self._editor is not None:
            self.holder.removeWidget(self._editor)
            self._editor.deleteLater()
            self._editor = None
        approve = item is not None and item.request.kind == "approve"
        self.accept_button.setVisible(approve)
        self.reject_button.setVisible(approve)
        self.submit_button.setText("Submit edit" if approve else "Answer")
        self.submit_button.setEnabled(item is not None)
        self.resume_button.hide()
        if item is None:
            self.question.setText("No question waits for an answer.")
            self.where.clear()
            return
        request = item.request
        self.question.setText(request.question)
        self.resume_button.setVisible(not item.live)
        self.resume_button.setEnabled(not self.runner.busy)
        state = "running now" if item.live else "answer, then Resume run"
        self.where.setText(f"{item.run_id} · {request.key} · {state}")
        self._editor = self._make_editor(item)
        self.holder.addWidget(self._editor, 1)

    def _make_editor(self, item: PendingAnswer) -> QtWidgets.QWidget:
        request = item.request
        if request.kind == "multipleChoice":
            choices = QtWidgets.QListWidget()
            choices.addItems(request.options)
            choices.setCurrentRow(0)
            return choices
        if request.kind == "pickImage":
            images = QtWidgets.QListWidget()
            images.setViewMode(QtWidgets.QListView.ViewMode.IconMode)
            images.setIconSize(QtCore.QSize(THUMB, THUMB))
            images.setResizeMode(QtWidgets.QListView.ResizeMode.Adjust)
            for path in request.options:
                pixmap = QtGui.QPixmap(str(item.run_dir / path))
                icon = QtGui.QIcon(
                    pixmap.scaled(
                        THUMB,
                        THUMB,
                        QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                        QtCore.Qt.TransformationMode.SmoothTransformation,
                    )
                )
                entry = QtWidgets.QListWidgetItem(icon, Path(path).name)
                entry.setData(QtCore.Qt.ItemDataRole.UserRole, path)
                images.addItem(entry)
            images.setCurrentRow(0)
            return images
        if request.kind == "rating":
            spin = QtWidgets.QSpinBox()
            spin.setRange(request.min, request.max)
            spin.setValue((request.min + request.max) // 2)
            return spin
        edit = QtWidgets.QPlainTextEdit()
        if request.kind == "approve":
            edit.setPlainText(request.text or "")
        return edit

    def value(self) -> Any:
        """The answer as the editor widget holds it now."""
        editor, item = self._editor, self._current
        if editor is None or item is None:
            return None
        if isinstance(editor, QtWidgets.QListWidget):
            current = editor.currentItem()
            if current is None:
                return None
            data = current.data(QtCore.Qt.ItemDataRole.UserRole)
            return data if data is not None else current.text()
        if isinstance(editor, QtWidgets.QSpinBox):
            return editor.value()
        assert isinstance(editor, QtWidgets.QPlainTextEdit)
        if item.request.kind == "approve":
            return {"decision": "edit", "text": editor.toPlainText()}
        return editor.toPlainText()

    def submit(self, value: Any = None) -> bool:
        """Answer the selected question with ``value`` (default: what the editor holds)."""
        item = self._current
        if item is None:
            return False
        value = self.value() if value is None else value
        run = self.runner.run
        try:
            if item.live and run is not None and run.id == item.run_id:
                run.human.answer(item.request.key, value, who=_user(), channel="editor")
            else:
                RunInbox(item.run_dir).submit(
                    item.request.key, value, who=_user(), channel="editor"
                )
        except HumanError as exc:
            self.error.setText(str(exc))
            return False
        self._current = None
        self.refresh()
        if not item.live and not self.runner.busy:
            still = sum(p.run_id == item.run_id for p in self._pending)
            self._answered_run = item.run_id
            self.resume_button.setVisible(True)
            self.resume_button.setEnabled(True)
            self.note.setText(
                f"Answered. {item.run_id} still asks {still} more."
                if still
                else f"Answered. Resume run goes on with {item.run_id}."
            )
        return True

    _answered_run: str | None = None

    def _resume(self) -> None:
        """Resume the selected question's run (or the run just answered)."""
        run_id = self._current.run_id if self._current is not None else self._answered_run
        if run_id:
            self.resumeRequested.emit(run_id)

    # -- webhooks ---------------------------------------------------------------------------

    def copy_hook_call(self) -> str | None:
        """Put on the clipboard a curl command answering the selected question through the
        panel's hook server (with the run's token: the user hands it on deliberately)."""
        from urllib.parse import quote

        item = self._current
        if item is None or self._hooks is None:
            return None
        request = item.request
        url = (
            f"{self._hooks.url}/runs/{item.run_id}/{quote(request.node_id)}/hook"
            f"?key={quote(request.key, safe='')}"
        )
        token = RunInbox(item.run_dir).token()
        example: Any = request.options[0] if request.options else "…"
        if request.kind == "rating":
            example = request.min
        elif request.kind == "approve":
            example = {"decision": "accept"}
        body = json.dumps({"answer": example, "who": "…"}, ensure_ascii=False)
        command = (
            f"curl -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' "
            f"-d '{body}' '{url}'"
        )
        QtGui.QGuiApplication.clipboard().setText(command)
        self.note.setText(
            "Copied the webhook call with its run's token (GET the URL first to see the question)."
        )
        return command

    def _toggle_hooks(self, on: bool) -> None:
        from genarun_studio.errors import GenarunError

        if on and self._hooks is None:
            from genarun_studio.server.hooks import HookServer

            try:
                self._hooks = HookServer(self.runner.project.root).start()
            except GenarunError as exc:
                self.hooks_label.setText(str(exc))
                self.hooks_button.setChecked(False)
                return
            self.hooks_label.setText(
                f"{self._hooks.url}/runs/<run>/<node>/hook · token: genarun hooks token <run>"
            )
        elif not on and self._hooks is not None:
            self._hooks.stop()
            self._hooks = None
            self.hooks_label.clear()
        self.copy_hook_button.setEnabled(self._hooks is not None and self._current is not None)

    @property
    def hooks_url(self) -> str | None:
        return self._hooks.url if self._hooks is not None else None

    def stop_hooks(self) -> None:
        """Stop the hook server if the panel started one (the window is closing)."""
        if self._hooks is not None:
            self.hooks_button.setChecked(False)
