"""Syntax colouring of template strings in the editor's text fields.

:class:`TemplateHighlighter` colours what :mod:`genarun_studio.core.template` gives meaning
to, by the same rules:

* ``${...}`` references, in one colour; a reference whose first name is not among the
  *known* names (:meth:`TemplateHighlighter.set_known`) is underlined with a red wave, and
  a malformed one (``${``, ``${}``, ``${1 2}``) is underlined as an error;
* the ``[``, ``|`` and ``]`` of random picks ``[a | b]`` — a bracket is a pick only when it
  holds a top-level ``|`` (one not inside a nested bracket or a ``${...}``), so JSON examples
  such as ``['a', 'b']`` stay plain;
* the escapes ``\\[``, ``\\]``, ``\\|``, ``\\$`` and ``\\\\``.

The scan (:func:`template_spans`) is linear, never raises, and sees the whole document, so a
pick spanning several lines is coloured as one.
"""

from __future__ import annotations

import bisect
import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QPalette,
    QSyntaxHighlighter,
    QTextBlock,
    QTextCharFormat,
    QTextDocument,
)

from genarun_studio.core import template as tpl
from genarun_studio.core.validate import BUILTIN_VARIABLES

__all__ = ["Span", "SpanKind", "TemplateHighlighter", "template_spans"]

SpanKind = Literal["variable", "unknown", "error", "pick", "escape"]

_SPECIAL = re.compile(r"[\\\[\]|$]")
_ESCAPABLE = frozenset("[]|$\\")


@dataclass(frozen=True)
class Span:
    """A coloured run of a template: ``start`` and ``length`` in Python characters."""

    start: int
    length: int
    kind: SpanKind
    name: str = ""
    """For ``variable`` / ``unknown``: the reference's first name (its context root)."""


def template_spans(text: str, known: Iterable[str] | None = None) -> list[Span]:
    """The coloured spans of ``text``, sorted by start; never raises.

    ``known``: the names a reference may start with (the builtins ``i``, ``index``,
    ``parent`` and ``item`` are always known); a plain reference to any other name is an
    ``unknown`` span. ``None`` checks no names. Namespaced references (``${secret:KEY}``)
    are never unknown: their resolvers decide at run time.
    """
    names = None if known is None else frozenset(known) | BUILTIN_VARIABLES
    spans: list[Span] = []
    # Open brackets: (position of "[", positions of its top-level "|").
    frames: list[tuple[int, list[int]]] = []
    pos = 0
    end = len(text)
    while pos < end:
        match = _SPECIAL.search(text, pos)
        if match is None:
            break
        i = match.start()
        char = text[i]
        if char == "\\":
            if i + 1 < end and text[i + 1] in _ESCAPABLE:
                spans.append(Span(i, 2, "escape"))
                pos = i + 2
            else:
                pos = i + 1
        elif char == "$":
            if text.startswith("{", i + 1):
                close = text.find("}", i + 2)
                if close < 0:
                    spans.append(Span(i, 2, "error"))
                    pos = i + 2
                else:
                    spans.append(_reference(text[i : close + 1], i, names))
                    pos = close + 1
            else:
                pos = i + 1
        elif char == "[":
            frames.append((i, []))
            pos = i + 1
        elif char == "|":
            if frames:
                frames[-1][1].append(i)
            pos = i + 1
        else:  # "]"
            if frames:
                start, seps = frames.pop()
                if seps:
                    spans.append(Span(start, 1, "pick"))
                    spans.extend(Span(s, 1, "pick") for s in seps)
                    spans.append(Span(i, 1, "pick"))
            pos = i + 1
    spans.sort(key=lambda span: span.start)
    return spans


def _reference(source: str, start: int, names: frozenset[str] | None) -> Span:
    """The span of one ``${...}`` (``source`` is the reference itself)."""
    try:
        refs = tpl.parse(source).variables()
    except Exception:  # any parse failure is an error span, never an exception
        return Span(start, len(source), "error")
    if len(refs) != 1:
        return Span(start, len(source), "error")
    ref = refs[0]
    root = str(ref.root)
    if ref.namespace is None and names is not None and root not in names:
        return Span(start, len(source), "unknown", root)
    return Span(start, len(source), "variable", root)


def _utf16_offsets(text: str) -> list[int] | None:
    """Python index → UTF-16 offset for each index 0..len(text); None when they agree."""
    if text.isascii() or all(ord(c) < 0x10000 for c in text):
        return None
    offsets = [0] * (len(text) + 1)
    at = 0
    for index, char in enumerate(text):
        offsets[index] = at
        at += 2 if ord(char) >= 0x10000 else 1
    offsets[len(text)] = at
    return offsets


class TemplateHighlighter(QSyntaxHighlighter):
    """Colours templates in a ``QTextDocument`` (e.g. ``QPlainTextEdit.document()``).

    ``known`` (optional) is the set of names references may use; see :meth:`set_known`.
    Colours follow the application palette (lighter shades on a dark theme).
    """

    def __init__(
        self, parent: QTextDocument | QObject | None = None, known: Iterable[str] | None = None
    ) -> None:
        super().__init__(parent)
        self._known: frozenset[str] | None = None if known is None else frozenset(known)
        self._formats = _formats()
        # The scan of the whole document, keyed by its text.
        self._cache_text: str | None = None
        self._cache_spans: list[tuple[int, int, SpanKind]] = []
        self._cache_ends: list[int] = []
        # What each block was last coloured with, to re-colour blocks an edit elsewhere
        # changed (a "|" typed on line 3 turns the "[" on line 1 into a pick).
        self._applied: dict[int, tuple[tuple[int, int, str], ...]] = {}
        self._stale = QTimer(self)
        self._stale.setSingleShot(True)
        self._stale.setInterval(0)
        self._stale.timeout.connect(self._recolour_stale)
        self._watched: QTextDocument | None = None
        self._watch(self.document())

    # -- public ------------------------------------------------------------------------------

    def set_known(self, names: Iterable[str] | None) -> None:
        """Set the names ``${...}`` may start with (None: check none) and re-colour."""
        known = None if names is None else frozenset(names)
        if known != self._known:
            self._known = known
            self._cache_text = None
            self.rehighlight()

    def known(self) -> frozenset[str] | None:
        return self._known

    # -- QSyntaxHighlighter ------------------------------------------------------------------

    def setDocument(self, doc: QTextDocument | None) -> None:
        super().setDocument(doc)
        self._cache_text = None
        self._applied.clear()
        self._watch(doc)

    def highlightBlock(self, text: str) -> None:
        block = self.currentBlock()
        start = block.position()
        length = block.length() - 1  # without the block separator
        spans = self._spans()
        applied: list[tuple[int, int, str]] = []
        # Spans never overlap, so their ends are sorted too: skip those before the block.
        for index in range(bisect.bisect_right(self._cache_ends, start), len(spans)):
            span_start, span_length, kind = spans[index]
            if span_start >= start + length:
                break
            a = max(span_start, start)
            b = min(span_start + span_length, start + length)
            if b > a:
                self.setFormat(a - start, b - a, self._formats[kind])
                applied.append((a - start, b - a, kind))
        self._applied[block.blockNumber()] = tuple(applied)

    # -- internals ---------------------------------------------------------------------------

    def _watch(self, doc: QTextDocument | None) -> None:
        if self._watched is not None:
            with contextlib.suppress(RuntimeError, TypeError):  # already gone
                self._watched.contentsChange.disconnect(self._schedule)
        self._watched = doc
        if doc is not None:
            # A bare QTextDocument signals contents changes only once it has a layout.
            doc.documentLayout()
            doc.contentsChange.connect(self._schedule)

    def _schedule(self, *_args: object) -> None:
        self._stale.start()

    def _spans(self) -> list[tuple[int, int, SpanKind]]:
        """Spans of the whole document in UTF-16 offsets (the document's own positions)."""
        doc = self.document()
        if doc is None:
            return []
        # Keyed on the text itself: the document's revision is not yet updated while Qt
        # re-colours the blocks of an edit. ``toPlainText`` keeps positions (it maps U+2028
        # and U+00A0 to one character each), one copy per block is cheap for prompts.
        text = doc.toPlainText()
        if text == self._cache_text:
            return self._cache_spans
        offsets = _utf16_offsets(text)
        spans: list[tuple[int, int, SpanKind]] = []
        for span in template_spans(text, self._known):
            if offsets is None:
                spans.append((span.start, span.length, span.kind))
            else:
                begin = offsets[span.start]
                spans.append((begin, offsets[span.start + span.length] - begin, span.kind))
        self._cache_text = text
        self._cache_spans = spans
        self._cache_ends = [s + n for s, n, _ in spans]
        return spans

    def _recolour_stale(self) -> None:
        """Re-colour the blocks whose spans differ from what they were coloured with."""
        doc = self.document()
        if doc is None:
            return
        spans = self._spans()
        block: QTextBlock = doc.firstBlock()
        index = 0
        while block.isValid():
            start = block.position()
            stop = start + block.length() - 1
            wanted: list[tuple[int, int, str]] = []
            while index < len(spans) and spans[index][0] + spans[index][1] <= start:
                index += 1
            scan = index
            while scan < len(spans) and spans[scan][0] < stop:
                s, n, kind = spans[scan]
                a, b = max(s, start), min(s + n, stop)
                if b > a:
                    wanted.append((a - start, b - a, kind))
                scan += 1
            if self._applied.get(block.blockNumber()) != tuple(wanted):
                self.rehighlightBlock(block)
            block = block.next()


def _formats() -> dict[SpanKind, QTextCharFormat]:
    """Character formats for each span kind, readable on light and dark palettes."""
    app = QGuiApplication.instance()
    dark = False
    if isinstance(app, QGuiApplication):
        dark = app.palette().color(QPalette.ColorRole.Base).lightness() < 128
    variable = QColor("#7cc4ff" if dark else "#0b62b8")
    pick = QColor("#e3a0ff" if dark else "#8a2bb5")
    escape = QColor("#9aa0a6" if dark else "#80868b")
    red = QColor("#ff6b6b" if dark else "#d93025")

    var_format = QTextCharFormat()
    var_format.setForeground(variable)
    unknown = QTextCharFormat(var_format)
    unknown.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
    unknown.setUnderlineColor(red)
    error = QTextCharFormat()
    error.setForeground(red)
    error.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
    error.setUnderlineColor(red)
    pick_format = QTextCharFormat()
    pick_format.setForeground(pick)
    pick_format.setFontWeight(QFont.Weight.Bold)
    escape_format = QTextCharFormat()
    escape_format.setForeground(escape)
    return {
        "variable": var_format,
        "unknown": unknown,
        "error": error,
        "pick": pick_format,
        "escape": escape_format,
    }
