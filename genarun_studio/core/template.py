"""Template strings: ``${variables}``, ``[random | picks]`` and backslash escapes.

Syntax:

* ``${name}``, ``${a.b.c}``, ``${a[0]}``, ``${a.0}``: a variable, looked up in the render
  context through nested dict fields and list indexes. Whitespace at the edges of ``${ a.b }``
  is ignored. A path segment is a name (``[A-Za-z_][A-Za-z0-9_-]*``, so node ids such as
  ``lizard-care`` are names) or an integer index.
* ``${ns:name}``: a namespaced reference (e.g. ``${secret:OPENAI}``), resolved only by the
  ``resolvers`` given to :meth:`Template.render`.
* ``[cats | a lizard | me]``: picks one option at random. A bracket is a pick only when it
  holds a top-level ``|`` (one not inside a nested bracket or a ``${...}``). Options are
  stripped of surrounding whitespace, may hold variables and nested picks, and only the
  chosen option is rendered.
* ``\\[``, ``\\]``, ``\\|``, ``\\$``, ``\\\\`` escape one character; any other backslash is
  literal.
* Everything else is literal: brackets without a top-level ``|`` (JSON examples such as
  ``['a', 'b']``), unmatched brackets, a ``|`` outside brackets, a ``$`` not before ``{``.

Parsing and rendering are iterative and linear in the template length, so long prompts and
deeply nested brackets are safe. Picks may nest at most :data:`MAX_PICK_DEPTH` deep (a
deeper one is a parse error), and :meth:`Template.render` can stop a render as soon as its
text passes a size limit, before the text is built.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from genarun_studio.core.textsafe import clip
from genarun_studio.errors import TemplateError

__all__ = [
    "MAX_PICK_DEPTH",
    "PickRecord",
    "RenderTooLarge",
    "Template",
    "VarRef",
    "lookup",
    "parse",
    "render",
    "render_value",
    "rng_for",
    "to_text",
]

_SPECIAL = re.compile(r"[\\\[\]|$]")
_ESCAPABLE = frozenset("[]|$\\")
_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_SEGMENT = rf"(?:{_NAME}|[0-9]+)"
_PATH_RE = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT}|\[[0-9]+\])*")
_TOKEN_RE = re.compile(rf"({_NAME})|([0-9]+)")
_NAMESPACE_RE = re.compile(_NAME)
_HINT_NAMES = 10
_NAME_RULE = (
    "a name is letters, digits, '_' and '-', not starting with a digit; "
    "join names with '.' and index lists with [N] or .N"
)
_CLIP = 40
_MAX_INDEX_DIGITS = 18
MAX_PICK_DEPTH = 50
"""How deep ``[a | [b | c]]`` picks may nest: deeper is surely generated, not written."""


class RenderTooLarge(TemplateError):
    """A render passed its ``max_chars``: raised before the oversized text is built."""

    def __init__(self, size: int, limit: int, template: str) -> None:
        self.size = size
        self.limit = limit
        super().__init__(
            f"the rendered text passes the limit of {limit:,} characters (at least {size:,})",
            template=template,
        )


@dataclass(frozen=True)
class VarRef:
    """One ``${...}`` reference: its path, optional namespace and position in the template."""

    path: tuple[str | int, ...]
    namespace: str | None
    position: int

    @property
    def text(self) -> str:
        """The dotted form, ``a.b.0``, prefixed with ``ns:`` when namespaced."""
        dotted = ".".join(str(segment) for segment in self.path)
        return f"{self.namespace}:{dotted}" if self.namespace is not None else dotted

    @property
    def root(self) -> str | int:
        """The first path segment (the top-level context name)."""
        return self.path[0]


@dataclass(frozen=True)
class PickRecord:
    """What one render picked, for run logs."""

    position: int
    """Index of the pick's ``[`` in the template."""
    options: tuple[str, ...]
    """The options' source text, stripped."""
    chosen: int
    """Index of the chosen option."""
    value: str
    """The chosen option, rendered."""


class _Pick:
    """A parsed ``[a | b]``: options as node sequences, plus their source text."""

    __slots__ = ("depth", "options", "position", "spans")

    def __init__(
        self,
        position: int,
        options: tuple[tuple[_Node, ...], ...],
        spans: tuple[tuple[int, int], ...],
        depth: int,
    ) -> None:
        self.position = position
        self.options = options
        self.spans = spans
        """``(start, stop)`` of each option in the source: the text is cut only for a
        record, so nested picks do not copy their inner source once per level."""
        self.depth = depth
        """1 for a pick with no pick inside, else 1 + the deepest inside."""

    def texts(self, source: str) -> tuple[str, ...]:
        return tuple(source[start:stop].strip() for start, stop in self.spans)


_Node: TypeAlias = str | VarRef | _Pick


class _Frame:
    """An open ``[`` while parsing: where it starts in the token list and its separators."""

    __slots__ = ("position", "seps", "start")

    def __init__(self, position: int, start: int) -> None:
        self.position = position
        self.start = start
        self.seps: list[tuple[int, int]] = []
        """``(token index, source position)`` of each top-level ``|``."""


class _RenderFrame:
    """One node sequence being rendered; ``pick`` is set when it is a chosen option."""

    __slots__ = ("buf", "chosen", "index", "nodes", "pick", "slot")

    def __init__(
        self, nodes: Sequence[_Node], pick: _Pick | None = None, chosen: int = 0, slot: int = 0
    ) -> None:
        self.nodes = nodes
        self.index = 0
        self.buf: list[str] = []
        self.pick = pick
        self.chosen = chosen
        self.slot = slot


Resolvers: TypeAlias = Mapping[str, Callable[[str], str]]


class Template:
    """A parsed template, to treat as immutable: :func:`parse` (cached) or ``Template(s)``.

    Raises :class:`TemplateError` (with ``position``) when ``source`` does not parse.
    """

    __slots__ = ("_has_picks", "_nodes", "_variables", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._nodes, self._variables, self._has_picks = _parse(source)

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Template) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)

    def variables(self) -> list[VarRef]:
        """Every reference in source order, including those inside any pick option."""
        return list(self._variables)

    def sole_reference(self) -> VarRef | None:
        """The reference when the whole template is one ``${...}`` and nothing else."""
        if len(self._nodes) == 1 and isinstance(self._nodes[0], VarRef):
            return self._nodes[0]
        return None

    def has_picks(self) -> bool:
        """Whether the template holds at least one ``[a | b]`` pick."""
        return self._has_picks

    def render(
        self,
        context: Mapping[str, Any],
        rng: random.Random | None = None,
        picks: list[PickRecord] | None = None,
        resolvers: Resolvers | None = None,
        max_chars: int | None = None,
    ) -> str:
        """Render against ``context``.

        With ``max_chars``, :class:`RenderTooLarge` is raised as soon as the rendered text
        would pass that many characters (nothing that large is built).

        Each pick calls ``rng.randrange(len(options))`` (``rng`` defaults to
        ``random.Random(0)``), outer picks before the picks inside their chosen option. When
        ``picks`` is given, one :class:`PickRecord` per pick made is appended to it, in that
        order, once the render succeeds. Raises :class:`TemplateError` for a missing variable
        or an unknown namespace; exceptions a resolver raises propagate, except ``KeyError``,
        which becomes an unknown-variable error.
        """
        if rng is None:
            rng = random.Random(0)
        records: list[PickRecord | None] = []
        frames = [_RenderFrame(self._nodes)]
        size = 0  # characters of literal text and values: what the result will hold
        while True:
            frame = frames[-1]
            if frame.index == len(frame.nodes):
                value = "".join(frame.buf)
                frames.pop()
                pick = frame.pick
                if pick is None:
                    if picks is not None:
                        picks.extend(record for record in records if record is not None)
                    return value
                records[frame.slot] = PickRecord(
                    pick.position, pick.texts(self.source), frame.chosen, value
                )
                frames[-1].buf.append(value)
                continue
            node = frame.nodes[frame.index]
            frame.index += 1
            if isinstance(node, str):
                text = node
            elif isinstance(node, VarRef):
                text = self._resolve(node, context, resolvers)
            else:
                text = None
            if text is not None:
                size += len(text)
                if max_chars is not None and size > max_chars:
                    raise RenderTooLarge(size, max_chars, self.source)
                frame.buf.append(text)
            else:
                assert isinstance(node, _Pick)
                chosen = rng.randrange(len(node.options))
                records.append(None)
                frames.append(_RenderFrame(node.options[chosen], node, chosen, len(records) - 1))

    def _resolve(self, ref: VarRef, context: Mapping[str, Any], resolvers: Resolvers | None) -> str:
        if ref.namespace is None:
            return to_text(_lookup(context, ref.path, self.source, ref.position))
        resolver = None if resolvers is None else resolvers.get(ref.namespace)
        if resolver is None:
            known = ", ".join(sorted(resolvers)) if resolvers else "none"
            raise TemplateError(
                f"unknown namespace '{ref.namespace}' in '${{{clip(ref.text)}}}' at position "
                f"{ref.position} (known namespaces: {known})",
                template=self.source,
                position=ref.position,
            )
        name = ".".join(str(segment) for segment in ref.path)
        try:
            return to_text(resolver(name))
        except KeyError:
            raise TemplateError(
                f"unknown variable '{clip(ref.text)}' at position {ref.position}",
                template=self.source,
                position=ref.position,
            ) from None


def _parse(source: str) -> tuple[tuple[_Node, ...], tuple[VarRef, ...], bool]:
    """Tokenise ``source`` in one pass; a closing ``]`` folds its tokens into a pick."""
    tokens: list[_Node] = []
    variables: list[VarRef] = []
    frames: list[_Frame] = []
    has_picks = False
    pos = 0
    end = len(source)
    while pos < end:
        match = _SPECIAL.search(source, pos)
        if match is None:
            tokens.append(source[pos:])
            break
        i = match.start()
        if i > pos:
            tokens.append(source[pos:i])
        char = source[i]
        if char == "\\":
            following = source[i + 1 : i + 2]
            if following and following in _ESCAPABLE:
                tokens.append(following)
                pos = i + 2
            else:
                tokens.append("\\")
                pos = i + 1
        elif char == "$":
            if source.startswith("{", i + 1):
                ref, pos = _parse_ref(source, i)
                variables.append(ref)
                tokens.append(ref)
            else:
                tokens.append("$")
                pos = i + 1
        elif char == "[":
            frames.append(_Frame(i, len(tokens)))
            tokens.append("[")
            pos = i + 1
        elif char == "|":
            if frames:
                frames[-1].seps.append((len(tokens), i))
            tokens.append("|")
            pos = i + 1
        else:
            if frames and frames[-1].seps:
                _fold_pick(source, tokens, frames.pop(), i)
                has_picks = True
            else:
                if frames:
                    frames.pop()
                tokens.append("]")
            pos = i + 1
    return _merge(tokens), tuple(variables), has_picks


def _fold_pick(source: str, tokens: list[_Node], frame: _Frame, close: int) -> None:
    """Replace the tokens from ``frame``'s ``[`` on with one :class:`_Pick`."""
    bounds = [(frame.start, frame.position), *frame.seps, (len(tokens), close)]
    options: list[tuple[_Node, ...]] = []
    spans: list[tuple[int, int]] = []
    for (begin, src_begin), (stop, src_stop) in itertools.pairwise(bounds):
        options.append(_strip(_merge(tokens[begin + 1 : stop])))
        spans.append((src_begin + 1, src_stop))
    inner = max((t.depth for t in tokens[frame.start + 1 :] if isinstance(t, _Pick)), default=0)
    if inner >= MAX_PICK_DEPTH:
        raise TemplateError(
            f"picks nested more than {MAX_PICK_DEPTH} deep at position {frame.position} "
            "(a [a | [b | ...]] inside another that many times)",
            template=source,
            position=frame.position,
        )
    del tokens[frame.start :]
    tokens.append(_Pick(frame.position, tuple(options), tuple(spans), inner + 1))


def _merge(tokens: Sequence[_Node]) -> tuple[_Node, ...]:
    """Join runs of adjacent text tokens."""
    merged: list[_Node] = []
    run: list[str] = []
    for token in tokens:
        if isinstance(token, str):
            run.append(token)
            continue
        if run:
            merged.append("".join(run))
            run = []
        merged.append(token)
    if run:
        merged.append("".join(run))
    return tuple(node for node in merged if node != "")


def _strip(nodes: tuple[_Node, ...]) -> tuple[_Node, ...]:
    """Strip whitespace from the literal text at both ends of an option."""
    items = list(nodes)
    if items and isinstance(items[0], str):
        items[0] = items[0].lstrip()
    if items and isinstance(items[-1], str):
        items[-1] = items[-1].rstrip()
    return tuple(node for node in items if node != "")


def _parse_ref(source: str, start: int) -> tuple[VarRef, int]:
    """Parse the ``${...}`` whose ``$`` is at ``start``; return it and the index after ``}``."""
    close = source.find("}", start + 2)
    if close < 0:
        raise TemplateError(
            f"unclosed '${{' at position {start} (no matching '}}')",
            template=source,
            position=start,
        )
    body = source[start + 2 : close].strip()
    if not body:
        raise TemplateError(f"empty '${{}}' at position {start}", template=source, position=start)
    namespace: str | None = None
    path_text = body
    if ":" in body:
        namespace, path_text = (part.strip() for part in body.split(":", 1))
        if not _NAMESPACE_RE.fullmatch(namespace):
            raise TemplateError(
                f"invalid namespace '{_clip(namespace)}' at position {start} "
                "(a namespace is a name such as 'secret', as in '${secret:KEY}')",
                template=source,
                position=start,
            )
    if not _PATH_RE.fullmatch(path_text):
        raise TemplateError(
            f"invalid variable name '{_clip(path_text)}' at position {start} ({_NAME_RULE})",
            template=source,
            position=start,
        )
    tokens = _TOKEN_RE.findall(path_text)
    if any(len(index) > _MAX_INDEX_DIGITS for _, index in tokens):
        raise TemplateError(
            f"list index too large in '{_clip(path_text)}' at position {start}",
            template=source,
            position=start,
        )
    path = tuple(name if name else int(index) for name, index in tokens)
    return VarRef(path, namespace, start), close + 1


def _clip(text: str) -> str:
    return text if len(text) <= _CLIP else text[: _CLIP - 3] + "..."


@functools.lru_cache(maxsize=4096)
def parse(source: str) -> Template:
    """Parse ``source`` (cached); raises :class:`TemplateError` with the problem's position."""
    return Template(source)


def render(
    source: str,
    context: Mapping[str, Any],
    rng: random.Random | None = None,
    picks: list[PickRecord] | None = None,
    resolvers: Resolvers | None = None,
    max_chars: int | None = None,
) -> str:
    """Parse (cached) and render ``source``; see :meth:`Template.render`."""
    return parse(source).render(context, rng, picks, resolvers, max_chars)


def render_value(
    value: Any,
    context: Mapping[str, Any],
    rng: random.Random | None = None,
    picks: list[PickRecord] | None = None,
    resolvers: Resolvers | None = None,
    max_chars: int | None = None,
) -> Any:
    """Render every string in a JSON-like value: dict values and list/tuple items, recursively.

    Dict keys and non-string leaves are kept as they are; one ``rng`` (default
    ``random.Random(0)``) serves every string, in document order. A string that is exactly
    one reference (``"${items}"``) becomes the referenced value itself, not its text, so a
    value can pass a list or an object on. ``max_chars`` bounds each rendered string.
    """
    if rng is None:
        rng = random.Random(0)
    if isinstance(value, str):
        sole = parse(value).sole_reference()
        if sole is not None and sole.namespace is None:
            return _lookup(context, sole.path, value, sole.position)
        return render(value, context, rng, picks, resolvers, max_chars)
    if isinstance(value, Mapping):
        return {
            key: render_value(item, context, rng, picks, resolvers, max_chars)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [render_value(item, context, rng, picks, resolvers, max_chars) for item in value]
    if isinstance(value, tuple):
        return tuple(
            render_value(item, context, rng, picks, resolvers, max_chars) for item in value
        )
    return value


def lookup(context: Mapping[str, Any], path: Sequence[str | int]) -> Any:
    """The value at ``path`` in ``context``, through dict fields and list indexes.

    An integer segment also finds a dict key equal to its decimal string. Raises
    :class:`TemplateError` "unknown variable 'a.b'" (with the available top-level names) when
    any step is missing, out of range, or indexes something that is not a dict or list.
    """
    return _lookup(context, path, None, None)


def _lookup(
    context: Mapping[str, Any],
    path: Sequence[str | int],
    template: str | None,
    position: int | None,
) -> Any:
    if not path:
        raise TemplateError("empty variable path", template=template, position=position)
    current: Any = context
    for segment in path:
        found, current = _step(current, segment)
        if not found:
            raise _unknown(context, path, template, position)
    return current


def _step(value: Any, segment: str | int) -> tuple[bool, Any]:
    if isinstance(value, Mapping):
        if segment in value:
            return True, value[segment]
        if isinstance(segment, int) and str(segment) in value:
            return True, value[str(segment)]
        return False, None
    if (
        isinstance(segment, int)
        and isinstance(value, Sequence)
        and not isinstance(value, str | bytes | bytearray)
        and 0 <= segment < len(value)
    ):
        return True, value[segment]
    return False, None


def _unknown(
    context: Mapping[str, Any],
    path: Sequence[str | int],
    template: str | None,
    position: int | None,
) -> TemplateError:
    dotted = ".".join(str(segment) for segment in path)
    names = sorted(clip(str(key), _CLIP) for key in context)
    if not names:
        hint = "no variables are available"
    else:
        more = ", ..." if len(names) > _HINT_NAMES else ""
        hint = "available: " + ", ".join(names[:_HINT_NAMES]) + more
    where = f" at position {position}" if position is not None else ""
    return TemplateError(
        f"unknown variable '{clip(dotted)}'{where} ({hint})",
        template=template,
        position=position,
    )


def to_text(value: Any) -> str:
    """A value as prompt text: ``None`` → ``""``, bools → ``true``/``false``, numbers via
    ``str()``, dicts and lists (and tuples) as JSON with non-ASCII kept, anything else
    ``str()``."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(
            dict(value) if isinstance(value, Mapping) else value, ensure_ascii=False, default=str
        )
    return str(value)


def rng_for(seed: int, key: str) -> random.Random:
    """A deterministic RNG for (run seed, node instance key), stable across processes.

    Seeded from the SHA-256 of ``f"{seed}:{key}"``, never from the per-process salted
    ``hash()``.
    """
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))
