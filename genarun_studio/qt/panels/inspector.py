"""What one node did in the current run: its instances and, for one of them, everything.

The inspector reads :class:`~genarun_studio.engine.instance.NodeInstance` objects (the live
ones of ``Run.instances``) and never changes them. The window calls :meth:`show_node` when
the user selects a node, and :meth:`update_instance` when an event about one of its
instances arrives, so rows and the open details refresh while the run goes on.

Outputs render by shape: a string that names an image file inside the run folder (as image
nodes return, ``assets/x.png``) as a thumbnail; other strings as text; dicts and lists as an
expandable JSON tree. Paths outside the run folder are never opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.engine.instance import NodeInstance

__all__ = ["THUMBNAIL_PX", "InstanceInspector", "image_asset", "json_tree_items"]

THUMBNAIL_PX = 320
TEXT_LIMIT = 20_000
"""Characters of one text shown; the rest is cut (the run folder's logs.json has it all)."""
JSON_CHILD_LIMIT = 500
"""Children of one JSON node shown; the rest is summarised in one row."""
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"})

STATE_COLOURS = {
    "pending": "#9e9e9e",
    "queued": "#9e9e9e",
    "running": "#1e88e5",
    "done": "#2e7d32",
    "cached": "#00897b",
    "failed": "#d32f2f",
    "skipped": "#9e9e9e",
    "stopped": "#c77700",
}
ERROR_COLOUR = "#d32f2f"


def image_asset(value: Any, run_dir: Path | None) -> Path | None:
    """The image file ``value`` names inside ``run_dir``, if it is one that exists."""
    if run_dir is None or not isinstance(value, str) or not value or "\n" in value:
        return None
    if len(value) > 1000 or Path(value).suffix.lower() not in IMAGE_SUFFIXES:
        return None
    try:
        root = run_dir.resolve()
        path = (root / value).resolve()
    except (OSError, ValueError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def json_tree_items(value: Any, key: str = "") -> QTreeWidgetItem:
    """A tree item for a JSON value: key, then the value (scalars) or a size summary."""
    item = QTreeWidgetItem([key, ""])
    if isinstance(value, dict):
        item.setText(1, f"{{{len(value)} keys}}" if len(value) != 1 else "{1 key}")
        item.setForeground(1, QColor("#8a8a8a"))
        entries: Iterable[tuple[str, Any]] = ((str(k), v) for k, v in value.items())
        _add_children(item, entries, len(value))
    elif isinstance(value, list):
        item.setText(1, f"[{len(value)} items]" if len(value) != 1 else "[1 item]")
        item.setForeground(1, QColor("#8a8a8a"))
        _add_children(item, ((f"[{i}]", v) for i, v in enumerate(value)), len(value))
    else:
        text = value if isinstance(value, str) else json.dumps(value)
        first, _, rest = text.partition("\n")
        item.setText(1, first[:300] + (" …" if rest or len(first) > 300 else ""))
        item.setToolTip(1, text[:TEXT_LIMIT])
        if not isinstance(value, str):
            item.setForeground(1, QColor("#6a1b9a"))
    return item


def _add_children(item: QTreeWidgetItem, entries: Iterable[tuple[str, Any]], total: int) -> None:
    for count, (key, child) in enumerate(entries):
        if count == JSON_CHILD_LIMIT:
            more = QTreeWidgetItem(["…", f"{total - JSON_CHILD_LIMIT} more not shown"])
            more.setForeground(1, QColor("#8a8a8a"))
            item.addChild(more)
            break
        item.addChild(json_tree_items(child, key))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 0.001:
        return "<1 ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes:.0f} min {rest:.0f} s"


def _clock(at: float | None) -> str:
    return "" if at is None else datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3]


def _cost(usd: float) -> str:
    return f"${usd:.2f}" if usd >= 1 else f"${usd:.4f}"


def _state_icon(state: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(STATE_COLOURS.get(state, "#9e9e9e")))
    painter.drawEllipse(1, 1, 10, 10)
    painter.end()
    return QIcon(pixmap)


def _wrapping(label: QLabel) -> QLabel:
    """Wrap ``label``'s text to whatever width it gets (never widening its parent), and
    keep it height-for-width so layouts give it just the lines it needs."""
    label.setWordWrap(True)
    policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)
    label.setSizePolicy(policy)
    return label


def _text_block(text: str, *, mono: bool = False, colour: str | None = None) -> QLabel:
    """A selectable, wrapping block of plain text on the base colour, cut at TEXT_LIMIT."""
    shown = (
        text
        if len(text) <= TEXT_LIMIT
        else text[:TEXT_LIMIT] + (f"\n… ({len(text) - TEXT_LIMIT} more characters)")
    )
    label = QLabel(shown)
    label.setTextFormat(Qt.TextFormat.PlainText)
    _wrapping(label)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setObjectName("textBlock")
    style = (
        "QLabel#textBlock { background: palette(base); border: 1px solid palette(mid);"
        " border-radius: 3px; padding: 4px 6px; }"
    )
    if colour:
        style += f" QLabel#textBlock {{ color: {colour}; }}"
    label.setStyleSheet(style)
    if mono:
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        label.setFont(font)
    return label


def _caption(text: str, *, wrap: bool = True) -> QLabel:
    """Quiet, secondary text (the palette's placeholder colour)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return _wrapping(label) if wrap else label


class _Section(QWidget):
    """A titled block of the details: a bold heading over its content."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        heading = QLabel(title, self)
        heading.setObjectName("sectionHeading")
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        rule = QFrame(self)
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setFrameShadow(QFrame.Shadow.Sunken)
        self.body = QVBoxLayout()
        self.body.setContentsMargins(0, 0, 0, 0)
        self.body.setSpacing(3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 2)
        layout.setSpacing(3)
        layout.addWidget(heading)
        layout.addWidget(rule)
        layout.addLayout(self.body)

    def add(self, widget: QWidget) -> QWidget:
        self.body.addWidget(widget)
        return widget


class InstanceInspector(QWidget):
    """One node's instances in the current run (top) and the selected one's details.

    Details: state, timings, attempts, tokens, cost, cache origin; the error (red); the
    resolved prompt (system/user turns, an image prompt, or the raw plan); the random
    picks; each model call's raw answer; the output (text, JSON tree or thumbnail); the
    instance's log notes. :attr:`instanceSelected` is emitted with the key of the instance
    whose details are shown.
    """

    instanceSelected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._node_id: str | None = None
        self._run_dir: Path | None = None
        self._instances: dict[str, NodeInstance] = {}
        self._rows: dict[str, QTreeWidgetItem] = {}
        self._sections: dict[str, _Section] = {}
        self._pixmaps: dict[tuple[str, float], tuple[QPixmap, str]] = {}
        self.thumbnails: list[QLabel] = []
        """The output's image labels for the shown instance (empty when not an image)."""
        self.output_tree: QTreeWidget | None = None
        """The output's JSON tree for the shown instance (``None`` when not JSON)."""

        self.heading = QLabel(self)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.heading.setFont(font)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)

        self.instance_list = QTreeWidget(self)
        self.instance_list.setColumnCount(3)
        self.instance_list.setHeaderLabels(["Instance", "State", "Time"])
        self.instance_list.setRootIsDecorated(False)
        self.instance_list.setUniformRowHeights(True)
        self.instance_list.setAlternatingRowColors(True)
        self.instance_list.setTextElideMode(Qt.TextElideMode.ElideLeft)
        self.instance_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.instance_list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)

        self.details = QScrollArea(self)
        self.details.setWidgetResizable(True)
        self.details.setFrameShape(QFrame.Shape.NoFrame)
        self.details.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.instance_list)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.heading)
        layout.addWidget(self.splitter, 1)

        self.instance_list.currentItemChanged.connect(self._on_current_changed)
        self.clear()

    # -- public API --------------------------------------------------------------------

    @property
    def node_id(self) -> str | None:
        return self._node_id

    @property
    def current_key(self) -> str | None:
        item = self.instance_list.currentItem()
        if item is None:
            return None
        key = item.data(0, Qt.ItemDataRole.UserRole)
        return str(key) if key is not None else None

    @property
    def current_instance(self) -> NodeInstance | None:
        key = self.current_key
        return None if key is None else self._instances.get(key)

    def show_node(
        self, node_id: str, instances: Iterable[NodeInstance], run_dir: Path | None
    ) -> None:
        """List ``instances`` (``node_id``'s, in the given order) and show the details of
        the first — or of the one shown before, when the same node is shown again."""
        previous = self.current_key if node_id == self._node_id else None
        self._node_id = node_id
        self._run_dir = Path(run_dir) if run_dir is not None else None
        self._instances = {}
        self._rows = {}
        self.instance_list.blockSignals(True)
        self.instance_list.clear()
        for inst in instances:
            self._add_row(inst)
        self.instance_list.blockSignals(False)
        self._update_heading()
        if not self.select_instance(previous or "") and self.instance_list.topLevelItemCount():
            first = self.instance_list.topLevelItem(0)
            if first is not None:
                self.instance_list.setCurrentItem(first)
        elif not self._rows:
            self._render(None)

    def update_instance(self, inst: NodeInstance) -> bool:
        """Refresh ``inst``'s row (added if new) and, if open, its details. Instances of
        other nodes are ignored; returns whether ``inst`` is shown."""
        if self._node_id is None or inst.node_id != self._node_id:
            return False
        row = self._rows.get(inst.key)
        if row is None:
            self._add_row(inst)
            self._update_heading()
            if self.instance_list.currentItem() is None:
                self.instance_list.setCurrentItem(self._rows[inst.key])
            return True
        self._instances[inst.key] = inst
        self._fill_row(row, inst)
        if inst.key == self.current_key:
            bar = self.details.verticalScrollBar()
            position = bar.value()
            self._render(inst)
            bar.setValue(position)
        return True

    def select_instance(self, key: str) -> bool:
        """Show the details of the instance ``key``; False if it is not listed."""
        row = self._rows.get(key)
        if row is None:
            return False
        if self.instance_list.currentItem() is row:
            self._render(self._instances[key])
        else:
            self.instance_list.setCurrentItem(row)
        return True

    def clear(self) -> None:
        """Show nothing (no node selected, or no run yet)."""
        self._node_id = None
        self._run_dir = None
        self._instances = {}
        self._rows = {}
        self.instance_list.blockSignals(True)
        self.instance_list.clear()
        self.instance_list.blockSignals(False)
        self._update_heading()
        self._render(None)

    def keys(self) -> list[str]:
        """The listed instance keys, in order."""
        return list(self._rows)

    def section(self, title: str) -> QWidget | None:
        """The details section titled ``title`` ("Summary", "Error", "Prompt", "Picks",
        "Answers", "Output", "Log"), if the shown instance has one."""
        return self._sections.get(title)

    def section_texts(self, title: str) -> list[str]:
        """The texts of a details section's labels below its heading, in order (empty if
        the section is absent)."""
        section = self._sections.get(title)
        if section is None:
            return []
        return [
            label.text()
            for label in section.findChildren(QLabel)
            if label.text() and label.objectName() != "sectionHeading"
        ]

    # -- rows --------------------------------------------------------------------------

    def _add_row(self, inst: NodeInstance) -> None:
        row = QTreeWidgetItem(self.instance_list)
        row.setData(0, Qt.ItemDataRole.UserRole, inst.key)
        row.setToolTip(0, inst.key)
        self._instances[inst.key] = inst
        self._rows[inst.key] = row
        self._fill_row(row, inst)

    def _fill_row(self, row: QTreeWidgetItem, inst: NodeInstance) -> None:
        row.setText(0, inst.key)
        row.setIcon(1, _state_icon(inst.state))
        row.setText(1, inst.state)
        timing = _duration(inst.duration_s)
        if inst.state == "cached":
            timing = "cached"
        elif inst.state == "running":
            timing = "running…"
        row.setText(2, timing)
        row.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if inst.state == "failed":
            row.setForeground(1, QColor(ERROR_COLOUR))
            row.setToolTip(1, inst.error or "")

    def _update_heading(self) -> None:
        if self._node_id is None:
            self.heading.setText("No node selected")
            return
        count = len(self._rows)
        noun = "instance" if count == 1 else "instances"
        self.heading.setText(
            f"{self._node_id} — {count} {noun}" if count else f"{self._node_id} — not run yet"
        )

    def _on_current_changed(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        if current is None:
            self._render(None)
            return
        key = current.data(0, Qt.ItemDataRole.UserRole)
        self._render(self._instances.get(key))
        self.instanceSelected.emit(key)

    # -- details -----------------------------------------------------------------------

    def _render(self, inst: NodeInstance | None) -> None:
        self._sections = {}
        self.thumbnails = []
        self.output_tree = None
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(2, 0, 8, 8)
        layout.setSpacing(6)
        if inst is None:
            message = (
                "Select a node on the canvas to see what it did in the current run."
                if self._node_id is None
                else "This node has no instances in the current run."
            )
            layout.addWidget(_caption(message))
        else:
            for build in (
                self._summary,
                self._error,
                self._prompt,
                self._picks,
                self._answers,
                self._output,
                self._log,
            ):
                section = build(inst)
                if section is not None:
                    self._sections[section.title] = section
                    layout.addWidget(section)
        layout.addStretch(1)
        old = self.details.takeWidget()
        self.details.setWidget(content)
        if old is not None:
            old.deleteLater()

    def _summary(self, inst: NodeInstance) -> _Section:
        section = _Section("Summary")
        grid_host = QWidget()
        grid = QGridLayout(grid_host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(1, 1)
        plan = inst.plan or {}
        usage = inst.usage
        tokens = ""
        if usage.input_tokens or usage.output_tokens:
            tokens = f"{usage.input_tokens:,} in · {usage.output_tokens:,} out"
        if usage.images:
            images = f"{usage.images} image" + ("s" if usage.images != 1 else "")
            tokens = f"{tokens} · {images}" if tokens else images
        model = " · ".join(str(plan[k]) for k in ("provider", "model") if plan.get(k))
        rows: list[tuple[str, str, str | None]] = [
            ("Instance", inst.key, None),
            ("State", inst.state, STATE_COLOURS.get(inst.state)),
            ("Lane", inst.lane, None),
            ("Model", model, None),
            ("Queued", _clock(inst.queued_at), None),
            ("Started", _clock(inst.started_at), None),
            ("Ended", _clock(inst.ended_at), None),
            ("Duration", _duration(inst.duration_s), None),
            ("Attempts", str(inst.attempts) if inst.attempts else "", None),
            ("Tokens", tokens, None),
            ("Cost", _cost(inst.cost_usd) if inst.calls or inst.cost_usd else "", None),
            ("Cached from", f"run {inst.cached_from}" if inst.cached_from else "", None),
            ("Assets", "\n".join(inst.assets), None),
        ]
        row = 0
        for name, value, colour in rows:
            if not value:
                continue
            label = _caption(name, wrap=False)
            text = QLabel(value)
            text.setTextFormat(Qt.TextFormat.PlainText)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            text.setToolTip(value)
            if colour:
                text.setStyleSheet(f"color: {colour}; font-weight: bold;")
            grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(text, row, 1, Qt.AlignmentFlag.AlignTop)
            row += 1
        section.add(grid_host)
        return section

    def _error(self, inst: NodeInstance) -> _Section | None:
        if not inst.error or inst.state not in ("failed", "stopped", "skipped"):
            return None
        section = _Section("Error" if inst.state == "failed" else "Reason")
        section.add(
            _text_block(inst.error, colour=ERROR_COLOUR if inst.state == "failed" else None)
        )
        return section

    def _prompt(self, inst: NodeInstance) -> _Section | None:
        plan = inst.plan
        if not plan:
            return None
        section = _Section("Prompt")
        turns = plan.get("turns")
        if isinstance(turns, list):
            for number, turn in enumerate(turns, 1):
                if not isinstance(turn, dict):
                    continue
                if turn.get("system"):
                    section.add(_caption(f"Turn {number} · system"))
                    section.add(_text_block(str(turn["system"])))
                section.add(_caption(f"Turn {number} · user"))
                section.add(_text_block(str(turn.get("user") or "")))
        elif isinstance(plan.get("prompt"), str):
            details = " · ".join(
                f"{k} {plan[k]}" for k in ("size", "quality") if plan.get(k) is not None
            )
            section.add(_caption("Image prompt" + (f" · {details}" if details else "")))
            section.add(_text_block(plan["prompt"]))
        elif isinstance(plan.get("text"), str):
            section.add(_caption("Rendered template"))
            section.add(_text_block(plan["text"]))
        else:
            section.add(_caption("Plan"))
            section.add(self._json_tree(plan))
        return section

    def _picks(self, inst: NodeInstance) -> _Section | None:
        if not inst.picks:
            return None
        section = _Section("Picks")
        for pick in inst.picks:
            options = " | ".join(pick.options)
            label = QLabel(f"[{options}]  →  {pick.value}")
            label.setTextFormat(Qt.TextFormat.PlainText)
            _wrapping(label)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            section.add(label)
        return section

    def _answers(self, inst: NodeInstance) -> _Section | None:
        if not inst.calls:
            return None
        section = _Section("Answers" if len(inst.calls) != 1 else "Answer")
        section.title = "Answers"  # one lookup name, whatever the heading says
        for number, call in enumerate(inst.calls, 1):
            usage = call.get("usage") or {}
            parts = [
                f"Call {number}",
                " ".join(str(call[k]) for k in ("provider", "model") if call.get(k)),
            ]
            if usage.get("input_tokens") or usage.get("output_tokens"):
                parts.append(
                    f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out"
                )
            if isinstance(call.get("duration_s"), int | float):
                parts.append(_duration(call["duration_s"]))
            if (call.get("attempts") or 1) > 1:
                parts.append(f"{call['attempts']} attempts")
            section.add(_caption(" · ".join(p for p in parts if p)))
            if call.get("kind") == "http":  # the api node: request line and status
                resp = call.get("response") or {}
                status = f"HTTP {resp['status']}" if resp else f"failed: {call.get('error')}"
                mock = " (mock: nothing was sent)" if resp.get("mock") else ""
                section.add(_text_block(f"{call.get('prompt', '')}\n{status}{mock}", mono=True))
            elif call.get("tool_calls"):
                calls = [f"{c['name']}({c['arguments']})" for c in call["tool_calls"]]
                section.add(_text_block("\n".join(calls), mono=True))
            elif "answer" in call:
                answer = call["answer"]
                text = answer if isinstance(answer, str) else json.dumps(answer, indent=2)
                section.add(_text_block(text, mono=not isinstance(answer, str)))
            elif call.get("revised_prompt"):
                section.add(_text_block(f"Revised prompt: {call['revised_prompt']}"))
            elif call.get("kind") == "image":
                section.add(_caption("An image (see Output)."))
        return section

    def _output(self, inst: NodeInstance) -> _Section | None:
        section = _Section("Output")
        output = inst.output
        if not inst.has_output:
            if inst.state in ("failed", "skipped", "stopped"):
                return None
            section.add(_caption("No output yet."))
            return section
        images = self._images_of(output)
        if images:
            for path, rel in images:
                self._add_thumbnail(section, path, rel)
        elif isinstance(output, dict | list):
            section.add(self._json_tree(output))
            self.output_tree = section.findChild(QTreeWidget)
        elif isinstance(output, str):
            section.add(_text_block(output))
        else:
            section.add(_text_block(json.dumps(output), mono=True))
        return section

    def _log(self, inst: NodeInstance) -> _Section | None:
        if not inst.logs:
            return None
        section = _Section("Log")
        lines = [
            f"{_clock(entry.get('at'))}  {entry.get('level', 'info')}  {entry.get('message', '')}"
            for entry in inst.logs
        ]
        section.add(_text_block("\n".join(lines), mono=True))
        return section

    # -- output helpers ----------------------------------------------------------------

    def _images_of(self, output: Any) -> list[tuple[Path, str]]:
        """Images an output names: a path, or a non-empty list made only of paths."""
        values = output if isinstance(output, list) and output else [output]
        found = []
        for value in values:
            path = image_asset(value, self._run_dir)
            if path is None:
                return []
            found.append((path, value))
        return found

    def _add_thumbnail(self, section: _Section, path: Path, rel: str) -> None:
        pixmap, size = self._thumbnail(path)
        label = QLabel()
        label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        if pixmap.isNull():
            label.setText(f"{rel} (not a readable image)")
        else:
            label.setPixmap(pixmap)
            label.setFixedSize(pixmap.size())
            self.thumbnails.append(label)
        label.setToolTip(str(path))
        section.add(label)
        section.add(_caption(f"{rel} · {size}" if size else rel))

    def _thumbnail(self, path: Path) -> tuple[QPixmap, str]:
        """The scaled pixmap of an image file and its full size ("1536 × 1024 px"),
        cached by path and modification time (the last 64)."""
        try:
            cache_key = (str(path), path.stat().st_mtime)
        except OSError:
            return QPixmap(), ""
        cached = self._pixmaps.get(cache_key)
        if cached is None:
            original = QPixmap(str(path))
            if original.isNull():
                return original, ""
            scaled = original.scaled(
                THUMBNAIL_PX,
                THUMBNAIL_PX,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            cached = (scaled, f"{original.width()} × {original.height()} px")
            self._pixmaps[cache_key] = cached
            if len(self._pixmaps) > 64:
                del self._pixmaps[next(iter(self._pixmaps))]
        return cached

    def _json_tree(self, value: Any) -> QTreeWidget:
        tree = QTreeWidget()
        tree.setColumnCount(2)
        tree.setHeaderLabels(["Key", "Value"])
        tree.setUniformRowHeights(True)
        tree.setAlternatingRowColors(True)
        tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        tree.header().setStretchLastSection(True)
        root = json_tree_items(value)
        tree.addTopLevelItems(root.takeChildren())
        tree.expandToDepth(0)
        rows = _visible_rows(tree)
        row_height = tree.fontMetrics().height() + 6
        tree.setMinimumHeight(
            min(max(rows, 2) * row_height + tree.header().sizeHint().height() + 6, 280)
        )
        tree.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        return tree


def _visible_rows(tree: QTreeWidget) -> int:
    count = 0
    stack = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while stack:
        item = stack.pop()
        if item is None:
            continue
        count += 1
        if item.isExpanded():
            stack.extend(item.child(i) for i in range(item.childCount()))
    return count
