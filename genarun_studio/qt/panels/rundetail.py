"""One run in detail: a header line and five tabs (Timeline, Nodes, Output, Errors, Logs).

:class:`RunDetail` reads a run from the project's :class:`RunIndex` (``run``, ``instances``
and ``node_stats``) and its ``output.json`` from the run folder, on :meth:`RunDetail.show_run`.
Nothing is re-read until the next ``show_run``.

* **Timeline** — a Gantt chart: one bar per instance with both ``started_at`` and
  ``ended_at`` (a cached instance with either gets a thin bar; one that started and never
  ended — waiting for a person, or cut off by a kill — reaches the run's end), x =
  seconds since the run's first start, scaled so the run spans :data:`TIMELINE_WIDTH`
  pixels; bars are at least :data:`MIN_BAR_WIDTH` wide. Rows are grouped by lane (labels
  on the left); inside a lane, bars are packed greedily into sub-rows so no two bars of one
  sub-row overlap on screen.
  Bars are coloured by state with :data:`~genarun_studio.qt.canvas.STATE_COLORS`.
* **Nodes** — one row per node of :meth:`RunIndex.node_stats`, sortable by value.
* **Output** — ``output.json`` as an expandable tree (at most :data:`MAX_CHILDREN` children
  per node), or a message when the file is missing or unreadable.
* **Errors** — the failed instances (key and error), or "No failures".
* **Logs** — :class:`~genarun_studio.qt.panels.runlogs.RunLogs`: per instance the prompt, the raw
  answer, errors and log lines, filterable. Read from ``logs.json`` (or the journal) only
  when the tab is first shown for a run, so opening a big run stays fast.
"""

from __future__ import annotations

import html
import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.qt.canvas.style import STATE_COLORS
from genarun_studio.qt.panels.history import cost_text, duration_text
from genarun_studio.store.index import RunIndex

__all__ = [
    "MAX_CHILDREN",
    "MIN_BAR_WIDTH",
    "NODE_COLUMNS",
    "TIMELINE_WIDTH",
    "RunDetail",
    "pack_rows",
]

TIMELINE_WIDTH = 900.0
"""Pixels the whole run spans on the timeline."""
MIN_BAR_WIDTH = 2.0
LABEL_WIDTH = 90.0
AXIS_HEIGHT = 24.0
ROW_HEIGHT = 16.0
ROW_GAP = 4.0
LANE_GAP = 8.0
BAR_GAP = 1.0
"""Horizontal pixels kept free between two bars of one sub-row."""
MAX_CHILDREN = 500
"""Children shown per object or array in the Output tree; the rest is summarised."""
KEY_ROLE = int(Qt.ItemDataRole.UserRole)
"""Bar data: the instance key (``QGraphicsItem.data(0)``); lane is 1, sub-row 2."""
SORT_ROLE = int(Qt.ItemDataRole.UserRole)

NODE_COLUMNS = (
    "Node", "Instances", "Done", "Cached", "Failed", "Total", "Mean", "Tokens", "Retries", "Cost",
)  # fmt: skip
_LANE_ORDER = ("text", "image", "local", "http", "human")
_STATUS_COLOURS = {
    "finished": "#2e7d32",
    "failed": "#d32f2f",
    "stopped": "#c77700",
    "paused": "#c77700",
    "interrupted": "#c77700",
    "running": "#1565c0",
    "waiting": "#8e44ad",
}


def pack_rows(spans: list[tuple[float, float]], gap: float = BAR_GAP) -> list[int]:
    """Greedy interval packing: the sub-row of each ``(start, end)`` span, in input order.

    Spans are placed by start; each goes to the first sub-row whose last span ends at least
    ``gap`` before it starts, or a new sub-row. Two spans of one sub-row never overlap.
    """
    rows: list[int] = [0] * len(spans)
    ends: list[float] = []
    for position in sorted(range(len(spans)), key=lambda i: spans[i]):
        start, end = spans[position]
        for row, last in enumerate(ends):
            if last + gap <= start:
                ends[row] = end
                rows[position] = row
                break
        else:
            rows[position] = len(ends)
            ends.append(end)
    return rows


def _nice_step(span: float, ticks: int = 8) -> float:
    """A 1/2/5 × 10ⁿ step giving about ``ticks`` ticks over ``span``."""
    raw = max(span, 1e-9) / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return float(factor * power)
    return float(10 * power)  # pragma: no cover


def _seconds_label(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{value:.{decimals}f} s"


class _SortItem(QTableWidgetItem):
    """A table cell sorted by its :data:`SORT_ROLE` value (numbers for numeric columns)."""

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, QTableWidgetItem):
            return NotImplemented
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is None or theirs is None:
            return super().__lt__(other)
        return bool(mine < theirs)


class RunDetail(QWidget):
    """The detail of one run of a :class:`RunIndex` (see the module docstring).

    :meth:`show_run` fills every tab and returns whether the index knows the run (without an
    index, or for an unknown run, the widget is cleared and ``False`` returned);
    :meth:`clear` empties it.
    """

    def __init__(self, index: RunIndex | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._index = index
        self._run_id: str | None = None
        self._bars: list[QGraphicsRectItem] = []
        self._failures: list[tuple[str, str]] = []

        self.header = QLabel(self)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.scene = QGraphicsScene(self)
        self.timeline = QGraphicsView(self.scene, self)
        self.timeline.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.timeline.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # the application's palette (light or the editor's dark one), not a fixed white
        self.timeline.setBackgroundBrush(self.palette().brush(QPalette.ColorRole.Base))

        self.nodes = QTableWidget(0, len(NODE_COLUMNS), self)
        self.nodes.setHorizontalHeaderLabels(list(NODE_COLUMNS))
        self.nodes.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.nodes.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.nodes.setAlternatingRowColors(True)
        self.nodes.setShowGrid(False)
        self.nodes.setWordWrap(False)
        self.nodes.verticalHeader().hide()
        self.nodes.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        nodes_header = self.nodes.horizontalHeader()
        nodes_header.setHighlightSections(False)
        nodes_header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        nodes_header.setStretchLastSection(True)

        self.output_tree = QTreeWidget(self)
        self.output_tree.setColumnCount(2)
        self.output_tree.setHeaderLabels(["Key", "Value"])
        self.output_tree.setUniformRowHeights(True)
        self.output_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.output_tree.header().resizeSection(0, 220)
        self.output_message = QLabel(self)
        self.output_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.output_message.setWordWrap(True)
        self.output_stack = QStackedWidget(self)
        self.output_stack.addWidget(self.output_message)
        self.output_stack.addWidget(self.output_tree)

        self.errors = QListWidget(self)
        self.errors.setWordWrap(True)
        self.errors.setAlternatingRowColors(True)

        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.timeline, "Timeline")
        self.tabs.addTab(self.nodes, "Nodes")
        self.tabs.addTab(self.output_stack, "Output")
        self.tabs.addTab(self.errors, "Errors")
        from genarun_studio.qt.panels.runlogs import RunLogs

        self.logs = RunLogs(self)
        self.tabs.addTab(self.logs, "Logs")
        self._logs_dir: Path | None = None
        self.tabs.currentChanged.connect(self._load_logs_if_shown)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.header)
        layout.addWidget(self.tabs, 1)
        self.clear()

    # -- public ----------------------------------------------------------------------------

    @property
    def index(self) -> RunIndex | None:
        return self._index

    def set_index(self, index: RunIndex | None) -> None:
        """Read runs from another index (``None``: none); clears the widget."""
        self._index = index
        self.clear()

    @property
    def run_id(self) -> str | None:
        """The run shown, or ``None``."""
        return self._run_id

    def show_run(self, run_id: str) -> bool:
        """Show ``run_id``; ``False`` (and a cleared widget) when the index has no such run."""
        run = self._index.run(run_id) if self._index is not None else None
        if self._index is None or run is None:
            self.clear()
            if self._index is not None:
                self.header.setText(f"No run <b>{html.escape(run_id)}</b> in this project")
            return False
        instances = self._index.instances(run_id)
        self._run_id = run_id
        self._fill_header(run)
        self._fill_timeline(run, instances)
        self._fill_nodes(self._index.node_stats(run_id))
        self._fill_output(Path(str(run["run_dir"])) / "output.json")
        self._fill_errors(instances)
        self._logs_dir = Path(str(run["run_dir"]))
        self.logs.clear("")
        self._load_logs_if_shown()
        return True

    def show_logs(self) -> None:
        """Raise the Logs tab (reading the run's logs if not read yet)."""
        self.tabs.setCurrentWidget(self.logs)
        self._load_logs_if_shown()

    def _load_logs_if_shown(self, *_args: object) -> None:
        if self.tabs.currentWidget() is self.logs and self._logs_dir is not None:
            directory, self._logs_dir = self._logs_dir, None
            self.logs.load(directory, self._run_id or "")

    def clear(self) -> None:
        """Show no run: empty header, timeline, tables and lists."""
        self._run_id = None
        self.header.setText("<i>No run selected</i>")
        self.scene.clear()
        self._bars = []
        self.nodes.setSortingEnabled(False)
        self.nodes.setRowCount(0)
        self.output_tree.clear()
        self.output_message.setText("No run selected")
        self.output_stack.setCurrentWidget(self.output_message)
        self._failures = []
        self.errors.clear()
        self.tabs.setTabText(3, "Errors")
        self._logs_dir = None
        self.logs.clear()

    def timeline_bars(self) -> list[QGraphicsRectItem]:
        """The timeline's bars, one per drawn instance. Each bar's ``data(0)`` is the instance
        key, ``data(1)`` its lane and ``data(2)`` its sub-row inside the lane."""
        return list(self._bars)

    def failures(self) -> list[tuple[str, str]]:
        """The failed instances shown under Errors, as ``(key, error)``."""
        return list(self._failures)

    def output_top_keys(self) -> list[str]:
        """The labels of the Output tree's top-level items."""
        root = self.output_tree.invisibleRootItem()
        return [root.child(i).text(0) for i in range(root.childCount())]

    # -- header ----------------------------------------------------------------------------

    def _fill_header(self, run: dict[str, Any]) -> None:
        status = str(run["status"])
        colour = _STATUS_COLOURS.get(status, "#555555")
        started = run.get("started_at")
        started_text = (
            datetime.fromtimestamp(float(started)).strftime("%Y-%m-%d %H:%M:%S")
            if started is not None
            else "—"
        )
        wall = run.get("wall_s")
        if wall is None and started is not None and run.get("ended_at") is not None:
            wall = float(run["ended_at"]) - float(started)
        parts = [
            f"<b>{html.escape(str(run['run_id']))}</b>",
            f'<span style="color:{colour}">{html.escape(status)}</span>',
            f"started {started_text}",
            duration_text(None if wall is None else float(wall)),
            cost_text(float(run.get("cost_usd") or 0.0)),
        ]
        if run.get("mock"):
            parts.append('<span style="color:#8250df">mock</span>')
        self.header.setText(" · ".join(parts))

    # -- timeline --------------------------------------------------------------------------

    def _fill_timeline(self, run: dict[str, Any], instances: list[dict[str, Any]]) -> None:
        self.scene.clear()
        self._bars = []
        spans: list[tuple[dict[str, Any], float, float]] = []
        open_ended: list[tuple[dict[str, Any], float]] = []
        for inst in instances:
            start, end = inst.get("started_at"), inst.get("ended_at")
            if start is not None and end is None and inst["state"] != "cached":
                open_ended.append((inst, float(start)))  # waiting for a person, or cut off
                continue
            if start is None or end is None:
                if inst["state"] != "cached" or (start is None and end is None):
                    continue
                start = end = start if start is not None else end
            assert start is not None
            assert end is not None
            spans.append((inst, float(start), max(float(start), float(end))))
        if open_ended:  # a bar to the run's end (or its last known moment), not to "now"
            last = max([e for _, _, e in spans] + [s for _, s in open_ended])
            if run.get("ended_at") is not None:
                last = max(last, float(run["ended_at"]))
            spans += [(inst, start, last) for inst, start in open_ended]
        if not spans:
            text = self.scene.addSimpleText("No timed instances in this run")
            text.setPos(8, 8)
            self.scene.setSceneRect(self.scene.itemsBoundingRect().adjusted(-8, -8, 8, 8))
            return
        origin = min(s for _, s, _ in spans)
        if run.get("started_at") is not None:
            origin = min(origin, float(run["started_at"]))
        span = max(max(e for _, _, e in spans) - origin, 1e-6)
        scale = TIMELINE_WIDTH / span

        lanes: dict[str, list[tuple[dict[str, Any], float, float]]] = {}
        for inst, start, end in spans:
            x0 = LABEL_WIDTH + (start - origin) * scale
            x1 = max(LABEL_WIDTH + (end - origin) * scale, x0 + MIN_BAR_WIDTH)
            lanes.setdefault(str(inst.get("lane") or "—"), []).append((inst, x0, x1))

        def lane_key(name: str) -> tuple[int, str]:
            known = name in _LANE_ORDER
            return (_LANE_ORDER.index(name) if known else len(_LANE_ORDER), name)

        right = LABEL_WIDTH + TIMELINE_WIDTH
        y = AXIS_HEIGHT
        label_font = QFont(self.font())
        label_font.setBold(True)
        for lane_number, lane in enumerate(sorted(lanes, key=lane_key)):
            entries = lanes[lane]
            rows = pack_rows([(x0, x1) for _, x0, x1 in entries])
            height = (max(rows) + 1) * (ROW_HEIGHT + ROW_GAP) + ROW_GAP
            band = self.scene.addRect(
                QRectF(0, y, right + 8, height),
                QPen(Qt.PenStyle.NoPen),
                self.palette().brush(
                    QPalette.ColorRole.AlternateBase
                    if lane_number % 2 == 0
                    else QPalette.ColorRole.Base
                ),
            )
            band.setZValue(-2)
            label = QGraphicsSimpleTextItem(lane)
            label.setFont(label_font)
            label.setBrush(self.palette().brush(QPalette.ColorRole.Text))
            label.setPos(8, y + ROW_GAP + (ROW_HEIGHT - label.boundingRect().height()) / 2)
            self.scene.addItem(label)
            for (inst, x0, x1), row in zip(entries, rows, strict=True):
                top = y + ROW_GAP + row * (ROW_HEIGHT + ROW_GAP)
                thin = inst["state"] == "cached"
                rect = QRectF(x0, top + (ROW_HEIGHT / 4 if thin else 0), x1 - x0, ROW_HEIGHT)
                if thin:
                    rect.setHeight(ROW_HEIGHT / 2)
                colour = QColor(STATE_COLORS.get(str(inst["state"]), "#8b949e"))
                bar = self.scene.addRect(rect, QPen(colour.darker(130), 0), QBrush(colour))
                bar.setToolTip(self._bar_tooltip(inst))
                bar.setData(0, inst["key"])
                bar.setData(1, lane)
                bar.setData(2, row)
                self._bars.append(bar)
            y += height + LANE_GAP
        self._draw_axis(span, scale, y - LANE_GAP)
        self.scene.setSceneRect(QRectF(0, 0, right + 40, y))

    def _draw_axis(self, span: float, scale: float, bottom: float) -> None:
        step = _nice_step(span)
        faint = self.palette().color(QPalette.ColorRole.PlaceholderText)
        grid = QPen(faint, 0, Qt.PenStyle.DotLine)
        tick_pen = QPen(faint, 0)
        self.scene.addLine(
            LABEL_WIDTH, AXIS_HEIGHT - 2, LABEL_WIDTH + TIMELINE_WIDTH, AXIS_HEIGHT - 2, tick_pen
        )
        count = int(span / step + 1e-9)
        for n in range(count + 1):
            x = LABEL_WIDTH + n * step * scale
            self.scene.addLine(x, AXIS_HEIGHT - 6, x, AXIS_HEIGHT - 2, tick_pen)
            self.scene.addLine(x, AXIS_HEIGHT, x, bottom, grid).setZValue(-1)
            text = QGraphicsSimpleTextItem(_seconds_label(n * step, step))
            text.setBrush(QBrush(faint))
            width = text.boundingRect().width()
            text.setPos(x - width / 2 if n else x, AXIS_HEIGHT - 8 - text.boundingRect().height())
            self.scene.addItem(text)

    @staticmethod
    def _bar_tooltip(inst: dict[str, Any]) -> str:
        duration = inst.get("duration_s")
        lines = [
            f"<b>{html.escape(str(inst['key']))}</b>",
            f"node {html.escape(str(inst['node_id']))} · {html.escape(str(inst['state']))}",
            f"duration {duration_text(None if duration is None else float(duration))}",
            f"tokens {int(inst.get('input_tokens') or 0):,} in / "
            f"{int(inst.get('output_tokens') or 0):,} out",
            f"cost {cost_text(float(inst.get('cost_usd') or 0.0))}",
        ]
        if inst.get("error"):
            lines.append(f'<span style="color:#d32f2f">{html.escape(str(inst["error"]))}</span>')
        return "<br>".join(lines)

    # -- nodes -----------------------------------------------------------------------------

    def _fill_nodes(self, stats: list[dict[str, Any]]) -> None:
        self.nodes.setSortingEnabled(False)
        self.nodes.setRowCount(len(stats))
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        for row, node in enumerate(stats):
            tokens_in = int(node.get("input_tokens") or 0)
            tokens_out = int(node.get("output_tokens") or 0)
            mean = node.get("mean_s")
            cost = float(node.get("cost_usd") or 0.0)
            total = float(node.get("total_s") or 0.0)
            cells: list[tuple[str, Any]] = [
                (str(node["node_id"]), str(node["node_id"]).lower()),
                (str(node["instances"]), int(node["instances"])),
                (str(node["done"] or 0), int(node["done"] or 0)),
                (str(node["cached"] or 0), int(node["cached"] or 0)),
                (str(node["failed"] or 0), int(node["failed"] or 0)),
                (duration_text(total), total),
                (duration_text(None if mean is None else float(mean)), float(mean or -1.0)),
                (f"{tokens_in + tokens_out:,}", tokens_in + tokens_out),
                (str(node["retries"] or 0), int(node["retries"] or 0)),
                (cost_text(cost), cost),
            ]
            for column, (text, value) in enumerate(cells):
                item = _SortItem(text)
                item.setData(SORT_ROLE, value)
                if column:
                    item.setTextAlignment(right)
                if column == 0:
                    item.setToolTip(
                        f"{node['node_id']} ({node.get('type') or '?'}, "
                        f"lane {node.get('lane') or '?'})"
                    )
                elif column == 7:
                    item.setToolTip(f"{tokens_in:,} in / {tokens_out:,} out")
                self.nodes.setItem(row, column, item)
        self.nodes.setSortingEnabled(True)

    # -- output ----------------------------------------------------------------------------

    def _fill_output(self, path: Path) -> None:
        self.output_tree.clear()
        if not path.is_file():
            self.output_message.setText(f"This run wrote no output.json\n({path})")
            self.output_stack.setCurrentWidget(self.output_message)
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.output_message.setText(f"output.json could not be read:\n{exc}")
            self.output_stack.setCurrentWidget(self.output_message)
            return
        root = self.output_tree.invisibleRootItem()
        if isinstance(data, dict | list):
            self._add_children(root, data)
        else:
            self._add_value(root, "value", data)
        self.output_tree.expandToDepth(0)
        self.output_stack.setCurrentWidget(self.output_tree)

    def _add_children(self, parent: QTreeWidgetItem, value: dict[str, Any] | list[Any]) -> None:
        pairs = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for key, child in pairs[:MAX_CHILDREN]:
            self._add_value(parent, f"[{key}]" if isinstance(key, int) else str(key), child)
        if len(pairs) > MAX_CHILDREN:
            more = QTreeWidgetItem(parent, [f"… {len(pairs) - MAX_CHILDREN} more", ""])
            more.setForeground(0, QBrush(QColor("#8b949e")))

    def _add_value(self, parent: QTreeWidgetItem, key: str, value: Any) -> None:
        if isinstance(value, dict):
            item = QTreeWidgetItem(parent, [key, f"{{{len(value)} keys}}"])
            item.setForeground(1, QBrush(QColor("#8b949e")))
            self._add_children(item, value)
            return
        if isinstance(value, list):
            item = QTreeWidgetItem(parent, [key, f"[{len(value)} items]"])
            item.setForeground(1, QBrush(QColor("#8b949e")))
            self._add_children(item, value)
            return
        text = value if isinstance(value, str) else json.dumps(value)
        shown = text.replace("\n", " ⏎ ")
        item = QTreeWidgetItem(parent, [key, shown[:300] + ("…" if len(shown) > 300 else "")])
        item.setToolTip(1, text[:4000])

    # -- errors ----------------------------------------------------------------------------

    def _fill_errors(self, instances: list[dict[str, Any]]) -> None:
        self.errors.clear()
        self._failures = [
            (str(i["key"]), str(i.get("error") or "(no error message)"))
            for i in instances
            if i["state"] == "failed"
        ]
        if not self._failures:
            item = QListWidgetItem("No failures")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.errors.addItem(item)
            self.tabs.setTabText(3, "Errors")
            return
        for key, error in self._failures:
            item = QListWidgetItem(f"{key}\n    {error}")
            item.setForeground(QBrush(QColor("#d32f2f")))
            item.setToolTip(error)
            self.errors.addItem(item)
        self.tabs.setTabText(3, f"Errors ({len(self._failures)})")
