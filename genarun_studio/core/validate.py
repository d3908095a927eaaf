"""Checks of a whole tree beyond its shape: ids, node types and configs, templates, variables.

Errors make a tree unrunnable (duplicate ids, unknown types, invalid configs, broken
templates, output keys that would overwrite each other); warnings point at likely mistakes
(a ``${var}`` no input or ancestor provides). The editor shows both as you type.

Output keys: a node writes ``{key: output}`` into the object its parent gives it, beside its
siblings and, unless it fans out, beside its own children. A node that fans out over an
array (``fan_out`` true and an array output) gives each child instance one item object: a
text item is written as ``{"value": item}``, an object item keeps its own fields. A child
key equal to ``value`` (under a text list) or to a required key of the items (under a list
of objects) would overwrite the item, and is an error like any other collision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from genarun_studio.core import template as tpl
from genarun_studio.core.jsonpath import pydantic_problems
from genarun_studio.core.ordering import after_problems
from genarun_studio.core.registry import Registry
from genarun_studio.core.textsafe import clip
from genarun_studio.core.tree import Node, Tree
from genarun_studio.errors import NodeTypeError, TemplateError
from genarun_studio.providers.base import OutputShape

__all__ = ["BUILTIN_VARIABLES", "Problem", "check_tree", "node_paths", "object_fields"]

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
    # (node, path, names visible to it, output scope: which object of output.json it writes,
    # whether an ancestor's object output has fields not declared, so any name may be one)
    stack: list[tuple[Node, str, frozenset[str], str, bool]] = [
        (n, f"nodes[{i}]", frozenset(inputs), "", False)
        for i, n in reversed(list(enumerate(tree.nodes)))
    ]
    scopes: dict[tuple[str, str], str] = {}
    # Keys the item objects of a fan-out already hold: (scope, key) → why.
    item_fields: dict[tuple[str, str], str] = {}
    while stack:
        node, path, visible, scope, open_fields = stack.pop()
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
        field = item_fields.get((scope, node.key))
        if field is not None:
            problems.append(
                Problem(
                    "error",
                    f"{path}.output_key",
                    f"output key {node.key!r} would overwrite {field}; choose another key",
                    node.id,
                )
            )
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
        shape = _check_node(node, path, visible, tree, registry, problems, open_fields)
        # Unknown type or invalid config: assume a fan-out, so no collision is made up.
        fans_out = node.fan_out and (shape is None or _is_array(shape))
        child_visible = visible | {node.key, node.id}
        # An object output's top-level fields are visible by bare name to the descendants
        # (decisions.md, "Object fields"): the declared ones are known names.
        fields, undeclared = object_fields(shape)
        child_visible |= fields
        child_open = open_fields or undeclared
        if not tree.inputs:  # legacy trees name their inputs only as required inputs
            child_visible |= set(node.required_inputs)
        child_scope = f"{scope}/{node.id}" if fans_out else scope
        if fans_out and shape is not None:
            if shape.kind == "string-array":
                item_fields[(child_scope, "value")] = (
                    f'the text of each item of {node.id!r} (written as {{"value": item}})'
                )
            for key in shape.required:
                item_fields[(child_scope, key)] = f"the field {key!r} every item of {node.id!r} has"
        stack.extend(
            (c, f"{path}.children[{i}]", child_visible, child_scope, child_open)
            for i, c in reversed(list(enumerate(node.children)))
        )
    paths = node_paths(tree)
    problems += [
        Problem("error", f"{paths.get(nid, 'nodes')}.after", message, nid)
        for nid, message in after_problems(tree)
    ]
    return problems


def _check_node(
    node: Node,
    path: str,
    visible: frozenset[str],
    tree: Tree,
    registry: Registry,
    problems: list[Problem],
    open_fields: bool = False,
) -> OutputShape | None:
    """Check one node; return its output shape (None when its type or config is invalid)."""
    try:
        node_type = registry.get(node.type)
    except NodeTypeError as exc:
        problems.append(Problem("error", f"{path}.type", str(exc), node.id))
        return None
    try:
        config = node_type.parse_config(node.config)
    except ValidationError as exc:
        problems += [
            Problem("error", p, m, node.id) for p, m in pydantic_problems(exc, f"{path}.config")
        ]
        return None
    if not tree.inputs:  # legacy trees declare their inputs only as required inputs
        visible = visible | set(node.required_inputs)
    known = visible | BUILTIN_VARIABLES
    for name in node.required_inputs:
        if name not in known and not open_fields:
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
            if ref.namespace is None and ref.root not in known and not open_fields:
                shown = clip(", ".join(sorted(known - BUILTIN_VARIABLES)) or "none")
                problems.append(
                    Problem(
                        "warning",
                        where,
                        f"unknown variable '{clip(ref.text)}' (available: {shown})",
                        node.id,
                    )
                )
    return node_type.output_shape(config)


def object_fields(shape: OutputShape | None) -> tuple[frozenset[str], bool]:
    """The top-level fields an output of ``shape`` declares (of each item, for a list of
    objects), and whether it may have others no one declared (so a name a descendant uses
    may be one of them: no "unknown variable" warning can be sure)."""
    if shape is None:
        return frozenset(), False  # an invalid node: its own error says enough
    if shape.kind not in ("object", "object-array", "json"):
        return frozenset(), False
    schema = shape.json_schema or {}
    if shape.kind == "object-array" and isinstance(schema.get("items"), dict):
        schema = schema["items"]
    props = schema.get("properties")
    declared = set(shape.required) | (set(props) if isinstance(props, dict) else set())
    closed = schema.get("additionalProperties") is False
    return frozenset(declared), not declared and not closed


def _is_array(shape: OutputShape) -> bool:
    """Whether an output of this shape is (or may be) an array, so its children fan out."""
    return shape.kind in ("string-array", "object-array") or shape.min_items is not None
