"""A run's logs: per instance the prompt it sent, the raw answer, its errors and log lines.

:class:`RunLogs` reads the run folder's ``logs.json`` (written when the run ends) or, for a
run that is still going or was interrupted, the last journal record of every instance (the
journal holds the same records). A table lists the instances (key, node, state, attempts,
duration, the first prompt line and the error) and can be filtered by node, by state and
by a text searched, case-insensitively, in the key, the prompts, the answers, the errors
and the log lines. The selected instance is shown in full below: every call with its model,
each prompt turn, the raw answer and usage, the picks, errors and log lines.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.qt.canvas.style import STATE_COLORS
from genarun_studio.qt.panels.history import cost_text, duration_text
from genarun_studio.store.runlogs import read_log_records

__all__ = ["LOG_COLUMNS", "LogEntry", "RunLogs"]

LOG_COLUMNS = ("Instance", "Node", "State", "Attempts", "Duration", "Prompt", "Error")
KEY, NODE, STATE, ATTEMPTS, DURATION, PROMPT, ERROR = range(len(LOG_COLUMNS))
ModelIndex = QModelIndex | QPersistentModelIndex


def _prompt_of(call: dict[str, Any]) -> str:
    if call.get("prompt"):
        return str(call["prompt"])
    messages = call.get("messages") or []
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    last = (users or messages or [{}])[-1]
    return str(last.get("content") or "") if isinstance(last, dict) else ""


class LogEntry:
    """One instance's record, with what the table and the filter need computed once."""

    __slots__ = ("error", "prompt", "record", "search")

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        calls = [c for c in record.get("calls") or [] if isinstance(c, dict)]
        self.prompt = _prompt_of(calls[0]) if calls else ""
        self.error = str(record.get("error") or "")
        parts = [str(record.get("key", "")), self.error]
        for call in calls:
            parts.append(_prompt_of(call))
            for message in call.get("messages") or []:
                if isinstance(message, dict):
                    parts.append(str(message.get("content") or ""))
            parts.append(str(call.get("answer") or call.get("revised_prompt") or ""))
        parts.extend(str(line.get("message", "")) for line in record.get("logs") or [])
        self.search = "\n".join(parts).lower()


class LogModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.entries: list[LogEntry] = []

    def set_entries(self, entries: list[LogEntry]) -> None:
        self.beginResetModel()
        self.entries = entries
        self.endResetModel()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(LOG_COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return LOG_COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        record, column = entry.record, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == KEY:
                return str(record.get("key", ""))
            if column == NODE:
                return str(record.get("node_id", ""))
            if column == STATE:
                return str(record.get("state", ""))
            if column == ATTEMPTS:
                return str(record.get("attempts") or 0)
            if column == DURATION:
                duration = record.get("duration_s")
                return duration_text(None if duration is None else float(duration))
            text = entry.prompt if column == PROMPT else entry.error
            first = text.strip().splitlines()[0] if text.strip() else ""
            return first[:200]
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == STATE:
                return QColor(STATE_COLORS.get(str(record.get("state")), "#8b949e"))
            if column == ERROR:
                return QColor("#d32f2f")
        if role == Qt.ItemDataRole.ToolTipRole and column in (PROMPT, ERROR):
            text = entry.prompt if column == PROMPT else entry.error
            return text[:2000] or None
        return None


class LogFilter(QSortFilterProxyModel):
    """By node id, by state and by a text in :attr:`LogEntry.search` (``None``/"": any)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.node: str | None = None
        self.state: str | None = None
        self.text = ""

    def set_filter(self, node: str | None, state: str | None, text: str) -> None:
        self.beginFilterChange()
        self.node, self.state, self.text = node or None, state or None, text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, LogModel)
        entry = model.entries[source_row]
        if self.node is not None and entry.record.get("node_id") != self.node:
            return False
        if self.state is not None and entry.record.get("state") != self.state:
            return False
        return not self.text or self.text in entry.search


class RunLogs(QWidget):
    """The Logs tab of a run (see the module docstring). :meth:`load` reads a run folder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LogModel(self)
        self.proxy = LogFilter(self)
        self.proxy.setSourceModel(self.model)
        self.node_combo = QComboBox(self)
        self.node_combo.setToolTip("Show the instances of one node")
        self.state_combo = QComboBox(self)
        self.state_combo.setToolTip("Show the instances in one state")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search prompts, answers, errors…")
        self.search.setClearButtonEnabled(True)
        self.count_label = QLabel(self)
        self.count_label.setEnabled(False)

        self.view = QTableView(self)
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        metrics = self.fontMetrics()
        for column, sample in (
            (KEY, "ideas/series[0]/photos[0]/image"),
            (NODE, "photos-node"),
            (STATE, "skipped"),
            (ATTEMPTS, "Attempts"),
            (DURATION, "00.00 s"),
            (PROMPT, "x" * 48),
        ):
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 24)
        self.detail = QTextBrowser(self)
        self.detail.setOpenLinks(False)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.node_combo)
        bar.addWidget(self.state_combo)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.view)
        splitter.addWidget(self.detail)
        splitter.setSizes([170, 230])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)

        self.node_combo.currentIndexChanged.connect(self._apply)
        self.state_combo.currentIndexChanged.connect(self._apply)
        self.search.textChanged.connect(self._apply)
        self.view.selectionModel().currentRowChanged.connect(self._show_current)
        self.source = ""
        self.clear()

    def clear(self, message: str = "No run selected") -> None:
        self.model.set_entries([])
        self._fill_combos()
        self.detail.setPlainText(message)
        self._update_count()

    def load(self, run_dir: Path, run_id: str = "") -> int:
        """Read a run's records; returns how many instances it holds."""
        records, self.source = read_log_records(run_dir, run_id)
        self.model.set_entries([LogEntry(r) for r in records])
        self._fill_combos()
        self._apply()
        if records:
            self.view.selectRow(0)
        else:
            self.detail.setPlainText(self.source)
        return len(records)

    # -- filters -------------------------------------------------------------------------

    def set_filter(self, node: str | None = None, state: str | None = None, text: str = "") -> None:
        """Choose the node, the state and the search text at once."""
        for combo, value in ((self.node_combo, node), (self.state_combo, state)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, combo.findData(value)))
            combo.blockSignals(False)
        self.search.blockSignals(True)
        self.search.setText(text)
        self.search.blockSignals(False)
        self._apply()

    def visible_keys(self) -> list[str]:
        return [str(self.proxy.index(row, KEY).data()) for row in range(self.proxy.rowCount())]

    def select_key(self, key: str) -> bool:
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, KEY).data() == key:
                self.view.selectRow(row)
                return True
        return False

    # -- internals -----------------------------------------------------------------------

    def _fill_combos(self) -> None:
        records = [e.record for e in self.model.entries]
        nodes = list(dict.fromkeys(str(r.get("node_id", "")) for r in records))
        states = sorted({str(r.get("state", "")) for r in records})
        for combo, label, values in (
            (self.node_combo, "All nodes", nodes),
            (self.state_combo, "All states", states),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(label, None)
            for value in values:
                combo.addItem(value, value)
            combo.blockSignals(False)

    def _apply(self, *_args: object) -> None:
        self.proxy.set_filter(
            self.node_combo.currentData(), self.state_combo.currentData(), self.search.text()
        )
        self._update_count()

    def _update_count(self) -> None:
        self.count_label.setText(f"{self.proxy.rowCount()} of {self.model.rowCount()}")

    def _show_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        entry = self.model.entries[self.proxy.mapToSource(current).row()]
        self.detail.setHtml(self.detail_html(entry.record))

    @staticmethod
    def detail_html(record: dict[str, Any]) -> str:
        """An instance's record as HTML: header, error, calls (prompt turns, answer), logs."""

        def pre(text: str) -> str:
            return (
                '<pre style="white-space:pre-wrap; margin:2px 0 8px 12px">'
                f"{html.escape(text)}</pre>"
            )

        state = str(record.get("state", ""))
        colour = STATE_COLORS.get(state, "#8b949e")
        duration = record.get("duration_s")
        parts = [
            f"<b>{html.escape(str(record.get('key', '')))}</b> · "
            f"node {html.escape(str(record.get('node_id', '')))} · "
            f'<span style="color:{colour}">{html.escape(state)}</span> · '
            f"{duration_text(None if duration is None else float(duration))} · "
            f"attempts {int(record.get('attempts') or 0)} · "
            f"{cost_text(float(record.get('cost_usd') or 0.0))}"
        ]
        if record.get("cached_from"):
            parts.append(f"<i>from the cache of {html.escape(str(record['cached_from']))}</i>")
        if record.get("error"):
            parts.append(f'<p style="color:#d32f2f"><b>Error</b></p>{pre(str(record["error"]))}')
        for number, call in enumerate(record.get("calls") or [], start=1):
            usage = call.get("usage") or {}
            parts.append(
                f"<p><b>Call {number}</b> · {html.escape(str(call.get('kind', '')))} · "
                f"{html.escape(str(call.get('model', '')))} · "
                f"{int(usage.get('input_tokens') or 0):,} in / "
                f"{int(usage.get('output_tokens') or 0):,} out · "
                f"{cost_text(float(call.get('cost_usd') or 0.0))}</p>"
            )
            for message in call.get("messages") or []:
                parts.append(f"<i>{html.escape(str(message.get('role', '')))}</i>")
                parts.append(pre(str(message.get("content") or "")))
            if call.get("prompt"):
                parts.append(f"<i>prompt</i>{pre(str(call['prompt']))}")
            answer = call.get("answer")
            if answer is None and call.get("revised_prompt"):
                answer = call["revised_prompt"]
            if answer is not None:
                parts.append(f"<i>answer</i>{pre(str(answer))}")
        for pick in record.get("picks") or []:
            parts.append(
                f"<i>pick</i> {html.escape(str(pick.get('value', '')))} of "
                f"{html.escape(' | '.join(map(str, pick.get('options') or [])))}<br>"
            )
        logs = record.get("logs") or []
        if logs:
            parts.append("<p><b>Log</b></p>")
            lines = "\n".join(f"{e.get('level', '')}: {e.get('message', '')}" for e in logs)
            parts.append(pre(lines))
        return "".join(parts)
