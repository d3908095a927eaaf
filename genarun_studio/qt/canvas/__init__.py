"""The node canvas (see :mod:`.view`)."""

from __future__ import annotations

from genarun_studio.qt.canvas.view import (
    NODE_COLOURS,
    NODE_MIME,
    STATE_COLORS,
    X_STEP,
    CanvasView,
    NodeItem,
    TreeCanvas,
    WireItem,
    tree_layout,
)

__all__ = [
    "NODE_COLOURS",
    "NODE_MIME",
    "STATE_COLORS",
    "X_STEP",
    "CanvasView",
    "NodeItem",
    "TreeCanvas",
    "WireItem",
    "tree_layout",
]
