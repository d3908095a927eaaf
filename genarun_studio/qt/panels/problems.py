"""The problems panel: the tree's validation errors and warnings, as the editor finds them.

The window calls :meth:`ProblemsList.set_problems` with
:func:`~genarun_studio.core.validate.check_tree`'s result whenever the tree changes;
activating a problem (double-click or Enter) emits :attr:`ProblemsList.nodeActivated` with
its node id so the canvas can select that node. Problems are listed in the order given
(``check_tree`` gives file order); errors and warnings are told apart by icon and colour.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.core.validate import Problem

__all__ = ["ProblemsList", "severity_icon", "summary_text"]

SEVERITY_COLOURS = {"error": "#d32f2f", "warning": "#c77700"}
PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 1


def summary_text(problems: Iterable[Problem]) -> str:
    """``"2 errors, 1 warning"``; ``"No problems"`` when there are none."""
    listed = list(problems)
    errors = sum(p.severity == "error" for p in listed)
    warnings = len(listed) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error" + ("s" if errors != 1 else ""))
    if warnings:
        parts.append(f"{warnings} warning" + ("s" if warnings != 1 else ""))
    return ", ".join(parts) or "No problems"


def severity_icon(severity: str, size: int = 14) -> QIcon:
    """A red disc (error) or an amber triangle (warning), each with a white "!"."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(SEVERITY_COLOURS.get(severity, "#9e9e9e")))
    if severity == "warning":
        shape = QPainterPath()
        shape.moveTo(QPointF(size / 2, 0.5))
        shape.lineTo(QPointF(size - 0.5, size - 1))
        shape.lineTo(QPointF(0.5, size - 1))
        shape.closeSubpath()
        painter.drawPath(shape)
    else:
        painter.drawEllipse(0, 0, size, size)
    painter.setPen(QColor("white"))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.7))
    painter.setFont(font)
    top = 2 if severity == "warning" else 0
    painter.drawText(0, top, size, size - top, Qt.AlignmentFlag.AlignCenter, "!")
    painter.end()
    return QIcon(pixmap)


class ProblemsList(QWidget):
    """A summary line over a list of problems: severity, message, node, JSON path.

    Activating a row that names a node emits :attr:`nodeActivated` with the node id;
    tree-level problems (no node) emit nothing.
    """

    nodeActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._problems: list[Problem] = []
        self.summary_icon = QLabel(self)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)

        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["", "Message", "Node", "Path"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setWordWrap(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(3, self.fontMetrics().horizontalAdvance("nodes[0].children[0]") * 2)

        top = QHBoxLayout()
        top.setContentsMargins(2, 0, 0, 0)
        top.setSpacing(6)
        top.addWidget(self.summary_icon)
        top.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)

        self.tree.itemActivated.connect(self._on_activated)
        self.set_problems([])

    def set_problems(self, problems: Iterable[Problem]) -> None:
        """Replace the list; the selection is kept when the same problem is still there."""
        current = self.tree.currentItem()
        kept = current.data(0, PROBLEM_ROLE) if current is not None else None
        self._problems = list(problems)
        self.tree.clear()
        for problem in self._problems:
            colour = QColor(SEVERITY_COLOURS.get(problem.severity, "#9e9e9e"))
            item = QTreeWidgetItem(
                self.tree, ["", problem.message, problem.node_id or "—", problem.path]
            )
            item.setIcon(0, severity_icon(problem.severity))
            item.setToolTip(0, problem.severity)
            item.setToolTip(1, str(problem))
            item.setForeground(1, colour)
            item.setData(0, PROBLEM_ROLE, _problem_key(problem))
            if not problem.node_id:
                item.setToolTip(2, "A problem of the whole tree")
            if kept is not None and _problem_key(problem) == kept:
                self.tree.setCurrentItem(item)
        self.summary.setText(summary_text(self._problems))
        worst = (
            "error"
            if any(p.severity == "error" for p in self._problems)
            else "warning"
            if self._problems
            else None
        )
        if worst is None:
            self.summary_icon.clear()
            self.summary_icon.hide()
        else:
            self.summary_icon.setPixmap(severity_icon(worst).pixmap(14, 14))
            self.summary_icon.show()

    def problems(self) -> list[Problem]:
        return list(self._problems)

    def summary_text(self) -> str:
        return self.summary.text()

    def _on_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        index = self.tree.indexOfTopLevelItem(item)
        node_id = self._problems[index].node_id if 0 <= index < len(self._problems) else None
        if node_id:
            self.nodeActivated.emit(node_id)


def _problem_key(problem: Problem) -> str:
    return f"{problem.severity}\0{problem.path}\0{problem.message}"
