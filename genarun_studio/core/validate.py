"""Checks of a whole tree beyond its shape: ids, node types and configs, templates, variables.

Errors make a tree unrunnable (duplicate ids, unknown types, invalid configs, broken
templates, output keys that would overwrite each other); warnings point at likely mistakes
(a ``${var}`` no input or ancestor provides). The editor shows both as you type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from genarun_studio.core import template as tpl
from genarun_studio.core.jsonpath import pydantic_problems
from genarun_studio.core.registry import Registry
from genarun_studio.core.tree import Node, Tree
from genarun_studio.errors import NodeTypeError, TemplateError

__all__ = ["BUILTIN_VARIABLES", "Problem", "check_tree", "node_paths"]

BUILTIN_VARIABLES = frozenset({"i", "index", "parent", "item"})


@dataclass(frozen=True)
class Problem:
    severity: Literal["error", "warning"]
    path: str
    message: str
    node_id: str | None = None

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"


def node_paths(tree: Tree) -> dict[str, str]:
    """Node id → JSON path in the native file (``nodes[0].children[1]``); first one wins."""
    paths: dict[str, str] = {}
    stack = [(n, f"nodes[{i}]") for i, n in reversed(list(enumerate(tree.nodes)))]
    while stack:
        node, path = stack.pop()
        paths.setdefault(node.id, path)
        stack.extend(
            (c, f"{path}.children[{i}]") for i, c in reversed(list(enumerate(node.children)))
        )
    return paths


def check_tree(tree: Tree, registry: Registry) -> list[Problem]:
    """Every problem in the tree, errors and warnings, in file order."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    inputs = set(tree.inputs)
    # (node, path, names visible to it, output scope id, parent fans out)
    stack: list[tuple[Node, str, frozenset[str], str]] = [
        (n, f"nodes[{i}]", frozenset(inputs), "") for i, n in reversed(list(enumerate(tree.nodes)))
    ]
    scopes: dict[tuple[str, str], str] = {}
    while stack:
        node, path, visible, scope = stack.pop()
        if node.id in seen:
            problems.append(
                Problem(
                    "error",
                    f"{path}.id",
                    f"node id {node.id!r} is already used at {seen[node.id]}; ids must be unique",
                    node.id,
                )
            )
        else:
            seen[node.id] = path
        clash = scopes.get((scope, node.key))
        if clash is not None and clash != node.id:
            problems.append(
                Problem(
                    "error",
                    f"{path}.output_key",
                    f"output key {node.key!r} is also "
                    f"written by node {clash!r} into the same object of output.json",
                    node.id,
                )
            )
        scopes.setdefault((scope, node.key), node.id)
        fans_out = _check_node(node, path, visible, tree, registry, problems)
        child_visible = visible | {node.key, node.id}
        child_scope = f"{scope}/{node.id}" if fans_out else scope
        stack.extend(
            (c, f"{path}.children[{i}]", child_visible, child_scope)
            for i, c in reversed(list(enumerate(node.children)))
        )
    return problems


def _check_node(
    node: Node,
    path: str,
    visible: frozenset[str],
    tree: Tree,
    registry: Registry,
    problems: list[Problem],
) -> bool:
    """Check one node; return whether its output may be an array (a fan-out)."""
    try:
        node_type = registry.get(node.type)
    except NodeTypeError as exc:
        problems.append(Problem("error", f"{path}.type", str(exc), node.id))
        return True
    try:
        config = node_type.parse_config(node.config)
    except ValidationError as exc:
        problems += [
            Problem("error", p, m, node.id) for p, m in pydantic_problems(exc, f"{path}.config")
        ]
        return True
    known = visible | BUILTIN_VARIABLES
    for name in node.required_inputs:
        if name not in visible:
            problems.append(
                Problem(
                    "warning",
                    f"{path}.required_inputs",
                    f"requires {name!r}, which no input or ancestor provides",
                    node.id,
                )
            )
    for field_path, text in node_type.templates(config):
        where = f"{path}.{field_path}"
        try:
            parsed = tpl.parse(text)
        except TemplateError as exc:
            problems.append(Problem("error", where, str(exc), node.id))
            continue
        for ref in parsed.variables():
            if ref.namespace is None and ref.root not in known:
                shown = ", ".join(sorted(known - BUILTIN_VARIABLES)) or "none"
                problems.append(
                    Problem(
                        "warning",
                        where,
                        f"unknown variable '{ref.text}' (available: {shown})",
                        node.id,
                    )
                )
    shape = node_type.output_shape(config)
    return shape.kind in ("string-array", "object-array") or shape.min_items is not None
