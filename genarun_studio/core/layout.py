"""The editor's automatic tree layout, in plain scene coordinates (Qt-free).

Kept below the editor so it can be tested without Qt and used by anything that lays a tree
out (the canvas's "Auto layout", new nodes placed beside their parent). Positions are
``(x, y)`` tuples in the canvas's scene units; the canvas stores them in ``ui.pos``.
"""

from __future__ import annotations

import math
from typing import Any

from genarun_studio.core.document import TreeDocument

__all__ = ["WRAP_AT", "X_STEP", "Y_STEP", "tree_layout"]

X_STEP, Y_STEP = 300, 110
"""Auto-layout spacing: depth → x, one row per leaf → y."""

WRAP_AT = 12
"""A node with more leaf children than this gets them in a grid of columns, not one column."""


def tree_layout(document: TreeDocument) -> dict[str, tuple[float, float]]:
    """Left-to-right tree layout: depth gives x, leaves take rows, parents sit centred.

    A wide fan-out of leaves (a generated dataset: hundreds of pages under one node) is laid
    out in a roughly square grid of columns, so that fit to view still shows readable nodes.
    """
    positions: dict[str, tuple[float, float]] = {}
    row = 0.0

    def place(node: Any, depth: int) -> float:
        nonlocal row
        children = node.children
        if not children:
            y = row * Y_STEP
            row += 1
        elif len(children) > WRAP_AT and not any(c.children for c in children):
            rows = max(WRAP_AT, math.ceil(math.sqrt(len(children) * X_STEP / Y_STEP)))
            for i, child in enumerate(children):
                column, line = divmod(i, rows)
                positions[child.id] = ((depth + 1 + column) * X_STEP, (row + line) * Y_STEP)
            y = (row + (min(rows, len(children)) - 1) / 2) * Y_STEP
            row += min(rows, len(children))
        else:
            ys = [place(child, depth + 1) for child in children]
            y = (ys[0] + ys[-1]) / 2
        positions[node.id] = (depth * X_STEP, y)
        return y

    for root in document.tree.nodes:
        place(root, 0)
        row += 0.5
    return positions
