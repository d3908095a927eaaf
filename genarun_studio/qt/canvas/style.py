"""How the canvas looks: lane and state colours, node sizes, zoom limits, fonts.

Kept apart so a colour or size is changed in one place, and so other panels (run details,
the run log) take the same state colours without importing the canvas's items.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

LANE_COLORS = {
    "text": (38, 76, 120),
    "image": (96, 52, 120),
    "local": (70, 74, 80),
    "http": (128, 84, 36),
    "human": (36, 110, 90),
}
STATE_COLORS = {
    "queued": "#7f8c9d",
    "running": "#f2c14e",
    "done": "#5cb85c",
    "cached": "#3fb0ac",
    "failed": "#e5534b",
    "skipped": "#6e7681",
    "stopped": "#b07cd8",
    "waiting": "#c58af9",
    "warning": "#d29922",
}
NODE_COLOURS = {
    "Red": "#8e3b3b",
    "Orange": "#8a5a2b",
    "Yellow": "#7d7028",
    "Green": "#2f6b3a",
    "Teal": "#24686a",
    "Blue": "#2c4f86",
    "Purple": "#5d3f86",
    "Grey": "#4b5158",
}
"""Title-bar colours offered on a node's right-click menu (dark enough for light text)."""
OUTLINED_STATES = ("running", "failed", "waiting")
"""States that also draw a coloured outline round the node (where to look, on a big tree)."""

NODE_W = 230.0
TITLE_H = 24.0
PORT_H = 20.0
STATUS_H = 18.0
PORT_R = 5.5
THUMB_W, THUMB_H = 160, 110
SCENE_EXTENT = 1_000_000.0
"""Half the side of the scene rectangle: fixed, so adding items never recomputes it."""
MIN_ZOOM, MAX_ZOOM, FIT_MAX_ZOOM = 0.001, 3.0, 1.25
"""Zoom limits: far enough out for 5,000 nodes in one view, and fit never zooms past 125%."""
PROXY_LOD = 0.4
"""Below this zoom a node is drawn as a plain coloured box (nothing readable is lost)."""

TEXT = QtGui.QColor(201, 209, 217)
DIM_TEXT = QtGui.QColor(139, 148, 158)
BODY = QtGui.QColor(33, 38, 45)
SELECTED = QtGui.QColor(240, 136, 62)
TARGET = QtGui.QColor(88, 166, 255)
WIRE = QtGui.QColor(139, 148, 158)
BACKGROUND = QtGui.QColor(22, 27, 34)
GRID = QtGui.QColor(30, 36, 44)
GRID_MAJOR = QtGui.QColor(38, 45, 54)

_LEFT = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
_RIGHT = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
_CENTER = QtCore.Qt.AlignmentFlag.AlignCenter


class _Fonts:
    """Fonts and metrics shared by every node, made once the application exists."""

    title: QtGui.QFont
    small: QtGui.QFont
    title_metrics: QtGui.QFontMetricsF
    small_metrics: QtGui.QFontMetricsF
    ready = False

    @classmethod
    def get(cls) -> type[_Fonts]:
        if not cls.ready:
            cls.title = QtGui.QFont(QtWidgets.QApplication.font())
            cls.title.setPointSizeF(9.5)
            cls.title.setBold(True)
            cls.small = QtGui.QFont(QtWidgets.QApplication.font())
            cls.small.setPointSizeF(7.5)
            cls.title_metrics = QtGui.QFontMetricsF(cls.title)
            cls.small_metrics = QtGui.QFontMetricsF(cls.small)
            cls.ready = True
        return cls


def _lane_color(lane: str) -> QtGui.QColor:
    return QtGui.QColor(*LANE_COLORS.get(lane, LANE_COLORS["local"]))
