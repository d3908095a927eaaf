"""A run's inputs: declared ones with defaults and types, given ones from the CLI or editor."""

from __future__ import annotations

import json
from typing import Any

from genarun_studio.core.textsafe import clip
from genarun_studio.core.tree import InputSpec, Tree
from genarun_studio.errors import InputError

__all__ = ["coerce_input", "resolve_inputs"]


def coerce_input(name: str, spec: InputSpec, value: Any) -> Any:
    """``value`` as the declared type; strings from a command line are converted."""
    kind = spec.type
    if isinstance(value, str) and kind != "string":
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InputError(f"input {name!r} should be {kind}, got {clip(repr(value))}") from None
    if not _is_kind(value, kind):
        raise InputError(f"input {name!r} should be {kind}, got {json.dumps(value)[:60]}")
    return value


def _is_kind(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    types: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "array": list,
        "object": dict,
    }
    return isinstance(value, types[kind])


def resolve_inputs(tree: Tree, given: dict[str, Any]) -> dict[str, Any]:
    """Declared defaults plus given values, checked; raises InputError listing what is wrong.

    A tree that declares no inputs accepts any (legacy trees name theirs only in
    ``requiredInputs``); one that declares inputs refuses unknown names, which are typos.
    Every root node's ``required_inputs`` must be present.
    """
    resolved: dict[str, Any] = {}
    if tree.inputs:
        unknown = sorted(set(given) - set(tree.inputs))
        if unknown:
            declared = ", ".join(sorted(tree.inputs))
            raise InputError(f"unknown input(s) {', '.join(unknown)} (declared: {declared})")
    for name, spec in tree.inputs.items():
        if name in given:
            resolved[name] = coerce_input(name, spec, given[name])
        elif spec.default is not None:
            resolved[name] = spec.default
    for name, value in given.items():
        resolved.setdefault(name, value)
    missing = [n for n, s in tree.inputs.items() if s.required and n not in resolved]
    for root in tree.nodes:
        if root.enabled:
            missing += [n for n in root.required_inputs if n not in resolved and n not in missing]
    if missing:
        raise InputError(
            f"missing required input(s): {', '.join(missing)} (give them with --input NAME=VALUE)"
        )
    return resolved
