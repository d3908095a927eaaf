"""What runs cost: per run, per tree, per model and per day, estimated beside actual.

:class:`CostView` reads the project's :class:`RunIndex` (``runs()``, ``cost_by_tree()``,
``cost_by_model()``, ``cost_by_day()``, ``node_stats()``) each time it is shown or refreshed;
nothing is read from the run folders except to estimate a run.

*Actual* is what the providers' reported usage cost at the pricing table's prices (mock
runs cost nothing). *Estimated* is a dry run of the run's own snapshot, inputs and seed
(:func:`~genarun_studio.engine.estimate.estimate_run`): "Estimate" runs it on a worker
thread, records the total in the index and shows it per node beside the actual cost. Sums
of estimates count only the runs that have one (the tables say how many).

The "By day" tab draws the last :data:`CHART_DAYS` days with runs as bars (actual, and
estimated as an outline) with :class:`QPainter`: PySide6-Essentials has no QtCharts.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.qt.panels.history import cost_text
from genarun_studio.store.index import RunIndex

__all__ = ["CHART_DAYS", "Column", "CostChart", "CostView", "RowsModel"]

CHART_DAYS = 30
SORT_ROLE = int(Qt.ItemDataRole.UserRole)
ModelIndex = QModelIndex | QPersistentModelIndex
ACTUAL_COLOUR = QColor("#2f81f7")
ESTIMATE_COLOUR = QColor("#d29922")


@dataclass(frozen=True)
class Column:
    """A table column: its title, the row key it shows and how (``text``, ``int``,
    ``usd``, ``usd?`` (a cost that may be unknown: ``—``) or ``time``)."""

    title: str
    key: str
    kind: str = "text"


def _display(value: Any, kind: str) -> str:
    if kind == "usd?" and value is None:
        return "—"
    if kind in ("usd", "usd?"):
        return cost_text(float(value or 0.0))
    if kind == "int":
        return f"{int(value or 0):,}"
    if kind == "time":
        return datetime.fromtimestamp(float(value)).strftime("%Y-%m-%d %H:%M") if value else "—"
    return "" if value is None else str(value)


class RowsModel(QAbstractTableModel):
    """Rows (dicts) under :class:`Column` s; display text made on demand, so 10,000 runs
    cost one list."""

    def __init__(self, columns: list[Column], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.rows: list[dict[str, Any]] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self.columns[index.column()]
        value = self.rows[index.row()].get(column.key)
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(value, column.kind)
        if role == SORT_ROLE:
            if column.kind == "text":
                return str(value or "").lower()
            return float(value) if value is not None else -1.0
        if role == Qt.ItemDataRole.TextAlignmentRole and column.kind != "text":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _table(
    parent: QWidget,
    model: RowsModel,
    sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder),
) -> QTableView:
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    view = QTableView(parent)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(*sort)  # -1: the index's own order
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    for column, spec in enumerate(model.columns):
        sample = {
            "run_id": "photo-exhibition/2026-01-01_00-00-00",
            "started_at": "2026-01-01 00:00",
        }.get(spec.key, spec.title)
        header.resizeSection(column, view.fontMetrics().horizontalAdvance(sample) + 40)
    return view


class CostChart(QWidget):
    """Bars per day: actual cost filled, the estimate as an outline beside it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.days: list[dict[str, Any]] = []
        self.setMinimumHeight(160)

    def set_days(self, days: list[dict[str, Any]]) -> None:
        self.days = days[-CHART_DAYS:]
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(600, 200)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        text = self.palette().windowText().color()
        metrics = self.fontMetrics()
        left, bottom, top = 8 + metrics.horizontalAdvance("$0,000.00"), metrics.height() + 8, 12
        plot = QRectF(left, top, self.width() - left - 8, self.height() - top - bottom)
        if not self.days:
            painter.setPen(text)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No runs yet")
            return
        peak = max(max(float(d["cost_usd"] or 0), float(d["est_cost_usd"] or 0)) for d in self.days)
        peak = peak or 1.0
        painter.setPen(QPen(text.darker(150), 0))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        painter.drawText(
            QRectF(0, top - metrics.height() / 2, left - 6, metrics.height()),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            cost_text(peak),
        )
        slot = plot.width() / len(self.days)
        bar = max(2.0, slot * 0.35)
        label_every = max(1, int(metrics.horizontalAdvance("00-00 ") / max(slot, 1.0)) + 1)
        for n, day in enumerate(self.days):
            x = plot.left() + n * slot + slot / 2
            actual = float(day["cost_usd"] or 0.0) / peak * plot.height()
            painter.fillRect(QRectF(x - bar, plot.bottom() - actual, bar, actual), ACTUAL_COLOUR)
            if day.get("est_cost_usd") is not None:
                estimate = float(day["est_cost_usd"]) / peak * plot.height()
                painter.setPen(QPen(ESTIMATE_COLOUR, 1.5))
                painter.drawRect(QRectF(x, plot.bottom() - estimate, bar, estimate))
            if n % label_every == 0:
                painter.setPen(text)
                painter.drawText(
                    QRectF(
                        x - slot * label_every / 2, plot.bottom() + 2, slot * label_every, bottom
                    ),
                    int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop),
                    str(day["day"])[5:],
                )
        painter.end()


class _EstimateSignals(QObject):
    done = Signal(str, object)
    """run id, RunEstimate or the error message (str)."""


RUN_COLUMNS = [
    Column("Run", "run_id"),
    Column("Started", "started_at", "time"),
    Column("Status", "status"),
    Column("Instances", "total", "int"),
    Column("Tokens", "tokens", "int"),
    Column("Actual", "cost_usd", "usd"),
    Column("Estimated", "est_cost_usd", "usd?"),
]
TREE_COLUMNS = [
    Column("Tree", "tree_id"),
    Column("Runs", "runs", "int"),
    Column("Instances", "instances", "int"),
    Column("Tokens", "tokens", "int"),
    Column("Actual", "cost_usd", "usd"),
    Column("Estimated", "est_cost_usd", "usd?"),
    Column("Runs estimated", "estimated_runs", "int"),
]
MODEL_COLUMNS = [
    Column("Model", "model"),
    Column("Instances", "instances", "int"),
    Column("Runs", "runs", "int"),
    Column("Input tokens", "input_tokens", "int"),
    Column("Output tokens", "output_tokens", "int"),
    Column("Images", "images", "int"),
    Column("Actual", "cost_usd", "usd"),
]
DAY_COLUMNS = [
    Column("Day", "day"),
    Column("Runs", "runs", "int"),
    Column("Actual", "cost_usd", "usd"),
    Column("Estimated", "est_cost_usd", "usd?"),
    Column("Runs estimated", "estimated_runs", "int"),
]
NODE_COLUMNS = [
    Column("Node", "node_id"),
    Column("Instances", "instances", "int"),
    Column("Tokens", "tokens", "int"),
    Column("Actual", "cost_usd", "usd"),
    Column("Estimated", "est_cost_usd", "usd?"),
]


class CostView(QWidget):
    """The Costs tab (see the module docstring)."""

    estimated = Signal(str)
    """A run's estimate arrived (or failed: :attr:`last_error` says why)."""

    def __init__(self, index: RunIndex | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._index = index
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._signals = _EstimateSignals(self)
        self._signals.done.connect(self._on_estimate)
        self.last_error = ""
        self.estimating: set[str] = set()

        self.totals = QLabel(self)
        self.totals.setTextFormat(Qt.TextFormat.RichText)
        self.refresh_button = QPushButton("Refresh", self)
        self.estimate_button = QPushButton("Estimate selected run", self)
        self.estimate_button.setToolTip(
            "Dry-run the selected run's tree with its inputs and seed at the real models' "
            "prices (nothing is called) and record the estimate"
        )
        self.runs = RowsModel(RUN_COLUMNS, self)
        self.trees = RowsModel(TREE_COLUMNS, self)
        self.models = RowsModel(MODEL_COLUMNS, self)
        self.days = RowsModel(DAY_COLUMNS, self)
        self.nodes = RowsModel(NODE_COLUMNS, self)
        self.run_table = _table(self, self.runs, (1, Qt.SortOrder.DescendingOrder))
        self.node_table = _table(self, self.nodes)
        self.node_label = QLabel("Choose a run to see its cost per node", self)
        self.chart = CostChart(self)

        run_split = QSplitter(Qt.Orientation.Horizontal, self)
        run_split.addWidget(self.run_table)
        node_box = QWidget(self)
        node_layout = QVBoxLayout(node_box)
        node_layout.setContentsMargins(0, 0, 0, 0)
        node_layout.addWidget(self.node_label)
        node_layout.addWidget(self.node_table, 1)
        run_split.addWidget(node_box)
        run_split.setSizes([620, 380])
        day_split = QSplitter(Qt.Orientation.Horizontal, self)
        day_split.addWidget(self.chart)
        day_split.addWidget(_table(self, self.days))
        day_split.setSizes([600, 400])
        self.tabs = QTabWidget(self)
        self.tabs.addTab(run_split, "By run")
        self.tabs.addTab(_table(self, self.trees), "By tree")
        self.tabs.addTab(_table(self, self.models), "By model")
        self.tabs.addTab(day_split, "By day")

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.totals, 1)
        bar.addWidget(self.estimate_button)
        bar.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)

        self.refresh_button.clicked.connect(self.refresh)
        self.estimate_button.clicked.connect(lambda: self.estimate(self.selected_run_id()))
        self.run_table.selectionModel().currentRowChanged.connect(
            lambda _c, _p: self._show_nodes(self.selected_run_id())
        )
        self.refresh()

    # -- data ----------------------------------------------------------------------------

    def set_index(self, index: RunIndex | None) -> None:
        self._index = index
        self.refresh()

    def refresh(self) -> None:
        """Read every table from the index again (keeps the selected run)."""
        selected = self.selected_run_id()
        index = self._index
        runs = index.runs() if index is not None else []
        for row in runs:
            row["tokens"] = int(row["input_tokens"]) + int(row["output_tokens"])
        self.runs.set_rows(runs)
        trees = index.cost_by_tree() if index is not None else []
        for row in trees:
            row["tokens"] = int(row["input_tokens"] or 0) + int(row["output_tokens"] or 0)
        self.trees.set_rows(trees)
        models = index.cost_by_model() if index is not None else []
        for row in models:
            row["model"] = row["model"] or "(no model call)"
        self.models.set_rows(models)
        days = index.cost_by_day() if index is not None else []
        self.days.set_rows(days)
        self.chart.set_days(days)
        actual = sum(float(r["cost_usd"] or 0.0) for r in runs)
        estimated = [r for r in runs if r.get("est_cost_usd") is not None]
        parts = [f"<b>{cost_text(actual)}</b> actual over {len(runs):,} runs"]
        if estimated:
            est = sum(float(r["est_cost_usd"]) for r in estimated)
            est_actual = sum(float(r["cost_usd"] or 0.0) for r in estimated)
            parts.append(
                f"{cost_text(est)} estimated for {len(estimated):,} of them "
                f"(actual {cost_text(est_actual)})"
            )
        mock = sum(1 for r in runs if r["mock"])
        if mock:
            parts.append(f"{mock:,} mock runs (free)")
        self.totals.setText(" · ".join(parts))
        if selected is not None:
            self.select_run(selected)
        self._show_nodes(self.selected_run_id())

    def totals_by(self, model: RowsModel, key: str = "cost_usd") -> float:
        """The sum of a column of one of the tables (for checks and the status line)."""
        return sum(float(row.get(key) or 0.0) for row in model.rows)

    # -- selection -----------------------------------------------------------------------

    def selected_run_id(self) -> str | None:
        index = self.run_table.currentIndex()
        if not index.isValid():
            return None
        proxy = self.run_table.model()
        assert isinstance(proxy, QSortFilterProxyModel)
        return str(self.runs.rows[proxy.mapToSource(index).row()]["run_id"])

    def select_run(self, run_id: str) -> bool:
        proxy = self.run_table.model()
        assert isinstance(proxy, QSortFilterProxyModel)
        for row, run in enumerate(self.runs.rows):
            if run["run_id"] == run_id:
                self.run_table.setCurrentIndex(proxy.mapFromSource(self.runs.index(row, 0)))
                return True
        return False

    def _show_nodes(self, run_id: str | None) -> None:
        if run_id is None or self._index is None:
            self.nodes.set_rows([])
            self.node_label.setText("Choose a run to see its cost per node")
            return
        estimates = self._index.node_estimates(run_id)
        rows = []
        for node in self._index.node_stats(run_id):
            rows.append(
                {
                    "node_id": node["node_id"],
                    "instances": node["instances"],
                    "tokens": int(node["input_tokens"] or 0) + int(node["output_tokens"] or 0),
                    "cost_usd": node["cost_usd"],
                    "est_cost_usd": estimates.get(str(node["node_id"])) if estimates else None,
                }
            )
        self.nodes.set_rows(rows)
        note = "" if estimates else " (Estimate to see the dry run's figures beside them)"
        if run_id in self.estimating:
            note = " (estimating…)"
        self.node_label.setText(f"<b>{run_id}</b> per node{note}")

    # -- estimates -----------------------------------------------------------------------

    def estimate(self, run_id: str | None) -> bool:
        """Start a dry-run estimate of ``run_id`` on a worker thread; :attr:`estimated`
        is emitted when it is recorded. False when there is nothing to estimate."""
        if run_id is None or self._index is None or run_id in self.estimating:
            return False
        run = self._index.run(run_id)
        if run is None:
            return False
        run_dir = Path(str(run["run_dir"]))
        project_root = self._index.path.parent.parent
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="genarun-estimate"
            )
        from genarun_studio.engine.estimate import estimate_run

        self.estimating.add(run_id)
        future = self._executor.submit(estimate_run, run_dir, project_root)
        signals = self._signals

        def report(done: concurrent.futures.Future[Any]) -> None:
            error = done.exception()
            result: object = f"{type(error).__name__}: {error}" if error else done.result()
            with contextlib.suppress(RuntimeError):  # RuntimeError: the view is gone
                signals.done.emit(run_id, result)

        future.add_done_callback(report)
        self._show_nodes(self.selected_run_id())
        return True

    def _on_estimate(self, run_id: str, result: object) -> None:
        self.estimating.discard(run_id)
        if isinstance(result, str):
            self.last_error = result
            self.totals.setText(f'<span style="color:#d32f2f">Estimate failed: {result}</span>')
        elif self._index is not None:
            from genarun_studio.store.rebuild import save_estimate

            per_node = dict(getattr(result, "per_node", {}))
            total = float(getattr(result, "total_usd", 0.0))
            self._index.set_estimate(run_id, total, per_node)
            row = self._index.run(run_id)
            if row is not None:  # kept in the run folder too: `genarun runs rebuild` finds it
                try:
                    save_estimate(Path(row["run_dir"]), total, per_node)
                except OSError as exc:
                    self.last_error = f"the estimate is not kept in the run folder: {exc}"
            self.refresh()
        self.estimated.emit(run_id)

    def shutdown(self) -> None:
        """Wait for an estimate in progress (before the view goes away)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def closeEvent(self, event: Any) -> None:
        self.shutdown()
        super().closeEvent(event)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.refresh()
