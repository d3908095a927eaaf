"""JSON syntax errors in words: what is wrong, where, and the line itself with a caret.

Python's :mod:`json` says "Expecting property name enclosed in double quotes" for a
trailing comma; a person hand-editing a tree wants "a trailing comma before '}'" and the
spot. :func:`describe_json_error` looks at the text around the error to name the usual
mistakes: trailing and missing commas, unquoted keys, single quotes, comments, strings
that never end, Python's ``True`` / ``None``, a missing colon, text after the end.
"""

from __future__ import annotations

import json
import re

__all__ = ["describe_json_error"]

_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NOT_JSON_WORDS = {
    "True": "true",
    "False": "false",
    "None": "null",
    "undefined": "null",
    "NULL": "null",
    "TRUE": "true",
    "FALSE": "false",
}
_WIDTH = 100
"""Longest stretch of a line shown (a minified file is one huge line)."""


def _previous(text: str, pos: int) -> int:
    """Index of the last non-blank character before ``pos`` (-1 when none)."""
    i = pos - 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    return i


def _what(text: str, exc: json.JSONDecodeError) -> tuple[str, int]:
    """(what is wrong, the position to point at)."""
    pos = min(exc.pos, len(text))
    here = text[pos] if pos < len(text) else ""
    msg = exc.msg
    before = _previous(text, pos)
    if msg.startswith("Unterminated string"):
        return "a string that never ends (its closing double quote is missing)", pos
    if msg.startswith("Invalid control character"):
        if here == "\n":
            return "a line break inside a string (write \\n, or close the string)", pos
        return "a control character inside a string (write it as an escape, e.g. \\t)", pos
    if msg.startswith("Invalid \\escape") or msg.startswith("Invalid \\uXXXX"):
        return "an invalid escape in a string (write \\\\ for a backslash)", pos
    if (here == "/" and text[pos : pos + 2] in ("//", "/*")) or here == "#":
        return "a comment: JSON has no comments (remove it)", pos
    if here == "'":
        return 'single quotes: JSON strings and keys need double quotes (")', pos
    if not here:
        return "the text ends too early (a missing value, '}' or ']')", max(before + 1, 0)
    if msg.startswith("Expecting property name"):
        if here == "}" and before >= 0 and text[before] == ",":
            return "a trailing comma before '}' (remove it)", before
        word = _WORD.match(text, pos)
        if word:
            return f'an unquoted key {word[0]!r}: keys need double quotes ("{word[0]}")', pos
        return 'a key is missing here (keys are "quoted strings")', pos
    if msg == "Expecting value":
        if here in "]}" and before >= 0 and text[before] == ",":
            return f"a trailing comma before {here!r} (remove it)", before
        word = _WORD.match(text, pos)
        if word and word[0] in _NOT_JSON_WORDS:
            return f"{word[0]!r} is not JSON: write {_NOT_JSON_WORDS[word[0]]}", pos
        if word:
            return f'an unquoted text {word[0]!r}: strings need double quotes ("…")', pos
        return "a value is missing here", pos
    if msg == "Expecting ',' delimiter":
        return "a missing comma between two items", pos
    if msg == "Expecting ':' delimiter":
        return "a missing ':' after the key", pos
    if msg == "Extra data":
        return "more text after the end of the JSON document", pos
    return msg[:1].lower() + msg[1:], pos


def _caret(line: str, col: int) -> str:
    """The line (a window of it when long) and a caret under column ``col`` (1-based)."""
    start = 0
    if len(line) > _WIDTH:
        start = max(0, min(col - 1 - _WIDTH // 2, len(line) - _WIDTH))
    shown = line[start : start + _WIDTH]
    pad = "".join("\t" if ch == "\t" else " " for ch in shown[: col - 1 - start])
    lead = "…" if start else ""
    return f"    {lead}{shown}\n    {' ' * len(lead)}{pad}^"


def describe_json_error(text: str, exc: json.JSONDecodeError) -> str:
    """``at line L, column C: what is wrong`` followed by the line and a caret under the
    spot (so a message reads "tree.json is not valid JSON at line 3, column 16: ...")."""
    what, pos = _what(text, exc)
    line_no = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : line_end if line_end != -1 else len(text)].rstrip("\r")
    col = pos - line_start + 1
    return f"at line {line_no}, column {col}: {what}\n{_caret(line, col)}"
