"""JSON paths for error messages: ``nodes[0].children[2].config.prompt[0].template``."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

__all__ = ["format_loc", "pydantic_problems"]


_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")


def format_loc(loc: tuple[int | str, ...] | list[int | str], prefix: str = "") -> str:
    """``('nodes', 0, 'config')`` → ``nodes[0].config``.

    A key that is not a plain name (``my input``, ``a.b``, ``0``, ``""``) is written as a
    quoted JSON string in brackets, ``inputs["my input"].type``, so the path stays
    unambiguous.
    """
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(part):
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
        else:
            out += f".{part}" if out else part
    return out


def _describe(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "is required but missing"
    if kind == "extra_forbidden":
        return "is not a known field"
    if kind == "string_pattern_mismatch" and err["loc"] and err["loc"][-1] in ("id", "output_key"):
        return (
            f"{err['input']!r} is not a valid identifier: use letters, digits, '_' and '-', "
            "start with a letter or '_', at most 64 characters"
        )
    message = str(err["msg"])
    if kind.endswith("_type") or kind in ("literal_error", "enum"):
        shown = repr(err["input"])
        message += f" (got {shown[:60]}{'...' if len(shown) > 60 else ''})"
    return message


def pydantic_problems(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """One ``(path, message)`` per pydantic error, paths in JSON-path form."""
    problems = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        problems.append((format_loc(loc, prefix), _describe(err)))
    return problems
