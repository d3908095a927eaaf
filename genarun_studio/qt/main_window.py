"""The editor's main window: canvas in the middle, docks around it, run controls on top.

Everything it shows comes from a :class:`TreeDocument` (the tree being edited) and a
:class:`RunController` (the current run); it changes the tree only through the document and
runs only through the controller.
"""

from __future__ import annotations

import contextlib
import functools
import json
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from genarun_studio.core.document import EditError, TreeDocument
from genarun_studio.core.formats import is_js_file
from genarun_studio.core.registry import Registry, default_registry
from genarun_studio.core.tree import Node
from genarun_studio.engine import RunOptions
from genarun_studio.engine import events as ev
from genarun_studio.errors import GenarunError, TreeError
from genarun_studio.profiles import ProfilesError, load_profiles, profile_names
from genarun_studio.qt.canvas import TreeCanvas
from genarun_studio.qt.runner import RunController, node_summaries

__all__ = ["MainWindow"]

ORG, APP = "Genarun", "Genarun Studio"
MAX_RECENT = 10
CHECK_LATER_FROM = 500
"""From this many nodes, the tree is checked once edits pause (CHECK_DELAY_MS) rather than
after each one: checking 5,000 nodes takes ~0.35 s, too long for every keystroke."""
CHECK_DELAY_MS = 300


class InputsDialog(QtWidgets.QDialog):
    """Values for the tree's declared inputs, a seed, and the mock switch."""

    def __init__(
        self, document: TreeDocument, last: dict[str, Any], parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Run the tree")
        form = QtWidgets.QFormLayout(self)
        self.fields: dict[str, QtWidgets.QLineEdit] = {}
        for name, spec in document.tree.inputs.items():
            value = last.get(name, spec.default)
            text = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
            edit = QtWidgets.QLineEdit(text)
            edit.setToolTip(f"{spec.type}. {spec.description}".strip())
            form.addRow(f"{name} ({spec.type})", edit)
            self.fields[name] = edit
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, Any]:
        return {name: edit.text() for name, edit in self.fields.items() if edit.text() != ""}


class MainWindow(QtWidgets.QMainWindow):
    """One window, one tree."""

    def __init__(
        self,
        project: Path,
        registry: Registry | None = None,
        settings: QtCore.QSettings | None = None,
    ) -> None:
        super().__init__()
        self.registry = registry or default_registry()
        self.settings = settings or QtCore.QSettings(ORG, APP)
        self.runner = RunController(project, self)
        self.document = TreeDocument(registry=self.registry)
        self.canvas: TreeCanvas | None = None
        self._last_inputs: dict[str, Any] = {}
        self._unsubscribe: Any = None
        self._check_timer = QtCore.QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self._show_problems)
        self.setAcceptDrops(True)
        self.resize(1500, 900)
        self._build_docks()
        self._build_actions()
        self._build_toolbar()
        self._build_menus()
        self.statusBar().showMessage("Ready")
        self.runner.engineEvent.connect(self._on_run_event)
        self.runner.nodesChanged.connect(self._on_nodes_changed)
        self.runner.runFinished.connect(self._on_run_finished)
        self.runner.runStarted.connect(self.history.follow_run)
        self.runner.runFailed.connect(self._on_run_failed)
        self.set_document(self.document)
        state = self.settings.value("window/state")
        if isinstance(state, QtCore.QByteArray):
            self.restoreState(state)
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QtCore.QByteArray):
            self.restoreGeometry(geometry)

    # -- layout --------------------------------------------------------------------------

    def _dock(
        self, title: str, widget: QtWidgets.QWidget, area: QtCore.Qt.DockWidgetArea
    ) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower().replace(' ', '-')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        from genarun_studio.qt.panels.inspector import InstanceInspector
        from genarun_studio.qt.panels.logpane import LogPane
        from genarun_studio.qt.panels.palette import NodePalette
        from genarun_studio.qt.panels.problems import ProblemsList

        left = QtCore.Qt.DockWidgetArea.LeftDockWidgetArea
        right = QtCore.Qt.DockWidgetArea.RightDockWidgetArea
        bottom = QtCore.Qt.DockWidgetArea.BottomDockWidgetArea
        self.node_palette = NodePalette(self.registry)  # not "palette": QWidget.palette()
        self.node_palette.nodeRequested.connect(self._add_node)
        self.palette_dock = self._dock("Nodes", self.node_palette, left)
        self.properties = QtWidgets.QScrollArea()
        self.properties.setWidgetResizable(True)
        self.properties_dock = self._dock("Properties", self.properties, right)
        self.inspector = InstanceInspector()
        self.inspector_dock = self._dock("Output", self.inspector, right)
        self.tabifyDockWidget(self.properties_dock, self.inspector_dock)
        self.properties_dock.raise_()
        self.log = LogPane()
        self.log_dock = self._dock("Log", self.log, bottom)
        self.problems = ProblemsList()
        self.problems.nodeActivated.connect(self._select_node)
        self.problems_dock = self._dock("Problems", self.problems, bottom)
        self.tabifyDockWidget(self.log_dock, self.problems_dock)
        from genarun_studio.qt.panels.history import RunHistoryPanel

        self.history = RunHistoryPanel(self._project_index())
        self.history.runActivated.connect(self._on_history_run)
        self.history_dock = self._dock("History", self.history, bottom)
        self.tabifyDockWidget(self.problems_dock, self.history_dock)
        from genarun_studio.qt.panels.rundetail import RunDetail

        self.run_detail = RunDetail(self._project_index())
        self.run_detail_dock = self._dock("Run", self.run_detail, bottom)
        self.tabifyDockWidget(self.history_dock, self.run_detail_dock)
        from genarun_studio.qt.panels.assets import AssetGallery

        self.assets = AssetGallery(self._project_index())
        self.assets_dock = self._dock("Assets", self.assets, bottom)
        self.tabifyDockWidget(self.run_detail_dock, self.assets_dock)
        from genarun_studio.qt.panels.costs import CostView

        self.costs = CostView(self._project_index())
        self.costs_dock = self._dock("Costs", self.costs, bottom)
        self.tabifyDockWidget(self.assets_dock, self.costs_dock)
        from genarun_studio.qt.panels.answers import AnswersPanel

        self.answers = AnswersPanel(self.runner)
        self.answers_dock = self._dock("Answers needed", self.answers, right)
        self.tabifyDockWidget(self.inspector_dock, self.answers_dock)
        self.answers.attention.connect(self.answers_dock.raise_)
        self.answers.resumeRequested.connect(self.continue_history)
        self.answers.countChanged.connect(
            lambda n: self.answers_dock.setWindowTitle(
                f"Answers needed ({n})" if n else "Answers needed"
            )
        )
        self.properties_dock.raise_()
        from genarun_studio.qt.panels.indexes import IndexBrowser

        self.index_browser = IndexBrowser(self.runner.project.root)
        self.indexes_dock = self._dock("Indexes", self.index_browser, bottom)
        self.tabifyDockWidget(self.costs_dock, self.indexes_dock)
        self.runner.runFinished.connect(lambda _summary: self.index_browser.refresh())
        self.log_dock.raise_()
        self.resizeDocks([self.properties_dock], [430], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.palette_dock], [210], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.log_dock], [190], QtCore.Qt.Orientation.Vertical)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setFormat("%v / %m")
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)

    def _action(
        self,
        text: str,
        slot: Any,
        shortcut: str | QtGui.QKeySequence | None = None,
        tip: str = "",
        icon: QtWidgets.QStyle.StandardPixmap | None = None,
    ) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.setToolTip(
            f"{tip or text} ({action.shortcut().toString()})" if shortcut else tip or text
        )
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        sp = QtWidgets.QStyle.StandardPixmap
        key = QtGui.QKeySequence.StandardKey
        self.act_new = self._action("&New", self.new_tree, QtGui.QKeySequence(key.New))
        self.act_open = self._action(
            "&Open…", self.open_dialog, QtGui.QKeySequence(key.Open), icon=sp.SP_DialogOpenButton
        )
        self.act_save = self._action(
            "&Save", self.save, QtGui.QKeySequence(key.Save), icon=sp.SP_DialogSaveButton
        )
        self.act_save_as = self._action("Save &as…", self.save_as, QtGui.QKeySequence(key.SaveAs))
        self.act_export = self._action(
            "&Export JSON…", self.save_as, tip="Write the tree in the native format"
        )
        self.act_undo = self._action("&Undo", self.undo, "Ctrl+Z")
        self.act_redo = self._action("&Redo", self.redo, "Ctrl+Shift+Z")
        self.act_copy = self._action("&Copy", self.copy, "Ctrl+C")
        self.act_paste = self._action("&Paste", self.paste, "Ctrl+V")
        self.act_delete = self._action("&Delete", self.delete, "Del")
        self.act_select_all = self._action("Select &all", self.select_all, "Ctrl+A")
        self.act_duplicate = self._action(
            "D&uplicate",
            self.duplicate,
            "Ctrl+D",
            "Copy the selected nodes (with their "
            "subtrees) next to themselves, under the same parent",
        )
        self.act_rename = self._action("&Rename", self.rename, "F2")
        self.act_toggle = self._action(
            "&Enable / disable",
            self.toggle_enabled,
            "Ctrl+M",
            "Disable the selected nodes (their subtrees are skipped), or enable them again",
        )
        self.act_fit = self._action("&Fit to view", self.fit, "F")
        self.act_layout = self._action("Auto &layout", self.auto_layout, "Ctrl+L")
        self.act_run = self._action(
            "Run", self.run_tree, "Ctrl+Return", "Run the whole tree", sp.SP_MediaPlay
        )
        self.act_run_sel = self._action(
            "Run selected",
            self.run_selected,
            "Ctrl+Shift+Return",
            "Run the selected node(s), ancestors from the cache",
        )
        self.act_run_here = self._action(
            "Run from here", self.run_from_here, "", "Run the selected node and its subtree"
        )
        self.act_step = self._action(
            "Step",
            self.step,
            "F10",
            "Run the next node (all its ready instances), then pause",
            sp.SP_MediaSeekForward,
        )
        self.act_pause = self._action(
            "Pause", self.toggle_pause, "F8", "Pause / resume", sp.SP_MediaPause
        )
        self.act_stop = self._action("Stop", self.stop, "Shift+F5", "Stop the run", sp.SP_MediaStop)
        self.act_settings = self._action("Settings…", self.open_settings)
        self.act_open_snapshot = self._action(
            "Open the chosen run's tree",
            lambda: self.open_snapshot(),
            tip="Open the tree exactly as the History tab's selected run ran it",
        )
        self.act_rerun = self._action(
            "Rerun the chosen run",
            lambda: self.rerun_history(),
            tip="Run the History tab's selected run again: its tree "
            "as it was, same inputs and seed",
        )
        self.act_rerun_failed = self._action(
            "Rerun its failed nodes",
            lambda: self.rerun_history(failed_only=True),
            tip="Run only the failed nodes of the History tab's selected run (their "
            "ancestors come from the cache)",
        )
        self.act_continue = self._action(
            "Resume the chosen run",
            lambda: self.continue_history(),
            tip="Go on with the History tab's selected run in its own folder (one that "
            "stopped, failed, or waits for answers given since)",
        )
        self.act_compare = self._action(
            "Compare runs…",
            lambda: self.compare_runs(),
            tip="Compare one node's output between two runs (select two in the History tab)",
        )
        self.act_delete_runs = self._action(
            "Delete runs…",
            lambda: self.delete_runs(),
            tip="Delete the History tab's selected runs: their folders and index rows",
        )
        self.act_test_call = self._action(
            "Test call of the selected node…",
            self.test_call,
            tip="Run the selected API node once (ancestors from the cache) and show its "
            "request and response; with Mock on, nothing is sent",
        )
        self.run_actions = [
            self.act_run,
            self.act_run_sel,
            self.act_run_here,
            self.act_step,
            self.act_pause,
            self.act_stop,
        ]
        self._update_run_actions()

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Run")
        bar.setObjectName("toolbar-run")
        bar.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.act_open, self.act_save):
            bar.addAction(action)
        bar.addSeparator()
        bar.addActions(self.run_actions)
        bar.addSeparator()
        self.mock_box = QtWidgets.QCheckBox("Mock")
        self.mock_box.setToolTip("Answer every call offline with the mock provider (free)")
        self.mock_box.setChecked(bool(self.settings.value("run/mock", True, type=bool)))
        bar.addWidget(self.mock_box)
        bar.addWidget(QtWidgets.QLabel("  Seed "))
        self.seed_edit = QtWidgets.QLineEdit()
        self.seed_edit.setPlaceholderText("random")
        self.seed_edit.setValidator(QtGui.QIntValidator(0, 2**31 - 1, self))
        self.seed_edit.setMaximumWidth(90)
        self.seed_edit.setToolTip(
            "The seed of the next run: the tree's own seed, or another one typed here "
            "for this tree; empty with no tree seed: a random one (recorded with the run)"
        )
        self.seed_edit.textEdited.connect(self._on_seed_edited)
        self._seed_typed = False
        """Whether the Seed field holds what the user typed for this tree (kept until
        another tree is opened) rather than the tree's own seed (followed as it changes)."""
        bar.addWidget(self.seed_edit)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu("&File")
        for action in (self.act_new, self.act_open):
            file.addAction(action)
        self.recent_menu = file.addMenu("Open &recent")
        self._fill_recent()
        for action in (self.act_save, self.act_save_as, self.act_export):
            file.addAction(action)
        file.addSeparator()
        file.addAction(self.act_settings)
        quit_keys = QtGui.QKeySequence(QtGui.QKeySequence.StandardKey.Quit)
        file.addAction(self._action("&Quit", self.close, quit_keys))
        edit = menu.addMenu("&Edit")
        for action in (
            self.act_undo,
            self.act_redo,
            self.act_copy,
            self.act_paste,
            self.act_duplicate,
            self.act_delete,
            self.act_rename,
            self.act_select_all,
            self.act_toggle,
        ):
            edit.addAction(action)
        view = menu.addMenu("&View")
        view.addAction(self.act_fit)
        view.addAction(self.act_layout)
        view.addSeparator()
        for dock in (
            self.history_dock,
            self.run_detail_dock,
            self.assets_dock,
            self.costs_dock,
            self.indexes_dock,
            self.palette_dock,
            self.properties_dock,
            self.inspector_dock,
            self.log_dock,
            self.problems_dock,
            self.answers_dock,
        ):
            view.addAction(dock.toggleViewAction())
        run = menu.addMenu("&Run")
        run.addActions(self.run_actions)
        run.addSeparator()
        run.addActions([self.act_open_snapshot, self.act_rerun, self.act_rerun_failed])
        run.addActions([self.act_continue, self.act_compare, self.act_delete_runs])
        for action in (self.act_rerun, self.act_rerun_failed, self.act_continue, self.act_compare):
            self.history.view.addAction(action)
        self.history.view.addAction(self.act_delete_runs)
        run.addSeparator()
        run.addAction(self.act_test_call)

    # -- documents -----------------------------------------------------------------------

    def set_document(self, document: TreeDocument) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.canvas is not None:
            self.canvas.close()
        self.document = document
        self.canvas = TreeCanvas(document, self.registry, self)
        self.canvas.selectionChanged.connect(self._on_selection)
        self.canvas.nodeActivated.connect(lambda nid: self._show_properties([nid]))
        self.canvas.addRequested.connect(self._quick_add)
        self.canvas.refused.connect(lambda msg: self._warn("Not possible", msg))
        self.canvas.fileDropped.connect(
            lambda path: self.open_path(path) if _is_tree_file(path) else None
        )
        self.canvas.node_actions = [
            self.act_run_sel,
            self.act_run_here,
            None,
            self.act_rename,
            self.act_toggle,
            self.act_duplicate,
            self.act_copy,
            self.act_delete,
        ]
        self.canvas.background_actions = [
            self.act_paste,
            self.act_select_all,
            None,
            self.act_fit,
            self.act_layout,
        ]
        # keys that mean nothing to a text field but act on nodes (Ctrl+D, F2, Ctrl+M): only
        # while the canvas has the focus, so typing in a property never duplicates a node
        for action in (self.act_duplicate, self.act_rename, self.act_toggle):
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.removeAction(action)  # the window would make it match everywhere in it
            self.canvas.view.addAction(action)
        self.setCentralWidget(self.canvas.widget)
        # a batch (a delete of many nodes, a layout) is checked once, at its last change
        self._unsubscribe = document.subscribe(
            lambda change: None if change.more else self._on_document_changed()
        )
        self._show_properties([])
        self._seed_typed = False  # a seed typed for the previous tree is not this one's
        self._on_document_changed()
        self._show_problems()  # an opened tree is checked at once, whatever its size
        QtCore.QTimer.singleShot(0, self.fit)

    def _on_seed_edited(self, text: str) -> None:
        tree_seed = self.document.tree.seed
        self._seed_typed = text != ("" if tree_seed is None else str(tree_seed))

    def _show_seed(self) -> None:
        """The Seed field shows the seed a run of this tree will use: the tree's own, unless
        the user typed another for this tree; never one left from the previous tree."""
        seed = self.document.tree.seed
        self.seed_edit.setPlaceholderText("random" if seed is None else f"{seed} (tree)")
        if not self._seed_typed:
            self.seed_edit.setText("" if seed is None else str(seed))

    def _on_document_changed(self) -> None:
        # the title carries the dirty marker itself (" *"); Qt's setWindowModified would want a
        # "[*]" placeholder and warns on every edit without one
        self.setWindowTitle(f"{self.document.title} — {APP}")
        self._show_seed()
        self.act_undo.setEnabled(self.document.can_undo)
        self.act_redo.setEnabled(self.document.can_redo)
        if sum(1 for _ in self.document.tree.walk()) > CHECK_LATER_FROM:
            self._check_timer.start()  # a big tree: checked once typing pauses
        else:
            self._show_problems()

    def _show_problems(self) -> None:
        """Validation as you type: the Problems tab and the marks on the canvas."""
        self._check_timer.stop()
        self.problems.set_problems(self.document.problems())
        if self.canvas is not None:
            self.canvas.show_problems(self.document.problems())

    def open_path(self, path: str | Path) -> bool:
        """Open a tree file (native or legacy); a bad file is reported, nothing is lost."""
        if not self._maybe_save():
            return False
        try:
            document = TreeDocument.open(path, self.registry)
        except TreeError as exc:
            self._warn("Cannot open the tree", str(exc))
            return False
        self.set_document(document)
        self._remember(Path(path))
        if document.tree.source_format != "native":
            what = "JavaScript" if document.tree.source_format == "javascript" else "legacy"
            self.statusBar().showMessage(
                f"Opened a {what} Genarun file: saving writes the native format to a new file",
                8000,
            )
        return True

    def new_tree(self) -> None:
        if self._maybe_save():
            self.set_document(TreeDocument(registry=self.registry))

    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self,
            "Open a tree",
            str(self._last_dir()),
            "Genarun trees (*.json *.js *.mjs);;All files (*)",
        )
        if path:
            self.open_path(path)

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        suggested = self._last_dir() / f"{self.document.tree.id or 'tree'}.genarun.json"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save the tree", str(suggested), "Genarun trees (*.genarun.json *.json)"
        )
        return bool(path) and self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except (OSError, EditError) as exc:
            self._warn("Cannot save", str(exc))
            return False
        self._remember(path)
        self.statusBar().showMessage(f"Saved {path}", 4000)
        self._on_document_changed()
        return True

    def _maybe_save(self) -> bool:
        """Ask to save unsaved changes; False when the user cancels."""
        if not self.document.dirty:
            return True
        answer = self.ask_save(self.document.title.rstrip(" *"))
        if answer == QtWidgets.QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QtWidgets.QMessageBox.StandardButton.Discard

    def ask_inputs(self, last: dict[str, Any]) -> dict[str, Any] | None:
        """Ask for the tree's declared inputs; None when cancelled (replaceable by tests)."""
        dialog = InputsDialog(self.document, last, self)
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return None
        return dialog.values()

    def ask_save(self, name: str) -> QtWidgets.QMessageBox.StandardButton:
        """Ask whether to save unsaved changes (replaceable, e.g. by tests)."""
        buttons = QtWidgets.QMessageBox.StandardButton
        return QtWidgets.QMessageBox.question(
            self,
            "Save changes?",
            f"“{name}” has unsaved changes.",
            buttons.Save | buttons.Discard | buttons.Cancel,
        )

    def _last_dir(self) -> Path:
        recent = self._recent()
        return Path(recent[0]).parent if recent else Path.home()

    def _recent(self) -> list[str]:
        value = self.settings.value("files/recent", [])
        return [str(v) for v in value] if isinstance(value, list) else []

    def _remember(self, path: Path) -> None:
        recent = [str(path.resolve())] + [p for p in self._recent() if p != str(path.resolve())]
        self.settings.setValue("files/recent", recent[:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            self.recent_menu.addAction(path, functools.partial(self.open_path, path))
        self.recent_menu.setEnabled(bool(self._recent()))

    # -- editing -------------------------------------------------------------------------

    def _on_selection(self, ids: list[str]) -> None:
        self._show_properties(ids)
        run = self.runner.run
        if len(ids) == 1 and run is not None:
            self._show_instances(ids[0])

    def _show_properties(self, ids: list[str]) -> None:
        from genarun_studio.qt.forms import NodeForm, TreeForm

        self.document.break_merge()  # edits made after a selection change undo on their own
        old = self.properties.takeWidget()
        if old is not None:
            old.deleteLater()
        try:
            user_profiles = load_profiles()
        except ProfilesError:  # shown when a run is started (and in the settings)
            user_profiles = {}
        profiles = profile_names(self.document.tree, user_profiles)
        if len(ids) == 1:
            node_form = NodeForm(self.document, ids[0], profiles)
            node_form.set_problems(self.document.problems())
            if getattr(node_form.node_type, "lane", None) == "http":  # the api node
                button = QtWidgets.QPushButton("Test call…")
                button.setObjectName("testCallButton")
                button.setToolTip(
                    "Call this node once (ancestors from the cache) and show the request and "
                    "the response; with Mock on, nothing is sent"
                )
                button.clicked.connect(self.test_call)
                node_form.body.insertWidget(2, button, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
            form: QtWidgets.QWidget = node_form
        else:
            form = TreeForm(self.document)
        self.properties.setWidget(form)

    def _select_node(self, node_id: str) -> None:
        if self.canvas is not None:
            self.canvas.select([node_id])

    def _project_index(self) -> Any:
        """The project's run index; None (with a message) when it cannot be opened."""
        try:
            return self.runner.project.index
        except GenarunError as exc:
            self.statusBar().showMessage(str(exc), 10000)
            return None

    def open_snapshot(self, run_id: str | None = None) -> bool:
        """Open a past run's tree as it ran (its ``tree.json``); saving asks where, so the
        run folder is never changed."""
        run_id = run_id or self.history.selected_run_id()
        index = self._project_index()
        row = index.run(run_id) if index is not None and run_id else None
        if row is None:
            self.statusBar().showMessage("Choose a run in the History tab first", 4000)
            return False
        if not self.open_path(Path(row["run_dir"]) / "tree.json"):
            return False
        self.document.path = None
        self.statusBar().showMessage(f"The tree as {run_id} ran it (save it elsewhere)", 6000)
        return True

    def rerun_history(self, run_id: str | None = None, *, failed_only: bool = False) -> None:
        """Run a past run again from its own snapshot (``tree.json``), inputs and seed;
        with ``failed_only``, only the nodes that failed and the subtrees their failure
        skipped (their ancestors from the cache)."""
        from genarun_studio.core.formats import loads_tree

        run_id = run_id or self.history.selected_run_id()
        index = self._project_index()
        row = index.run(run_id) if index is not None and run_id else None
        if row is None or run_id is None:
            self.statusBar().showMessage("Choose a run in the History tab first", 4000)
            return
        folder = Path(row["run_dir"])
        try:
            meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
            tree = loads_tree((folder / "tree.json").read_bytes(), file=str(folder / "tree.json"))
        except (OSError, ValueError, GenarunError) as exc:
            self._warn("Cannot rerun", f"{run_id}: {exc}")
            return
        targets: list[str] = []
        if failed_only:
            targets = sorted(
                {i["node_id"] for i in index.instances(run_id) if i["state"] == "failed"}
            )
            if not targets:
                self.statusBar().showMessage(f"{run_id} has no failed nodes", 4000)
                return
        # a failed node skipped its subtree: that runs too (what finished comes from the cache)
        earlier = meta.get("options") if isinstance(meta.get("options"), dict) else {}
        options = RunOptions(
            seed=meta.get("seed"),
            mock=bool(meta.get("mock")),
            targets=targets,
            with_children=bool(targets),
            # the run's own limits too (not no_cache: the point is to reuse what finished)
            concurrency=earlier.get("concurrency") or {},
            budget_usd=earlier.get("budget_usd"),
        )
        if self.runner.busy:
            self.statusBar().showMessage("A run is already going", 3000)
            return
        try:
            run = self.runner.start(tree, meta.get("inputs") or {}, options)
        except GenarunError as exc:
            self._warn("Cannot rerun", str(exc))
            return
        self.log.clear()
        self.statusBar().showMessage(
            f"Rerunning {run_id}{' (failed nodes: ' + ', '.join(targets) + ')' if targets else ''}"
            f" as {run.id}"
        )
        self._update_run_actions()

    def continue_history(self, run_id: str | None = None) -> bool:
        """Resume a past run in its own folder (``genarun resume`` in the editor): one that
        stopped, failed, or ended waiting for answers that were given since."""
        run_id = run_id or self.history.selected_run_id()
        if not run_id:
            self.statusBar().showMessage("Choose a run in the History tab first", 4000)
            return False
        if self.runner.busy:
            self.statusBar().showMessage("A run is already going", 3000)
            return False
        try:
            run = self.runner.continue_run(run_id)
        except GenarunError as exc:
            self._warn("Cannot resume", str(exc))
            return False
        self.log.clear()
        self.statusBar().showMessage(f"Resuming {run.id}")
        self._update_run_actions()
        return True

    def compare_runs(self, run_a: str | None = None, run_b: str | None = None) -> Any:
        """Open the comparison of two runs (default: the two selected in the History tab,
        or the selected one and the run before it of the same tree)."""
        from genarun_studio.qt.dialogs.compare import RunCompare

        index = self._project_index()
        if index is None:
            return None
        selected = self.history.selected_run_ids()
        run_a = run_a or (selected[0] if selected else None)
        run_b = run_b or (selected[1] if len(selected) > 1 else None)
        dialog = RunCompare(index, run_a, run_b, self)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def ask_delete(self, run_ids: list[str]) -> bool:
        """Ask before deleting runs (replaceable, e.g. by tests)."""
        buttons = QtWidgets.QMessageBox.StandardButton
        listing = "\n".join(run_ids[:12]) + (
            f"\n… and {len(run_ids) - 12} more" if len(run_ids) > 12 else ""
        )
        answer = QtWidgets.QMessageBox.warning(
            self,
            "Delete runs?",
            f"Delete {len(run_ids)} run(s) with their folders, outputs and images?\n\n"
            f"{listing}\n\nThis cannot be undone.",
            buttons.Yes | buttons.Cancel,
            buttons.Cancel,
        )
        return answer == buttons.Yes

    def delete_runs(self, run_ids: list[str] | None = None) -> list[str]:
        """Delete runs (default: those selected in the History tab) after asking; a run
        that is still going is refused. Returns the run ids deleted."""
        run_ids = run_ids or self.history.selected_run_ids()
        if not run_ids:
            self.statusBar().showMessage("Choose the runs to delete in the History tab", 4000)
            return []
        live = self.runner.run.id if self.runner.busy and self.runner.run else None
        if live in run_ids:
            self._warn("Cannot delete", f"{live} is still going; stop it first")
            return []
        if not self.ask_delete(run_ids):
            return []
        deleted, problems = [], []
        for run_id in run_ids:
            thumbs = self.assets.thumbnails_of(run_id)  # named from the images: before they go
            try:
                self.runner.project.delete_run(run_id)
            except (GenarunError, OSError) as exc:
                problems.append(str(exc))
                continue
            for thumb in thumbs:
                with contextlib.suppress(OSError):
                    thumb.unlink(missing_ok=True)
            deleted.append(run_id)
        if self.run_detail.run_id in deleted:
            self.run_detail.clear()
        if self.assets.run_id in deleted:
            self.assets.show_run(None)
        self.history.refresh()
        if problems:
            self._warn("Some runs were not deleted", "\n".join(problems))
        else:
            self.statusBar().showMessage(f"Deleted {len(deleted)} run(s)", 4000)
        return deleted

    def _on_history_run(self, run_id: str) -> None:
        """A run picked in the history: its timeline, nodes, output and errors."""
        if self.run_detail.show_run(run_id):
            self.assets.show_run_when_visible(run_id)
            self.costs.select_run(run_id)
            self.run_detail_dock.raise_()
            index = self._project_index()
            row = index.run(run_id) if index is not None else None
            if row is not None:
                self.statusBar().showMessage(f"{run_id}: {row['status']} — {row['run_dir']}")

    def _add_node(self, type_id: str) -> None:
        if self.canvas is not None:
            self.canvas.add_node(type_id)

    def _quick_add(self, scene_pos: object) -> None:
        """Tab or a double-click on the canvas: pick a type, add it at ``scene_pos``."""
        assert isinstance(scene_pos, QtCore.QPointF)
        from genarun_studio.qt.panels.palette import QuickAddPopup

        type_id = QuickAddPopup.ask(self, self.registry, QtGui.QCursor.pos())
        if type_id and self.canvas is not None:
            self.canvas.add_node(type_id, scene_pos)

    def undo(self) -> None:
        label = self.document.undo()
        self.statusBar().showMessage(f"Undid: {label}" if label else "Nothing to undo", 3000)

    def redo(self) -> None:
        label = self.document.redo()
        self.statusBar().showMessage(f"Redid: {label}" if label else "Nothing to redo", 3000)

    def copy(self) -> None:
        if self.canvas is None or not self.canvas.selected_ids():
            return
        ids = self.canvas.selected_ids()
        tops = [i for i in ids if not any(a.id in ids for a in self.document.tree.ancestors(i))]
        data = [self.document.node(i).model_dump(mode="json", exclude_defaults=True) for i in tops]
        QtWidgets.QApplication.clipboard().setText(json.dumps({"genarun_nodes": data}))
        self.statusBar().showMessage(f"Copied {len(tops)} node(s) with their subtrees", 3000)

    def paste(self) -> None:
        try:
            data = json.loads(QtWidgets.QApplication.clipboard().text())
            nodes = [Node.model_validate(n) for n in data["genarun_nodes"]]
        except (ValueError, KeyError, TypeError):
            self.statusBar().showMessage("The clipboard holds no Genarun nodes", 3000)
            return
        selected = self.canvas.selected_ids() if self.canvas else []
        parent = selected[0] if len(selected) == 1 else None
        with self.document.batch(f"paste {len(nodes)} node(s)"):
            for node in nodes:
                node.ui.pop("pos", None)
                self.document.insert(node, parent)

    def duplicate(self) -> None:
        """The selected nodes (with their subtrees) again, each after itself under the same
        parent and a little below and to the right; one undo step; the copies selected."""
        if self.canvas is None:
            return
        ids = self.canvas.selected_ids()
        tops = [i for i in ids if not any(a.id in ids for a in self.document.tree.ancestors(i))]
        if not tops:
            return
        copies = []
        with self.document.batch(f"duplicate {len(tops)} node(s)"):
            for node_id in tops:
                original = self.document.node(node_id)
                twin = original.model_copy(deep=True)
                for was, node in zip(original.walk(), twin.walk(), strict=True):
                    drawn = self.canvas.item(was.id).pos()  # where it is, laid out or placed
                    node.ui = {**node.ui, "pos": [drawn.x() + 40, drawn.y() + 40]}
                parent = self.document.parent_id(node_id)
                siblings = (
                    self.document.tree.nodes
                    if parent is None
                    else self.document.node(parent).children
                )
                at = next(i for i, n in enumerate(siblings) if n.id == node_id) + 1
                self.document.insert(twin, parent, at)  # renames the copies' ids
                copies.append(twin.id)
        self.canvas.select(copies)

    def rename(self) -> None:
        """Edit the selected node's title on the canvas."""
        if self.canvas is not None and len(self.canvas.selected_ids()) == 1:
            self.canvas.edit_title(self.canvas.selected_ids()[0])

    def select_all(self) -> None:
        if self.canvas is not None:
            self.canvas.select([n.id for n in self.document.tree.walk()])

    def toggle_enabled(self) -> None:
        """Disable the selected nodes, or enable them when all of them are disabled."""
        if self.canvas is not None:
            self.canvas.toggle_selected()

    def delete(self) -> None:
        if self.canvas is not None:
            self.canvas.delete_selected()

    def fit(self) -> None:
        if self.canvas is not None:
            self.canvas.fit()

    def auto_layout(self) -> None:
        if self.canvas is not None:
            self.canvas.auto_layout()
            self.fit()

    # -- running -------------------------------------------------------------------------

    def _options(
        self,
        targets: list[str] | None = None,
        with_children: bool = False,
    ) -> RunOptions:
        seed = self.seed_edit.text()
        return RunOptions(
            seed=int(seed) if seed else None,
            mock=self.mock_box.isChecked(),
            targets=targets or [],
            with_children=with_children,
        )

    def run_tree(self) -> None:
        self._start(self._options())

    def run_selected(self) -> None:
        ids = self.canvas.selected_ids() if self.canvas else []
        if not ids:
            self.statusBar().showMessage("Select the node(s) to run first", 3000)
            return
        self._start(self._options(ids))

    def run_from_here(self) -> None:
        ids = self.canvas.selected_ids() if self.canvas else []
        if len(ids) != 1:
            self.statusBar().showMessage("Select one node to run from", 3000)
            return
        self._start(self._options(ids, with_children=True))

    def test_call(self) -> Any:
        """Open the "Test call" window for the one selected node; returns it (or None)."""
        from genarun_studio.qt.dialogs.apitest import ApiTestDialog

        ids = self.canvas.selected_ids() if self.canvas else []
        if len(ids) != 1:
            self.statusBar().showMessage("Select one node to test", 3000)
            return None
        inputs = dict(self._last_inputs)
        if self.document.tree.inputs:
            asked = self.ask_inputs(self._last_inputs)
            if asked is None:
                return None
            inputs = self._last_inputs = asked
        dialog = ApiTestDialog(
            self.runner.engine,
            self.document.tree,
            ids[0],
            inputs,
            mock=self.mock_box.isChecked(),
            parent=self,
        )
        self._test_dialog = dialog
        dialog.show()
        dialog.start()
        return dialog

    def step(self) -> None:
        run = self.runner.run
        if self.runner.busy and run is not None:
            node = self.runner.step()
            self.statusBar().showMessage(
                f"Stepping through {node}" if node else "Nothing is waiting to run", 3000
            )
        else:
            self._start(self._options(), paused=True)

    def toggle_pause(self) -> None:
        run = self.runner.run
        if not self.runner.busy or run is None:
            return
        if run.paused:
            self.runner.resume()
        else:
            self.runner.pause()
        self._update_run_actions()

    def stop(self) -> None:
        self.runner.stop()

    def _start(
        self, options: RunOptions, *, paused: bool = False, inputs: dict[str, Any] | None = None
    ) -> None:
        """Start a run; ask for the tree's inputs unless ``inputs`` are given."""
        if self.runner.busy:
            self.statusBar().showMessage("A run is already going", 3000)
            return
        errors = [p for p in self.document.problems() if p.severity == "error"]
        if errors:
            listing = "\n".join(f"• {p.path}: {p.message}" for p in errors[:15])
            self._warn("The tree has errors", f"Fix these first:\n{listing}")
            self.problems_dock.raise_()
            return
        ask = inputs is None and bool(self.document.tree.inputs)
        if inputs is None:
            inputs = dict(self._last_inputs)
        if ask:
            asked = self.ask_inputs(self._last_inputs)
            if asked is None:
                return
            inputs = asked
        self._last_inputs = inputs
        self.settings.setValue("run/mock", self.mock_box.isChecked())
        self.log.clear()
        self.inspector.clear()
        if self.canvas is not None:
            self.canvas.clear_status()
        try:
            run = (
                self.runner.start(self.document.tree, inputs, options)
                if not paused
                else (self._start_paused(inputs, options))
            )
        except GenarunError as exc:
            self._warn("Cannot run", str(exc))
            return
        total = sum(1 for _ in self.document.tree.walk())
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(0)
        self.progress.show()
        self.statusBar().showMessage(
            f"Running {run.id}{' on the mock provider' if run.mock else ''}"
        )
        self._update_run_actions()

    def _start_paused(self, inputs: dict[str, Any], options: RunOptions) -> Any:
        run = self.runner.start(self.document.tree, inputs, options)
        run.pause()
        run.step()  # nothing is queued yet: the run steps through the first node it queues
        return run

    def _on_run_event(self, event: object) -> None:
        assert isinstance(event, ev.Event)
        self.log.on_event(event)
        run = self.runner.run
        if run is None:
            return
        if isinstance(event, ev.RunPaused | ev.RunResumed):
            self._update_run_actions()

    def _on_nodes_changed(self, node_ids: set[str]) -> None:
        """At most every 100 ms while a run goes (per event would be quadratic: a big run
        has tens of thousands of events over tens of thousands of instances)."""
        run = self.runner.run
        if run is None or self.canvas is None:
            return
        ended = ("done", "cached", "failed", "skipped", "stopped")
        finished = sum(1 for i in run.instances.values() if i.state in ended)
        self.progress.setRange(0, max(len(run.instances), 1))
        self.progress.setValue(finished)
        for node_id, (state, text, image) in node_summaries(run, node_ids).items():
            self.canvas.show_status(node_id, state, text, image)
        selected = self.canvas.selected_ids()
        if len(selected) == 1 and selected[0] in node_ids:
            self._show_instances(selected[0])

    def _show_instances(self, node_id: str) -> None:
        run = self.runner.run
        if run is None:
            return
        instances = [i for i in run.instances.values() if i.node_id == node_id]
        self.inspector.show_node(node_id, instances, run.folder.path)

    def _on_run_finished(self, summary: Any) -> None:
        self.history.refresh()
        self.run_detail.show_run(summary.run_id)
        self.assets.show_run_when_visible(summary.run_id)
        if self.costs.isVisible():
            self.costs.refresh()
        counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.counts.items()))
        self.statusBar().showMessage(
            f"{summary.status}: {counts} in {summary.wall_s:.1f} s — {summary.run_dir}"
        )
        self.progress.hide()
        self._update_run_actions()

    def _on_run_failed(self, message: str) -> None:
        self.progress.hide()
        self._update_run_actions()
        self.statusBar().showMessage(f"The run ended with an error: {message}")
        self._warn("The run ended with an error", message)

    def _update_run_actions(self) -> None:
        busy = self.runner.busy
        run = self.runner.run
        for action in (self.act_run, self.act_run_sel, self.act_run_here):
            action.setEnabled(not busy)
        self.act_pause.setEnabled(busy)
        self.act_stop.setEnabled(busy)
        self.act_pause.setText("Resume" if busy and run is not None and run.paused else "Pause")

    # -- misc ----------------------------------------------------------------------------

    def open_settings(self) -> None:
        from genarun_studio.qt.dialogs.settings import SettingsDialog

        SettingsDialog(self).exec()
        self._show_properties(self.canvas.selected_ids() if self.canvas is not None else [])

    def _warn(self, title: str, message: str) -> None:
        if QtWidgets.QApplication.platformName() == "offscreen":
            self.statusBar().showMessage(f"{title}: {message}", 8000)
            self.last_warning = f"{title}: {message}"
            return
        QtWidgets.QMessageBox.warning(self, title, message)

    last_warning = ""

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if any(_is_tree_file(u.toLocalFile()) for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        for url in event.mimeData().urls():
            if _is_tree_file(url.toLocalFile()):
                self.open_path(url.toLocalFile())
                break

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self._maybe_save():
            event.ignore()
            return
        self.costs.shutdown()
        self.assets.model.shutdown()
        if self.runner.busy:
            self.runner.stop()
        self.answers.stop_hooks()
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/geometry", self.saveGeometry())
        event.accept()


def _is_tree_file(path: str) -> bool:
    """A file the editor opens: tree JSON, or an original Genarun JavaScript tree."""
    return path.endswith(".json") or is_js_file(path)
