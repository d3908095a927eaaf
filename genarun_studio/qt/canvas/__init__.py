"""The node canvas: a tree document drawn as wired nodes (the overview is in :mod:`.view`).

:mod:`.style` holds colours, sizes and fonts, :mod:`.items` the graphics items (nodes, wires,
the title editor), :mod:`.view` the ``QGraphicsView`` and :class:`TreeCanvas`. The layout the
canvas applies is Qt-free, in :mod:`genarun_studio.core.layout`.
"""

from __future__ import annotations

from genarun_studio.qt.canvas.items import NodeItem, WireItem
from genarun_studio.qt.canvas.style import NODE_COLOURS, STATE_COLORS
from genarun_studio.qt.canvas.view import NODE_MIME, CanvasView, TreeCanvas

__all__ = [
    "NODE_COLOURS",
    "NODE_MIME",
    "STATE_COLORS",
    "CanvasView",
    "NodeItem",
    "TreeCanvas",
    "WireItem",
]
