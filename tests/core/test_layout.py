"""The automatic tree layout (Qt-free): children right of parents, no two nodes on one
place, a wide fan-out of leaves in a grid of columns."""

from __future__ import annotations

from typing import Any

from genarun_studio.core.document import TreeDocument
from genarun_studio.core.registry import default_registry


def _tree_document(*roots: Any) -> TreeDocument:
    from genarun_studio.core.tree import Tree

    return TreeDocument(Tree(id="t", nodes=list(roots)), None, default_registry())


def test_the_layout_puts_children_right_of_parents_and_never_two_nodes_on_one_place() -> None:
    from genarun_studio.core.layout import X_STEP, tree_layout
    from genarun_studio.core.tree import Node

    def leaf(node_id: str) -> Node:
        return Node(id=node_id, type="template", config={"template": "x"})

    wide = Node(id="wide", type="template", config={"template": "x"})
    wide.children = [leaf(f"w{i}") for i in range(300)]
    deep = Node(id="deep", type="template", config={"template": "x"})
    deep.children = [leaf("d1"), wide, leaf("d2")]
    document = _tree_document(deep, leaf("other"))
    positions = tree_layout(document)
    assert len(positions) == len(list(document.tree.walk()))
    assert len(set(positions.values())) == len(positions)  # no two on one place
    parents = document.tree.parents()
    for node_id, parent in parents.items():
        if parent is not None:
            assert positions[node_id][0] > positions[parent][0]
    # 300 leaves of one node: a grid of columns, not a 300-row column
    xs = {positions[f"w{i}"][0] for i in range(300)}
    ys = {positions[f"w{i}"][1] for i in range(300)}
    assert len(xs) > 5
    assert len(ys) < 60
    assert min(xs) == positions["wide"][0] + X_STEP
    # the next sibling's rows come after the grid's
    assert positions["d2"][1] > max(ys)
    assert positions["other"][1] > positions["d2"][1]
