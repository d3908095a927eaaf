"""Small widgets the field editors are made of: a growing text edit, spin boxes and combos
that ignore the mouse wheel unless focused (so scrolling the form does not change values).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QFocusEvent,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QResizeEvent,
    QShowEvent,
    QTextLayout,
    QTextOption,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QPlainTextEdit,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

_INT_MIN = -(2**31) + 1
_INT_MAX = 2**31 - 1
_ERROR_COLOUR = "#d93025"
_WARNING_COLOUR = "#b26a00"


def _monospace() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


# -- small widgets -------------------------------------------------------------------------------


class _TextEdit(QPlainTextEdit):
    """A plain-text editor that grows with its text (``min_lines``..``max_lines``) and
    signals when it loses focus (its ``editingFinished``)."""

    focusLost = Signal()

    def __init__(self, min_lines: int = 2, max_lines: int = 16, parent: QWidget | None = None):
        super().__init__(parent)
        self._min_lines = max(1, min_lines)
        self._max_lines = max(self._min_lines, max_lines)
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().contentsChanged.connect(self._fit)
        self._fit()

    def setFont(self, font: QFont | str | Iterable[str]) -> None:
        super().setFont(font)
        self._fit()

    def _fit(self) -> None:
        """Set the height to the wrapped lines, laid out as the editor will lay them out."""
        margin = self.document().documentMargin()
        width = max(40.0, self.viewport().width() - 2 * margin - 4)
        option = QTextOption()
        option.setWrapMode(self.wordWrapMode())
        heights: list[float] = []
        block = self.document().firstBlock()
        while block.isValid() and len(heights) < self._max_lines:
            layout = QTextLayout(block.text(), self.font())
            layout.setTextOption(option)
            layout.beginLayout()
            while len(heights) < self._max_lines:
                line = layout.createLine()
                if not line.isValid():
                    break
                line.setLineWidth(width)
                heights.append(line.height())
            layout.endLayout()
            block = block.next()
        one = QFontMetricsF(self.font()).height()
        heights += [one] * (self._min_lines - len(heights))
        frame = self.contentsMargins().top() + self.contentsMargins().bottom()
        height = math.ceil(sum(heights) + 2 * margin) + frame + 2
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.focusLost.emit()


class _NoWheelMixin:
    """Spin boxes and combos in a scrolling form change only when focused: the wheel
    scrolls the form instead of silently editing the field under the pointer."""

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.hasFocus():  # type: ignore[attr-defined]
            super().wheelEvent(event)  # type: ignore[misc]
        else:
            event.ignore()


class _SpinBox(_NoWheelMixin, QSpinBox):
    pass


class _DoubleSpinBox(_NoWheelMixin, QDoubleSpinBox):
    pass


class _ComboBox(_NoWheelMixin, QComboBox):
    pass


def _prepare_spin(spin: QAbstractSpinBox) -> None:
    spin.setKeyboardTracking(False)  # valueChanged on Enter / focus out / arrows, not per key
    spin.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    spin.setMinimumWidth(90)
    spin.setMaximumWidth(160)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight)
