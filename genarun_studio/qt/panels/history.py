"""The run history: every run of the project, from its index, filterable and sortable.

The panel reads :meth:`RunIndex.runs` (never the run folders) on :meth:`RunHistoryPanel.refresh`
and shows one row per run: Tree, Started (local time), Duration, Status, Instances, Tokens,
Cost and Mock. Display strings are made lazily in :meth:`RunHistoryModel.data`, so 10,000 runs
cost one list of dicts and no per-row widgets. Sorting uses :data:`SORT_ROLE` values (numbers
for numbers and times), so "Started" sorts by time and "Cost" by amount, not by text.

Statuses are the ones a user should see (:func:`effective_status`): a run recorded as running
whose process is gone shows as ``interrupted``. Colours: finished green, failed red, stopped,
paused and interrupted amber, running blue, waiting (for answers) purple.

Filters (all combined): the tree, the status, a date range (local days, both ends included;
it covers every run until the user narrows it) and a text searched, case-insensitively, in
the run id and the run's inputs JSON. Double-click or Enter on a row emits
:attr:`RunHistoryPanel.runActivated` with its run id.

**Live runs.** :meth:`RunHistoryPanel.follow_run` subscribes to a running :class:`Run`'s
events and keeps its row current from the run's own in-memory instances (counts, tokens,
cost, elapsed time) — never from the folders and not from the index either. Events only mark
the row stale; it is redrawn at most every :data:`LIVE_INTERVAL_MS`, so a run that finishes
thousands of instances a second costs a few row updates a second. When the run ends, the
panel re-reads the index (the finished row is the index's).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time as clock
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.engine import Run
from genarun_studio.engine import events as ev
from genarun_studio.store.history import effective_status
from genarun_studio.store.index import RunIndex

__all__ = [
    "COLUMNS",
    "LIVE_INTERVAL_MS",
    "SORT_ROLE",
    "RunFilter",
    "RunHistoryModel",
    "RunHistoryPanel",
    "cost_text",
    "duration_text",
]

COLUMNS = ("Tree", "Started", "Duration", "Status", "Instances", "Tokens", "Cost", "Mock")
TREE, STARTED, DURATION, STATUS, INSTANCES, TOKENS, COST, MOCK = range(len(COLUMNS))
SORT_ROLE = int(Qt.ItemDataRole.UserRole)
"""The role whose values the proxy sorts by: numbers for numeric columns, lowercase text else."""
RUN_ID_ROLE = SORT_ROLE + 1
"""The role that gives a row's run id, in every column."""
LIVE_INTERVAL_MS = 250
"""A live run's row is redrawn at most this often."""
EXTERNAL_POLL_MS = 2000
"""How often the shown panel checks whether another process wrote to the index."""

_STATUS_COLOURS = {
    "finished": QColor("#2e7d32"),
    "failed": QColor("#d32f2f"),
    "stopped": QColor("#c77700"),
    "paused": QColor("#c77700"),
    "interrupted": QColor("#c77700"),
    "running": QColor("#1565c0"),
    "waiting": QColor("#8e44ad"),
}
_NUMERIC = (DURATION, INSTANCES, TOKENS, COST)
"""Right-aligned columns (Started is a date: left-aligned, but sorted by time)."""
ModelIndex = QModelIndex | QPersistentModelIndex


def duration_text(seconds: float | None) -> str:
    """``0.05 s``, ``12.3 s``, ``3 m 05 s``, ``1 h 02 m``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} m {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} m"


def cost_text(usd: float) -> str:
    """Dollars: 4 decimals under $1 (``$0.0012``), 2 from $1 on (``$12.34``)."""
    return f"${usd:.4f}" if abs(usd) < 1 else f"${usd:,.2f}"


def _duration_of(row: dict[str, Any]) -> float | None:
    wall = row.get("wall_s")
    if wall is not None:
        return float(wall)
    started, ended = row.get("started_at"), row.get("ended_at")
    if started is not None and ended is not None:
        return max(0.0, float(ended) - float(started))
    return None


def _instances_text(row: dict[str, Any]) -> str:
    parts = [str(row["total"])]
    if row["failed"]:
        parts.append(f"{row['failed']} failed")
    if row["cached"]:
        parts.append(f"{row['cached']} cached")
    return " · ".join(parts)


class RunHistoryModel(QAbstractTableModel):
    """Runs as a table, in the order given (the index's: newest first).

    Each row is one dict of :meth:`RunIndex.runs` plus ``"effective_status"``, computed once
    in :meth:`set_runs`. Display text, colours and sort values are computed on demand.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._runs: list[dict[str, Any]] = []
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)

    def set_runs(self, runs: list[dict[str, Any]]) -> None:
        """Replace every row (a model reset), in the current sort order."""
        self.beginResetModel()
        self._runs = [{**row, "effective_status": effective_status(row)} for row in runs]
        self._apply_sort()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows by :data:`SORT_ROLE` values with one ``list.sort`` (stable: equal
        values keep the index's newest-first order). Sorting here, not in the proxy, keeps
        10,000 rows at a few milliseconds instead of ~150,000 Python ``data()`` calls."""
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        ids = [str(self._runs[i.row()]["run_id"]) for i in old]
        self._apply_sort()
        position = {str(run["run_id"]): row for row, run in enumerate(self._runs)}
        self.changePersistentIndexList(
            old, [self.index(position[i], o.column()) for i, o in zip(ids, old, strict=True)]
        )
        self.layoutChanged.emit()

    def _apply_sort(self) -> None:
        column, order = self._sort
        if column < 0:
            return
        value = self._sort_value
        self._runs.sort(
            key=lambda run: value(run, column), reverse=order == Qt.SortOrder.DescendingOrder
        )

    def run(self, row: int) -> dict[str, Any]:
        """The index row shown at source ``row`` (with ``effective_status``)."""
        return self._runs[row]

    def upsert_run(self, run: dict[str, Any]) -> int:
        """Replace the row of ``run["run_id"]`` (or insert it first); returns its source row.

        ``run`` must carry ``effective_status`` (a live row's status is the run's own)."""
        row = self.row_of(str(run["run_id"]))
        if row < 0:
            self.beginInsertRows(QModelIndex(), 0, 0)
            self._runs.insert(0, run)
            self.endInsertRows()
            return 0
        self._runs[row] = run
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1), [])
        return row

    @property
    def runs(self) -> list[dict[str, Any]]:
        return list(self._runs)

    def row_of(self, run_id: str) -> int:
        """The source row of ``run_id``, or -1."""
        for row, run in enumerate(self._runs):
            if run["run_id"] == run_id:
                return row
        return -1

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self._runs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(run, column)
        if role == SORT_ROLE:
            return self._sort_value(run, column)
        if role == RUN_ID_ROLE:
            return run["run_id"]
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS:
            return _STATUS_COLOURS.get(run["effective_status"])
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(run, column)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _display(run: dict[str, Any], column: int) -> str:
        if column == TREE:
            return str(run["tree_id"])
        if column == STARTED:
            started = run["started_at"]
            if started is None:
                return "—"
            return datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M:%S")
        if column == DURATION:
            return duration_text(_duration_of(run))
        if column == STATUS:
            return str(run["effective_status"])
        if column == INSTANCES:
            return _instances_text(run)
        if column == TOKENS:
            return f"{run['input_tokens'] + run['output_tokens']:,}"
        if column == COST:
            return cost_text(float(run["cost_usd"]))
        return "mock" if run["mock"] else ""

    @staticmethod
    def _sort_value(run: dict[str, Any], column: int) -> Any:
        if column == TREE:
            return str(run["tree_id"]).lower()
        if column == STARTED:
            return float(run["started_at"] or 0.0)
        if column == DURATION:
            duration = _duration_of(run)
            return -1.0 if duration is None else duration
        if column == STATUS:
            return str(run["effective_status"])
        if column == INSTANCES:
            return int(run["total"])
        if column == TOKENS:
            return int(run["input_tokens"] + run["output_tokens"])
        if column == COST:
            return float(run["cost_usd"])
        return int(bool(run["mock"]))

    @staticmethod
    def _tooltip(run: dict[str, Any], column: int) -> str | None:
        if column == TREE:
            name = run["tree_name"]
            return f"{name}\n{run['run_id']}" if name else str(run["run_id"])
        if column == INSTANCES:
            return (
                f"{run['total']} instances: {run['done']} done, {run['cached']} cached, "
                f"{run['failed']} failed, {run['skipped']} skipped"
            )
        if column == TOKENS:
            return f"{run['input_tokens']:,} in / {run['output_tokens']:,} out"
        if column == COST and run.get("est_cost_usd") is not None:
            return f"estimated {cost_text(float(run['est_cost_usd']))}"
        return None


class RunFilter(QSortFilterProxyModel):
    """Filters a :class:`RunHistoryModel` by tree id, effective status, start time range
    (``[start, end)`` in epoch seconds; runs without a start time always pass) and a text
    (case-insensitive, in the run id or the inputs JSON). ``None``/empty means "any"."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._tree: str | None = None
        self._status: str | None = None
        self._start: float | None = None
        self._end: float | None = None
        self._text = ""
        self.setSortRole(SORT_ROLE)

    def set_tree(self, tree_id: str | None) -> None:
        self.beginFilterChange()
        self._tree = tree_id or None
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_status(self, status: str | None) -> None:
        self.beginFilterChange()
        self._status = status or None
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_time_range(self, start: float | None, end: float | None) -> None:
        if (start, end) == (self._start, self._end):
            return  # refiltering 10,000 rows for nothing is most of a refresh
        self.beginFilterChange()
        self._start, self._end = start, end
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_text(self, text: str) -> None:
        self.beginFilterChange()
        self._text = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is the source model's (:meth:`RunHistoryModel.sort`); the proxy keeps its
        order and only filters."""
        model = self.sourceModel()
        assert isinstance(model, RunHistoryModel)
        model.sort(column, order)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        if (
            self._tree is None
            and self._status is None
            and self._start is None
            and self._end is None
            and not self._text
        ):
            return True
        model = self.sourceModel()
        assert isinstance(model, RunHistoryModel)
        run = model.run(source_row)
        if self._tree is not None and run["tree_id"] != self._tree:
            return False
        if self._status is not None and run["effective_status"] != self._status:
            return False
        started = run["started_at"]
        if started is not None:
            if self._start is not None and started < self._start:
                return False
            if self._end is not None and started >= self._end:
                return False
        if not self._text:
            return True
        return self._text in run["run_id"].lower() or self._text in run["inputs_json"].lower()


def _epoch(day: date) -> float:
    """Local midnight starting ``day``, in epoch seconds."""
    return datetime.combine(day, time()).timestamp()


class RunHistoryPanel(QWidget):
    """The run history panel: filters on top, the table of runs below.

    Backed only by a :class:`RunIndex`: :meth:`refresh` re-reads :meth:`RunIndex.runs`
    (newest first) and keeps the selected run, the tree and status choices and a date range
    the user narrowed; an untouched date range grows to cover every run. Without an index
    the table is empty. :attr:`runActivated` carries the run id of a row double-clicked or
    entered (Return/Enter).
    """

    runActivated = Signal(str)

    def __init__(self, index: RunIndex | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._index = index
        self._dates_narrowed = False
        self._live: Run | None = None
        self._live_started: float | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_INTERVAL_MS)
        self._live_timer.timeout.connect(self._update_live)
        # runs of other processes (a terminal's `genarun run` or `resume`) show up by
        # themselves: a cheap check of the index's data version, only while shown
        self._seen_version: int | None = None
        self._external_timer = QTimer(self)
        self._external_timer.setInterval(EXTERNAL_POLL_MS)
        self._external_timer.timeout.connect(self.check_external)
        self._external_timer.start()
        self.model = RunHistoryModel(self)
        self.proxy = RunFilter(self)
        self.proxy.setSourceModel(self.model)

        self.tree_combo = QComboBox(self)
        self.tree_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.tree_combo.setToolTip("Show the runs of one tree")
        self.status_combo = QComboBox(self)
        self.status_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.status_combo.setToolTip("Show the runs with one status")
        self.from_date = self._date_edit("Show runs started on or after this day")
        self.to_date = self._date_edit("Show runs started on or before this day")
        self.text_filter = QLineEdit(self)
        self.text_filter.setPlaceholderText("Search run ids and inputs…")
        self.text_filter.setClearButtonEnabled(True)
        self.count_label = QLabel(self)
        self.count_label.setEnabled(False)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setToolTip("Read the run history again from the project's index")

        self.view = QTableView(self)
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        self.view.setSortingEnabled(True)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.view.setStyleSheet("QTableView::item { padding: 0 8px; }")
        header = self.view.horizontalHeader()
        header.setHighlightSections(False)
        header.setStyleSheet("QHeaderView::section { padding: 0 8px; }")
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        metrics = self.fontMetrics()
        for column, sample in (
            (TREE, "photo-exhibition"),
            (STARTED, "0000-00-00 00:00:00"),
            (DURATION, "00 m 00 s"),
            (STATUS, "interrupted"),
            (INSTANCES, "000 · 0 failed · 00 cached"),
            (TOKENS, "000,000"),
            (COST, "$0.0000"),
        ):
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 36)
        self.view.sortByColumn(STARTED, Qt.SortOrder.DescendingOrder)

        open_run = QAction("Open run", self.view)
        open_run.triggered.connect(self._activate_current)
        self.view.addAction(open_run)
        self.view.installEventFilter(self)  # Return/Enter opens the current run
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(6)
        bar.addWidget(self.tree_combo)
        bar.addWidget(self.status_combo)
        bar.addWidget(QLabel("From", self))
        bar.addWidget(self.from_date)
        bar.addWidget(QLabel("to", self))
        bar.addWidget(self.to_date)
        bar.addWidget(self.text_filter, 1)
        bar.addWidget(self.count_label)
        bar.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        self.tree_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_tree(self.tree_combo.currentData())
        )
        self.status_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_status(self.status_combo.currentData())
        )
        self.from_date.dateChanged.connect(self._on_date_edited)
        self.to_date.dateChanged.connect(self._on_date_edited)
        self.text_filter.textChanged.connect(self.proxy.set_text)
        self.refresh_button.clicked.connect(self.refresh)
        self.view.doubleClicked.connect(self._activate)
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset):
            signal.connect(self._update_count)
        self.model.modelReset.connect(self._update_count)
        self.refresh()

    # -- data ----------------------------------------------------------------------------

    @property
    def index(self) -> RunIndex | None:
        return self._index

    def set_index(self, index: RunIndex | None) -> None:
        """Show the runs of another index (``None``: none); the date range covers them all."""
        self._index = index
        self._dates_narrowed = False
        self.refresh()

    def check_external(self) -> bool:
        """Refresh when another process changed the index since the last look (while the
        panel is shown); True when it did."""
        if self._index is None or not self.isVisible():
            return False
        try:
            version = self._index.data_version()
        except sqlite3.Error:
            return False
        if version == self._seen_version:
            return False
        self.refresh()
        return True

    def refresh(self) -> None:
        """Re-read every run from the index, newest first; keep the selection and filters."""
        selected = self.selected_run_id()
        if self._index is not None:
            with contextlib.suppress(sqlite3.Error):
                self._seen_version = self._index.data_version()
        runs = self._index.runs() if self._index is not None else []
        self.model.set_runs(runs)
        self._fill_combo(
            self.tree_combo, "All trees", sorted({str(r["tree_id"]) for r in runs}, key=str.lower)
        )
        self._fill_combo(
            self.status_combo,
            "All statuses",
            sorted({str(r["effective_status"]) for r in self.model.runs}),
        )
        if not self._dates_narrowed:
            self._cover_all_dates()
        if self._live is not None:
            self._update_live()
        if selected is not None:
            self.select_run(selected)
        self._update_count()

    # -- live runs -----------------------------------------------------------------------

    @property
    def live_run_id(self) -> str | None:
        """The run followed live, or ``None``."""
        return self._live.id if self._live is not None else None

    def follow_run(self, run: object) -> None:
        """Keep ``run``'s row (a :class:`Run`) current while it goes (see the module
        docstring); the row appears at once. Following another run stops following this one."""
        assert isinstance(run, Run)
        self.stop_following()
        self._live = run
        self._live_started = None
        self._unsubscribe = run.subscribe(self._on_live_event)
        self._update_live()

    def stop_following(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = None
        self._live = None
        self._live_timer.stop()

    def _on_live_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self._live_started = event.at
        if isinstance(event, ev.RunFinished):
            self.stop_following()
            self.refresh()  # the finished row as the index holds it
            return
        if not self._live_timer.isActive():
            self._live_timer.start()

    def _update_live(self) -> None:
        run = self._live
        if run is None:
            return
        counts = Counter(i.state for i in run.instances.values())
        started = self._live_started
        if started is None:
            source = self.model.row_of(run.id)
            started = self.model.run(source)["started_at"] if source >= 0 else None
            self._live_started = started = started or clock.time()
        usage = run.usage
        row = {
            "run_id": run.id,
            "tree_id": run.tree_id,
            "tree_name": run.tree.name or "",
            "status": "paused" if run.paused else "running",
            "effective_status": "paused" if run.paused else "running",
            "mock": 1 if run.mock else 0,
            "seed": run.seed,
            "started_at": started,
            "ended_at": None,
            "wall_s": max(0.0, clock.time() - started),
            "total": len(run.instances),
            "done": counts["done"],
            "cached": counts["cached"],
            "failed": counts["failed"],
            "skipped": counts["skipped"],
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "images": usage.images,
            "cost_usd": run.cost_usd,
            "inputs_json": json.dumps(run.inputs, ensure_ascii=False, default=str),
            "run_dir": str(run.folder.path),
            "est_cost_usd": None,
        }
        self.model.upsert_run(row)
        self._update_count()

    # -- filters -------------------------------------------------------------------------

    def set_tree_filter(self, tree_id: str | None) -> None:
        """Show only the runs of ``tree_id`` (``None``: all trees)."""
        self._choose(self.tree_combo, tree_id)

    def set_status_filter(self, status: str | None) -> None:
        """Show only runs with this effective status (``None``: all)."""
        self._choose(self.status_combo, status)

    def set_date_range(self, first: date | None, last: date | None) -> None:
        """Show runs started from local day ``first`` to ``last``, both included; ``None``
        for both resets the range to cover every run."""
        if first is None and last is None:
            self._dates_narrowed = False
            self._cover_all_dates()
            return
        for edit, day in ((self.from_date, first), (self.to_date, last)):
            if day is not None:
                edit.setDate(QDate(day.year, day.month, day.day))

    def set_text_filter(self, text: str) -> None:
        self.text_filter.setText(text)

    # -- reading -------------------------------------------------------------------------

    def visible_runs(self) -> list[dict[str, Any]]:
        """The runs the filters let through, in display order."""
        return [
            self.model.run(self.proxy.mapToSource(self.proxy.index(row, 0)).row())
            for row in range(self.proxy.rowCount())
        ]

    def selected_run_id(self) -> str | None:
        """The run id of the selected row, or ``None``."""
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        return str(rows[0].data(RUN_ID_ROLE))

    def selected_run_ids(self) -> list[str]:
        """The run ids of every selected row, in display order (several for compare and
        delete: Ctrl/Shift-click)."""
        rows = sorted(self.view.selectionModel().selectedRows(), key=lambda i: i.row())
        return [str(index.data(RUN_ID_ROLE)) for index in rows]

    def select_runs(self, run_ids: list[str]) -> None:
        """Select these runs (those the filters let through)."""
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        selection = QItemSelection()
        for run_id in run_ids:
            source_row = self.model.row_of(run_id)
            if source_row < 0:
                continue
            index = self.proxy.mapFromSource(self.model.index(source_row, 0))
            if index.isValid():
                selection.select(index, index)
        flags = (
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows
        )
        self.view.selectionModel().select(selection, flags)

    def select_run(self, run_id: str) -> bool:
        """Select and show ``run_id`` if a filter lets it through; whether it did."""
        source_row = self.model.row_of(run_id)
        if source_row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(source_row, 0))
        if not index.isValid():
            return False
        self.view.selectRow(index.row())
        self.view.scrollTo(index)
        return True

    # -- internals -----------------------------------------------------------------------

    def _date_edit(self, tooltip: str) -> QDateEdit:
        edit = QDateEdit(self)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setToolTip(tooltip)
        return edit

    @staticmethod
    def _fill_combo(combo: QComboBox, all_label: str, values: list[str]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(all_label, None)
        for value in values:
            combo.addItem(value, value)
        if current is not None and current not in values:
            combo.addItem(current, current)  # keep the user's choice (it shows no runs)
        combo.setCurrentIndex(max(0, combo.findData(current)))
        combo.blockSignals(False)

    @staticmethod
    def _choose(combo: QComboBox, value: str | None) -> None:
        position = combo.findData(value)
        if position < 0:
            assert value is not None
            combo.addItem(value, value)
            position = combo.count() - 1
        combo.setCurrentIndex(position)

    def _cover_all_dates(self) -> None:
        starts = [r["started_at"] for r in self.model.runs if r["started_at"] is not None]
        today = date.today()
        first = datetime.fromtimestamp(min(starts)).date() if starts else today
        last = datetime.fromtimestamp(max(starts)).date() if starts else today
        for edit, day in ((self.from_date, first), (self.to_date, max(first, last))):
            edit.blockSignals(True)
            edit.setDate(QDate(day.year, day.month, day.day))
            edit.blockSignals(False)
        self.proxy.set_time_range(None, None)  # the dates shown cover every run

    def _on_date_edited(self, _date: QDate) -> None:
        self._dates_narrowed = True
        self._apply_dates()

    def _apply_dates(self) -> None:
        first: date = self.from_date.date().toPython()
        last: date = self.to_date.date().toPython()
        self.proxy.set_time_range(_epoch(first), _epoch(last + timedelta(days=1)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.view
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self.view.currentIndex().isValid()
        ):
            self._activate_current()
            return True
        return super().eventFilter(watched, event)

    def _activate(self, index: QModelIndex) -> None:
        if index.isValid():
            self.runActivated.emit(str(index.data(RUN_ID_ROLE)))

    def _activate_current(self) -> None:
        self._activate(self.view.currentIndex())

    def _update_count(self, *_args: object) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        noun = "run" if total == 1 else "runs"
        self.count_label.setText(f"{shown} of {total} {noun}")
