"""``after:`` between nodes: which waits are valid, and what a node waits for.

A node that lists ``after: [b]`` starts its instances only once no instance of ``b`` can
still run or appear — that is, once every instance of ``b`` and of ``b``'s ancestors has
ended. A wait that can never end is refused before the run starts: an unknown id, the node
itself, one of its own descendants, or a cycle of waits.
"""

from __future__ import annotations

from genarun_studio.core.tree import Tree

__all__ = ["after_problems", "watched_nodes"]


def after_problems(tree: Tree) -> list[tuple[str, str]]:
    """``(node id, message)`` for every ``after`` entry that would wait forever."""
    parents = tree.parents()
    nodes = {n.id: n for n in tree.walk()}
    problems: list[tuple[str, str]] = []
    for node in nodes.values():
        for target in node.after:
            if target not in nodes:
                problems.append((node.id, f"after: no node with id {target!r} in the tree"))
            elif target == node.id:
                problems.append((node.id, "after: a node cannot wait for itself"))
            elif node.id in _chain(parents, target):
                problems.append(
                    (
                        node.id,
                        f"after: {target!r} is inside this node's subtree and could never run",
                    )
                )
    if problems:
        return problems
    # a cycle through waits and parent links (a waits for b, b waits for a's descendant...)
    edges: dict[str, list[str]] = {}
    for nid, n in nodes.items():
        parent = parents[nid]
        edges[nid] = [*n.after, *([parent] if parent is not None else [])]
    state: dict[str, int] = {}
    for start in nodes:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        state[start] = 1
        while stack:
            nid, i = stack.pop()
            if i < len(edges[nid]):
                stack.append((nid, i + 1))
                nxt = edges[nid][i]
                if state.get(nxt) == 1:
                    problems.append((nid, f"after: waiting for {nxt!r} makes a cycle of waits"))
                    return problems
                if not state.get(nxt):
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[nid] = 2
    return problems


def _chain(parents: dict[str, str | None], node_id: str) -> list[str]:
    """``node_id`` and its ancestors."""
    chain = [node_id]
    current = parents.get(node_id)
    while current is not None:
        chain.append(current)
        current = parents.get(current)
    return chain


def watched_nodes(tree: Tree) -> dict[str, frozenset[str]]:
    """Node id → the node ids whose unfinished instances it waits on (its ``after`` targets
    and their ancestors); only nodes with ``after``."""
    parents = tree.parents()
    return {
        node.id: frozenset(n for target in node.after for n in _chain(parents, target))
        for node in tree.walk()
        if node.after
    }
