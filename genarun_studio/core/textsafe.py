"""Text that can always be written: unpaired surrogates replaced, long values cut.

Python strings may hold lone UTF-16 surrogates (``"\\ud83d"``): a JSON ``\\ud83d`` escape
decodes to one, e.g. in a model answer cut in the middle of an emoji. Such a string cannot be
encoded as UTF-8, so writing it to the journal would fail after the answer was paid for.
:func:`scrub` replaces each with U+FFFD and says how many it replaced; :func:`clip` keeps an
error message short when it quotes a value that may be huge.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["REPLACEMENT", "clip", "first_unencodable", "scrub", "scrub_text"]

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
_CLIP = 200


def scrub_text(text: str) -> tuple[str, int]:
    """``text`` with every surrogate code point replaced by U+FFFD, and how many were."""
    if text.isascii():
        return text, 0
    return _SURROGATE.subn(REPLACEMENT, text)


def scrub(value: Any) -> tuple[Any, int]:
    """A JSON-like value with every string (dict keys too) scrubbed, and the count replaced.

    The value is returned as it is (not copied) when nothing needed replacing; nesting is
    walked without recursion limits mattering for JSON depth (JSON from a provider is
    bounded by its parser)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        total = 0
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str):
                key, n = scrub_text(key)
                total += n
            item, n = scrub(item)
            total += n
            out[key] = item
        return (out, total) if total else (value, 0)
    if isinstance(value, list | tuple):
        total = 0
        items = []
        for item in value:
            item, n = scrub(item)
            total += n
            items.append(item)
        if not total:
            return value, 0
        return (items if isinstance(value, list) else tuple(items)), total
    return value, 0


def first_unencodable(data: Any) -> list[str | int] | None:
    """The location (keys and indexes) of the first string — key or value — in ``data`` that
    cannot be encoded as UTF-8; None when every one can. Walks without recursion."""
    stack: list[tuple[Any, list[str | int]]] = [(data, [])]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, str):
            if scrub_text(value)[1]:
                return loc
        elif isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                if isinstance(key, str) and scrub_text(key)[1]:
                    return [*loc, scrub_text(key)[0]]  # the location is shown: keep it writable
                stack.append((item, [*loc, key]))
        elif isinstance(value, list):
            stack.extend((item, [*loc, i]) for i, item in reversed(list(enumerate(value))))
    return None


def clip(text: str, limit: int = _CLIP) -> str:
    """``text`` when it is at most ``limit`` characters, else its start, an ellipsis and its
    length: for error messages that quote a path or value the user may have made huge."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"
