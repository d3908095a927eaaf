"""The run log: one line per notable engine event, filterable by level, node and text.

The pane is a subscriber: pass :meth:`LogPane.on_event` to ``Run.subscribe`` (events arrive
on the GUI thread under qasync, which is where the engine's loop runs). It never drives the
run. Which events make lines, and at which level:

=====================  =======================================================
``LogEvent``           its own level (``debug``, ``info``, ``warning``, ``error``)
``InstanceFailed``     error — the instance's error message
``InstanceProgress``   info — retries and other progress notes
``InstanceSkipped``    debug — the reason (disabled, parent failed, ...)
``InstanceFinished``   debug — duration, tokens and cost
``InstanceCached``     debug — reused from the cache
``RunStarted``         info
``RunFinished``        info when finished, warning when failed or stopped
``RunPaused/Resumed``  info; ``RunStopped`` warning
=====================  =======================================================

The level filter is a threshold: "Warnings & up" shows warnings and errors; "All levels"
also shows debug lines. The pane keeps at most ``max_lines`` lines, dropping the oldest in
batches of a tenth so a long run does not pay for a trim on every line.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QColor, QFont, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.engine import events as ev

__all__ = ["LEVELS", "LogFilter", "LogLine", "LogModel", "LogPane", "node_id_of"]

LEVELS = ("debug", "info", "warning", "error")
_RANK = {level: rank for rank, level in enumerate(LEVELS)}
_LEVEL_CHOICES = (
    ("All levels", "debug"),
    ("Info & up", "info"),
    ("Warnings & up", "warning"),
    ("Errors", "error"),
)
_LEVEL_COLOURS = {
    "debug": QColor("#8a8a8a"),
    "warning": QColor("#c77700"),
    "error": QColor("#d32f2f"),
}
_INDEX = re.compile(r"\[\d+\]$")
ModelIndex = QModelIndex | QPersistentModelIndex


def node_id_of(key: str) -> str:
    """The node id of an instance key: ``site/topics[2]/hero`` → ``hero``."""
    return _INDEX.sub("", key.rsplit("/", 1)[-1])


@dataclass(frozen=True, slots=True)
class LogLine:
    at: float
    level: str
    key: str
    """Instance key; empty for run-level lines."""
    node_id: str
    message: str

    @property
    def time_text(self) -> str:
        return datetime.fromtimestamp(self.at).strftime("%H:%M:%S.%f")[:-3]

    def as_tsv(self) -> str:
        return "\t".join((self.time_text, self.level, self.key, self.message))


def line_for(event: ev.Event) -> LogLine | None:
    """The log line an event makes, or ``None`` for events the log does not show."""
    key = getattr(event, "key", None) or ""
    node = getattr(event, "node_id", None) or (node_id_of(key) if key else "")
    level: str
    match event:
        case ev.LogEvent():
            level = event.level if event.level in _RANK else "info"
            message = event.message
        case ev.InstanceFailed():
            level, message = "error", event.error
        case ev.InstanceProgress():
            level = "info"
            message = event.message
            if event.attempt > 1 and f"attempt {event.attempt}" not in message:
                message += f" (attempt {event.attempt})"
        case ev.InstanceSkipped():
            level, message = "debug", f"skipped: {event.reason}"
        case ev.InstanceFinished():
            level = "debug"
            message = f"done in {_seconds(event.duration_s)}"
            usage = event.usage
            if usage.input_tokens or usage.output_tokens:
                message += f" · {usage.input_tokens} in / {usage.output_tokens} out tokens"
            if usage.images:
                message += f" · {usage.images} image" + ("s" if usage.images != 1 else "")
            if event.cost_usd:
                message += f" · ${event.cost_usd:.4f}"
        case ev.InstanceCached():
            level, message = "debug", "taken from the cache"
        case ev.RunStarted():
            level = "info"
            mode = "mock run" if event.mock else "run"
            message = f"{mode} started: {event.run_id} (seed {event.seed})"
        case ev.RunFinished():
            level = "info" if event.status == "finished" else "warning"
            counts = ", ".join(f"{n} {state}" for state, n in sorted(event.counts.items()))
            message = f"run {event.status} in {_seconds(event.wall_s)}" + (
                f" — {counts}" if counts else ""
            )
        case ev.RunPaused():
            level, message = "info", "run paused"
        case ev.RunResumed():
            level, message = "info", "run resumed"
        case ev.RunStopped():
            level, message = "warning", f"run stopped: {event.reason}"
        case _:
            return None
    return LogLine(at=event.at, level=level, key=key, node_id=node, message=message)


def _seconds(value: float) -> str:
    if value < 0.001:
        return "<1 ms"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


class LogModel(QAbstractTableModel):
    """Log lines as a table: Time, Level, Instance, Message (first line; full as tooltip)."""

    COLUMNS = ("Time", "Level", "Instance", "Message")

    def __init__(self, max_lines: int = 10_000, parent: Any = None) -> None:
        super().__init__(parent)
        self.max_lines = max(1, max_lines)
        self._lines: list[LogLine] = []

    @property
    def lines(self) -> list[LogLine]:
        return list(self._lines)

    def line(self, row: int) -> LogLine:
        return self._lines[row]

    def append(self, line: LogLine) -> None:
        if len(self._lines) >= self.max_lines:
            drop = min(len(self._lines), max(1, self.max_lines // 10))
            self.beginRemoveRows(QModelIndex(), 0, drop - 1)
            del self._lines[:drop]
            self.endRemoveRows()
        row = len(self._lines)
        self.beginInsertRows(QModelIndex(), row, row)
        self._lines.append(line)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self._lines.clear()
        self.endResetModel()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._lines)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        line = self._lines[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return line.time_text
            if column == 1:
                return line.level
            if column == 2:
                return line.key or "—"
            first, _, rest = line.message.partition("\n")
            return first + (" …" if rest else "")
        if role == Qt.ItemDataRole.ToolTipRole and column in (2, 3):
            return line.key if column == 2 else line.message
        if role == Qt.ItemDataRole.ForegroundRole:
            colour = _LEVEL_COLOURS.get(line.level)
            if colour is not None and (column in (1, 3) or line.level == "debug"):
                return colour
        if role == Qt.ItemDataRole.FontRole and column == 1 and line.level == "error":
            font = QFont()
            font.setBold(True)
            return font
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None


class LogFilter(QSortFilterProxyModel):
    """Filters a :class:`LogModel` by minimum level, node id and a text (case-insensitive,
    in the message or the instance key)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._min_rank = 0
        self._node: str | None = None
        self._text = ""

    def set_min_level(self, level: str) -> None:
        self.beginFilterChange()
        self._min_rank = _RANK.get(level, 0)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_node(self, node_id: str | None) -> None:
        self.beginFilterChange()
        self._node = node_id or None
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, LogModel)
        line = model.line(source_row)
        if _RANK.get(line.level, 1) < self._min_rank:
            return False
        if self._node is not None and line.node_id != self._node:
            return False
        return (
            not self._text or self._text in line.message.lower() or self._text in line.key.lower()
        )


class LogPane(QWidget):
    """The run log panel: filters on top, the table below.

    Feed it with :meth:`on_event` (any engine event; those it does not show are ignored) or
    :meth:`log` (the editor's own messages). The node filter lists every node id that has
    appeared. The table follows new lines unless the user has scrolled up; it follows again
    once they scroll back to the bottom.
    """

    def __init__(self, parent: QWidget | None = None, *, max_lines: int = 10_000) -> None:
        super().__init__(parent)
        self.model = LogModel(max_lines, self)
        self.proxy = LogFilter(self)
        self.proxy.setSourceModel(self.model)

        self.level_combo = QComboBox(self)
        for label, level in _LEVEL_CHOICES:
            self.level_combo.addItem(label, level)
        self.level_combo.setCurrentIndex(1)  # info & up: debug lines are noise by default
        self.node_combo = QComboBox(self)
        self.node_combo.addItem("All nodes", None)
        self.node_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.text_filter = QLineEdit(self)
        self.text_filter.setPlaceholderText("Filter messages…")
        self.text_filter.setClearButtonEnabled(True)
        self.count_label = QLabel(self)
        self.count_label.setEnabled(False)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setToolTip("Remove every line from the log")

        self.view = QTableView(self)
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.view.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        metrics = self.fontMetrics()
        header.resizeSection(0, metrics.horizontalAdvance("00:00:00.000") + 16)
        header.resizeSection(1, metrics.horizontalAdvance("warning") + 20)
        header.resizeSection(2, metrics.horizontalAdvance("site/topics[0]/article") + 24)

        copy = QAction("Copy", self.view)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy_selection)
        self.view.addAction(copy)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(6)
        bar.addWidget(self.level_combo)
        bar.addWidget(self.node_combo)
        bar.addWidget(self.text_filter, 1)
        bar.addWidget(self.count_label)
        bar.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        self._nodes: set[str] = set()
        self._follow = True
        self._scroll_pending = False
        self.proxy.set_min_level(self.level_combo.currentData())
        self.level_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_min_level(self.level_combo.currentData())
        )
        self.node_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_node(self.node_combo.currentData())
        )
        self.text_filter.textChanged.connect(self.proxy.set_text)
        self.clear_button.clicked.connect(self.clear)
        self.view.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.proxy.rowsInserted.connect(self._on_rows_inserted)
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset):
            signal.connect(self._update_count)
        self._update_count()

    # -- feeding -----------------------------------------------------------------------

    def on_event(self, event: ev.Event) -> None:
        """Add the line ``event`` makes, if any (a ``Run.subscribe`` callback)."""
        line = line_for(event)
        if line is not None:
            self._add(line)

    def log(self, level: str, message: str, key: str | None = None) -> None:
        """Add a line of the editor's own (e.g. "saved tree.genarun.json")."""
        key = key or ""
        self._add(
            LogLine(
                at=time.time(),
                level=level if level in _RANK else "info",
                key=key,
                node_id=node_id_of(key) if key else "",
                message=message,
            )
        )

    def clear(self) -> None:
        """Remove every line; the node filter keeps its choice but forgets other nodes."""
        self.model.clear()
        current = self.node_combo.currentData()
        self.node_combo.blockSignals(True)
        while self.node_combo.count() > 1:
            self.node_combo.removeItem(1)
        self._nodes.clear()
        if current:
            self._add_node(current)
            self.node_combo.setCurrentIndex(self.node_combo.findData(current))
        self.node_combo.blockSignals(False)
        self._follow = True

    # -- filters -----------------------------------------------------------------------

    def set_level_filter(self, level: str) -> None:
        """Show lines at ``level`` and above (``debug`` shows all)."""
        index = self.level_combo.findData(level)
        if index < 0:
            raise ValueError(f"unknown log level {level!r} (known: {', '.join(LEVELS)})")
        self.level_combo.setCurrentIndex(index)

    def set_node_filter(self, node_id: str | None) -> None:
        """Show only lines of ``node_id`` (``None``: all nodes)."""
        if node_id is not None:
            self._add_node(node_id)
        self.node_combo.setCurrentIndex(self.node_combo.findData(node_id))

    def set_text_filter(self, text: str) -> None:
        self.text_filter.setText(text)

    # -- reading -----------------------------------------------------------------------

    def lines(self) -> list[LogLine]:
        """Every line held, oldest first (filters ignored)."""
        return self.model.lines

    def visible_lines(self) -> list[LogLine]:
        """The lines the filters let through, in display order."""
        return [
            self.model.line(self.proxy.mapToSource(self.proxy.index(row, 0)).row())
            for row in range(self.proxy.rowCount())
        ]

    def node_ids(self) -> list[str]:
        """The node filter's choices (without "All nodes")."""
        return [self.node_combo.itemData(i) for i in range(1, self.node_combo.count())]

    @property
    def following(self) -> bool:
        """Whether new lines scroll the table to the bottom."""
        return self._follow

    def copy_selection(self) -> None:
        """Copy the selected lines to the clipboard, tab-separated."""
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        text = "\n".join(
            self.model.line(self.proxy.mapToSource(self.proxy.index(r, 0)).row()).as_tsv()
            for r in rows
        )
        if text:
            QGuiApplication.clipboard().setText(text)

    # -- internals ---------------------------------------------------------------------

    def _add(self, line: LogLine) -> None:
        if line.node_id:
            self._add_node(line.node_id)
        self.model.append(line)

    def _add_node(self, node_id: str) -> None:
        if node_id in self._nodes:
            return
        self._nodes.add(node_id)
        existing = self.node_ids()
        position = 1 + sum(1 for n in existing if n.lower() < node_id.lower())
        self.node_combo.insertItem(position, node_id, node_id)

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.view.verticalScrollBar().maximum() - 2

    def _on_rows_inserted(self, *_args: object) -> None:
        if self._follow and not self._scroll_pending:
            self._scroll_pending = True
            QTimer.singleShot(0, self._scroll_to_end)

    def _scroll_to_end(self) -> None:
        self._scroll_pending = False
        if self._follow:
            self.view.scrollToBottom()

    def _update_count(self, *_args: object) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} lines" if shown == total else f"{shown} of {total}")
