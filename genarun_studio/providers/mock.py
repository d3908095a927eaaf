"""The offline mock provider: deterministic, plausible answers with no network and no cost.

It lets a new user run an example tree without an API key and lets tests exercise tree
structure. Every answer is a pure function of the request (seed key, model, message contents,
output shape), derived through SHA-256 so it is stable across processes; only the simulated
failures of ``fail_rate`` also depend on how often the same key was tried before.
"""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import io
import json
import math
import random
import re
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from genarun_studio.errors import ProviderError
from genarun_studio.providers.base import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    ImageResponse,
    OutputShape,
    Provider,
    ToolCall,
    Usage,
)

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

    _Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

__all__ = ["MockProvider"]

_MAX_DEPTH = 8
_DEFAULT_ITEMS = 3
_MAX_IMAGE_SIDE = 512
_MAX_REQUEST_SIDE = 16384

_WORD_RE = re.compile(r"[^\W\d_]+")
_SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")

_STOP_TEXT = """
    about above after again against also among answer array based been before being below
    between both brief could does doing down during each even every exactly following format
    from further generate give have having here hers herself himself into itself json just
    least like list make many more most much must myself object only onto other ought ours
    ourselves output over please provide respond return same sentence sentences shall short
    should some string such than that their theirs them themselves then there these they this
    those through under until upon using very were what when where which while whom whose will
    with within without word words would write your yours yourself yourselves items item
    describe create returns given
    """
_STOP_WORDS = frozenset(_STOP_TEXT.split())

_FALLBACK_WORDS = (
    "lantern",
    "harbor",
    "meadow",
    "orchard",
    "river",
    "window",
    "compass",
    "garden",
    "ember",
    "thread",
    "valley",
    "mirror",
)

_SENTENCES = (
    "A quiet study of light on {w}.",
    "The {w} waits at the edge of the morning.",
    "Everything here turns, slowly, toward {w}.",
    "Someone once described {w} as a kind of weather.",
    "There is a small, stubborn warmth in {w}.",
    "Between {w} and {v}, the story finds its footing.",
    "The air smells faintly of {w} and rain.",
    "{W} is remembered here in careful detail.",
    "Nothing about {w} is quite what it first seems.",
    "By evening, {w} and {v} share the same colour.",
    "Each detail points back to {w}.",
    "It begins, as these things do, with {w}.",
)

_TITLES = (
    "{A} {W}",
    "The {A} {W}",
    "{W} of {V}",
    "The Last {W}",
    "{W} at {T}",
    "Notes on {W}",
    "A {W} in {S}",
    "{W} and {V}",
    "Beyond the {W}",
    "{W} Rising",
)

_ADJECTIVES = (
    "Quiet",
    "Hidden",
    "Silver",
    "Distant",
    "Golden",
    "Wandering",
    "Broken",
    "Gentle",
    "Burning",
    "Hollow",
    "Northern",
    "Secret",
)
_TIMES = ("Dawn", "Dusk", "Midnight", "Noon", "Twilight")
_SEASONS = ("Winter", "Spring", "Summer", "Autumn")

_SENTENCE_KEYS = (
    "description",
    "summary",
    "text",
    "body",
    "content",
    "prompt",
    "story",
    "note",
    "reason",
    "explanation",
    "detail",
    "bio",
    "caption",
)


class MockProvider(Provider):
    """A provider that answers offline from the request alone.

    ``latency_s`` delays every call by that many seconds (``asyncio.sleep``). ``fail_rate``
    (0..1) makes that fraction of calls raise a transient :class:`ProviderError` (status 503);
    whether attempt *n* for a seed key fails is a hash of (key, *n*), so a retry of the same
    request can succeed and a whole run fails the same way every time.
    """

    name = "mock"
    is_mock = True

    def __init__(
        self, *, latency_s: float = 0.0, fail_rate: float = 0.0, default_items: int | None = None
    ) -> None:
        if not latency_s >= 0.0:
            raise ValueError(f"latency_s must be >= 0, got {latency_s!r}")
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be within [0, 1], got {fail_rate!r}")
        self.latency_s = latency_s
        self.fail_rate = fail_rate
        self.default_items = default_items
        """Array length when the shape gives no counts (a dry run's ``--assume-items``)."""
        self.default_items_used = 0
        """How many list answers took their length from ``default_items`` (0: the option was
        ignored, so the CLI can say so)."""
        self._attempts: dict[str, int] = {}

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Answer in the form ``request.shape.kind`` asks for.

        ``text``: one to three sentences woven from the last user message's words (never
        JSON; with ``json_mode`` it acts as ``json``). ``string-array``: distinct short titles.
        ``object`` / ``object-array``: from ``json_schema`` when given, else string values for
        the ``required`` keys (``title`` and ``description`` by default). ``json``: from
        ``json_schema``, else ``{"value": <text>}``. Arrays hold ``min_items`` items, else
        ``max_items``, else 3. Usage is estimated as ceil(words * 1.3). With ``tools``, the
        answer is a call of the first tool, its arguments made from its ``parameters`` schema.
        """
        await self._simulate(f"chat\x00{request.seed_key}")
        shape = request.shape
        if self.default_items is not None and shape.min_items is None and shape.max_items is None:
            n = self.default_items
            if shape.kind in ("string-array", "object-array"):
                self.default_items_used += 1
            request = request.model_copy(
                update={"shape": shape.model_copy(update={"min_items": n, "max_items": n})}
            )
        calls = _tool_calls(request)
        text = "" if calls else _chat_answer(request)
        usage = Usage(
            input_tokens=_estimate_tokens(" ".join(m.content for m in request.messages)),
            output_tokens=_estimate_tokens(text or " ".join(c.arguments for c in calls)),
        )
        return ChatResponse(text=text, usage=usage, model=request.model, tool_calls=calls)

    async def image(self, request: ImageRequest) -> ImageResponse:
        """Draw a placeholder PNG showing the prompt; the long side is at most 512 px."""
        width, height = _parse_size(request.size)
        await self._simulate(f"image\x00{request.seed_key}")
        width, height = _fit(width, height, _MAX_IMAGE_SIDE)
        material = _material(request.seed_key, request.model, request.prompt, request.size)
        # drawn off the event loop, so an editor running many images stays responsive
        data = await asyncio.to_thread(_render_placeholder, request.prompt, material, width, height)
        return ImageResponse(data=data, extension="png", usage=Usage(images=1), model=request.model)

    async def embed(self, texts: list[str], model: str) -> list[list[float]]:
        """Deterministic fake embeddings: words hashed into :data:`MOCK_EMBED_DIM` buckets
        (a bag of words), so texts sharing words are near each other, with no model."""
        await self._simulate(f"embed\x00{model}\x00{len(texts)}")
        return [_hashed_bag(text) for text in texts]

    async def _simulate(self, key: str) -> None:
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        if self.fail_rate <= 0.0:
            return
        attempt = self._attempts.get(key, 0)
        self._attempts[key] = attempt + 1
        if _unit(_material(key, str(attempt))) < self.fail_rate:
            raise ProviderError(
                "mock provider: simulated transient failure", transient=True, status=503
            )


MOCK_EMBED_DIM = 256


def _hashed_bag(text: str) -> list[float]:
    vector = [0.0] * MOCK_EMBED_DIM
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
        bucket = int.from_bytes(digest[:3], "big") % MOCK_EMBED_DIM
        vector[bucket] += 1.0 if digest[3] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _material(*parts: str) -> bytes:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).digest()


def _unit(digest: bytes) -> float:
    """Map a digest to [0, 1)."""
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _estimate_tokens(text: str) -> int:
    return math.ceil(len(text.split()) * 1.3)


def _rng_for(request: ChatRequest) -> random.Random:
    seed = json.dumps(
        {
            "seed_key": request.seed_key,
            "model": request.model,
            "messages": [m.content for m in request.messages],
            "shape": request.shape.model_dump(mode="json"),
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest(), "big"))


def _content_words(request: ChatRequest) -> list[str]:
    """Distinct content words (length >= 4, not stop-words) of the last user message."""
    users = [m.content for m in request.messages if m.role == "user"]
    source = users[-1] if users else (request.messages[-1].content if request.messages else "")
    seen: set[str] = set()
    words: list[str] = []
    for word in _WORD_RE.findall(source):
        low = word.lower()
        if len(word) >= 4 and low not in _STOP_WORDS and low not in seen:
            seen.add(low)
            words.append(word)
    return words


class _Writer:
    """Makes sentences, titles and schema values from the prompt's words and one RNG."""

    def __init__(self, rng: random.Random, words: list[str]) -> None:
        self.rng = rng
        self.words = words or list(_FALLBACK_WORDS)

    def _pair(self) -> tuple[str, str]:
        w = self.rng.choice(self.words)
        others = [x for x in self.words if x != w] or list(_FALLBACK_WORDS)
        return w, self.rng.choice(others)

    def sentence(self, template: str | None = None) -> str:
        w, v = self._pair()
        text = (template or self.rng.choice(_SENTENCES)).format(w=w, v=v, W=_cap(w))
        return text[0].upper() + text[1:]

    def paragraph(self) -> str:
        count = self.rng.randint(1, 3)
        return " ".join(self.sentence(t) for t in self.rng.sample(_SENTENCES, count))

    def title(self) -> str:
        w, v = self._pair()
        return self.rng.choice(_TITLES).format(
            W=_cap(w),
            V=_cap(v),
            A=self.rng.choice(_ADJECTIVES),
            T=self.rng.choice(_TIMES),
            S=self.rng.choice(_SEASONS),
        )

    def titles(self, count: int) -> list[str]:
        out: list[str] = []
        seen: set[str] = set()
        for index in range(count):
            candidate = self.title()
            for _ in range(20):
                if candidate not in seen:
                    break
                candidate = self.title()
            if candidate in seen:
                candidate = f"{candidate} {_roman(index + 1)}"
            seen.add(candidate)
            out.append(candidate)
        return out

    def text_for(self, key: str | None) -> str:
        low = (key or "").lower()
        if any(part in low for part in _SENTENCE_KEYS):
            return self.sentence()
        return self.title()

    def slug(self) -> str:
        word = self.rng.choice(self.words).lower()
        ascii_word = re.sub(r"[^a-z]", "", word)
        return ascii_word or self.rng.choice(_FALLBACK_WORDS)


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def _roman(number: int) -> str:
    numerals = (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    )
    out = []
    for value, letters in numerals:
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)


def _item_count(
    shape: OutputShape, schema_min: int | None = None, schema_max: int | None = None
) -> int:
    """min_items if set (and > 0), else max_items if set, else 3; kept within every bound."""
    low = max(shape.min_items or 0, schema_min or 0)
    highs = [h for h in (shape.max_items, schema_max) if h is not None]
    if shape.min_items:
        count = shape.min_items
    elif shape.max_items is not None:
        count = shape.max_items
    else:
        count = _DEFAULT_ITEMS
    count = max(count, low)
    if highs:
        count = min(count, min(highs))
    return max(count, 0)


def _chat_answer(request: ChatRequest) -> str:
    shape = request.shape
    writer = _Writer(_rng_for(request), _content_words(request))
    kind = shape.kind
    if kind == "text" and request.json_mode:
        kind = "json"
    if kind == "text":
        return writer.paragraph()
    value: Any
    if kind == "string-array":
        value = writer.titles(_item_count(shape))
    elif kind == "object":
        value = _object_value(shape, shape.json_schema, writer)
    elif kind == "object-array":
        value = _object_array(shape, writer)
    elif shape.json_schema is not None:
        value = _SchemaGen(shape.json_schema, writer).value(shape.json_schema)
    else:
        value = {"value": writer.paragraph()}
    return json.dumps(value, ensure_ascii=False)


def _tool_calls(request: ChatRequest) -> list[ToolCall]:
    if not request.tools:
        return []
    function = request.tools[0].get("function") or {}
    schema = function.get("parameters")
    if not isinstance(schema, dict):
        schema = {"type": "object"}
    writer = _Writer(_rng_for(request), _content_words(request))
    value = _SchemaGen(schema, writer).value(schema)
    name = str(function.get("name") or "call")
    return [ToolCall(name=name, arguments=json.dumps(value, ensure_ascii=False))]


def _object_value(shape: OutputShape, schema: dict[str, Any] | None, writer: _Writer) -> Any:
    if schema is not None:
        return _SchemaGen(schema, writer).value(schema)
    keys = shape.required or ["title", "description"]
    return {key: writer.text_for(key) for key in keys}


def _object_array(shape: OutputShape, writer: _Writer) -> list[Any]:
    schema = shape.json_schema
    if schema is None:
        return [_object_value(shape, None, writer) for _ in range(_item_count(shape))]
    gen = _SchemaGen(schema, writer)
    top = gen.flatten(schema)
    item_schema: Any
    if isinstance(top.get("items"), dict):
        item_schema = top["items"]
        count = _item_count(
            shape, _int_or_none(top.get("minItems")), _int_or_none(top.get("maxItems"))
        )
    elif "properties" in top or top.get("type") == "object":
        item_schema, count = schema, _item_count(shape)
    else:
        return [_object_value(shape, None, writer) for _ in range(_item_count(shape))]
    return [gen.value(item_schema, depth=1) for _ in range(count)]


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Combine two flattened schemas as ``allOf`` would: properties and required are unioned."""
    merged = {**base, **extra}
    if isinstance(base.get("properties"), dict) and isinstance(extra.get("properties"), dict):
        merged["properties"] = {**base["properties"], **extra["properties"]}
    if isinstance(base.get("required"), list) and isinstance(extra.get("required"), list):
        merged["required"] = list(dict.fromkeys([*base["required"], *extra["required"]]))
    return merged


class _SchemaGen:
    """Generates a value valid against a JSON Schema (the subset the mock supports).

    Every property is filled; below ``_MAX_DEPTH`` levels of nesting only required properties
    and ``minItems`` items are made, and at twice that depth containers are left empty.
    """

    def __init__(self, root: dict[str, Any], writer: _Writer) -> None:
        self.root = root
        self.writer = writer
        self.rng = writer.rng

    def resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return {}
        node: Any = self.root
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return {}
        return node

    def flatten(self, schema: Any, hops: int = 0) -> dict[str, Any]:
        """Resolve ``$ref``, ``allOf`` and ``anyOf``/``oneOf`` into one plain schema.

        ``hops`` bounds chains of references (``a`` -> ``b`` -> ``a``) to ``_MAX_DEPTH``.
        """
        if not isinstance(schema, dict) or hops > _MAX_DEPTH:
            return {}
        flat = dict(schema)
        ref = flat.pop("$ref", None)
        if isinstance(ref, str):
            flat = _merge(self.flatten(self.resolve(ref), hops + 1), flat)
        parts = flat.pop("allOf", None)
        if isinstance(parts, list):
            for part in parts:
                flat = _merge(flat, self.flatten(part, hops + 1))
        for key in ("anyOf", "oneOf"):
            options = flat.pop(key, None)
            if isinstance(options, list) and options:
                chosen = next((o for o in options if not _is_null_schema(o)), options[0])
                flat = _merge(flat, self.flatten(chosen, hops + 1))
        return flat

    def value(self, schema: Any, depth: int = 0, key: str | None = None) -> Any:
        flat = self.flatten(schema)
        if "const" in flat:
            return flat["const"]
        enum = flat.get("enum")
        if isinstance(enum, list) and enum:
            return self.rng.choice(enum)
        kind = _schema_type(flat)
        if kind == "object":
            return self._object(flat, depth, key)
        if kind == "array":
            return self._array(flat, depth, key)
        if kind == "integer":
            return self._integer(flat)
        if kind == "number":
            return self._number(flat)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(flat, key)

    def _object(self, flat: dict[str, Any], depth: int, key: str | None) -> dict[str, Any]:
        if depth >= 2 * _MAX_DEPTH:
            return {}
        props = flat.get("properties")
        props = props if isinstance(props, dict) else {}
        required = flat.get("required")
        required = [r for r in required if isinstance(r, str)] if isinstance(required, list) else []
        names = list(props) if depth < _MAX_DEPTH else [n for n in props if n in required]
        out = {name: self.value(props[name], depth + 1, name) for name in names}
        for name in required:
            if name not in out:
                out[name] = self.writer.text_for(name)
        return out

    def _array(self, flat: dict[str, Any], depth: int, key: str | None) -> list[Any]:
        if depth >= 2 * _MAX_DEPTH:
            return []
        items = flat.get("items")
        if isinstance(items, list):
            return [self.value(sub, depth + 1, key) for sub in items]
        low = _int_or_none(flat.get("minItems")) or 0
        high = _int_or_none(flat.get("maxItems"))
        count = max(_DEFAULT_ITEMS if depth < _MAX_DEPTH else 0, low)
        if high is not None:
            count = max(min(count, high), 0)
        unique = flat.get("uniqueItems") is True
        out: list[Any] = []
        for _ in range(count):
            item = self.value(items, depth + 1, key)
            for _ in range(10):
                if not unique or item not in out:
                    break
                item = self.value(items, depth + 1, key)
            out.append(item)
        return out

    def _integer(self, flat: dict[str, Any]) -> int:
        low, high = _bounds(flat)
        lo = None if low is None else (math.floor(low[0]) + 1 if low[1] else math.ceil(low[0]))
        hi = None if high is None else (math.ceil(high[0]) - 1 if high[1] else math.floor(high[0]))
        if lo is None and hi is None:
            lo, hi = 1, 100
        elif lo is None:
            lo = hi - 100 if hi is not None else 1
        if hi is None:
            hi = lo + 100
        return lo if hi < lo else self.rng.randint(lo, hi)

    def _number(self, flat: dict[str, Any]) -> float:
        low, high = _bounds(flat)
        lo = low[0] if low is not None else None
        hi = high[0] if high is not None else None
        if lo is None and hi is None:
            lo, hi = 0.0, 100.0
        elif lo is None:
            lo = (hi if hi is not None else 0.0) - 100.0
        if hi is None:
            hi = lo + 100.0
        candidate = round(self.rng.uniform(lo, hi), 2)
        if _within(candidate, low, high):
            return candidate
        return (lo + hi) / 2

    def _string(self, flat: dict[str, Any], key: str | None) -> str:
        fmt = flat.get("format")
        rng = self.rng
        if fmt == "date":
            return _date(rng)
        if fmt == "date-time":
            return f"{_date(rng)}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
        if fmt == "time":
            return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
        if fmt in ("uri", "url", "iri"):
            return f"https://example.com/{self.writer.slug()}/{rng.randint(1, 999)}"
        if fmt in ("email", "idn-email"):
            return f"{self.writer.slug()}@example.com"
        if fmt == "uuid":
            return _uuid(rng)
        text = self.writer.text_for(key)
        min_len = _int_or_none(flat.get("minLength"))
        max_len = _int_or_none(flat.get("maxLength"))
        if min_len is not None:
            while len(text) < min_len:
                text = f"{text} {self.writer.sentence()}"
        if max_len is not None and len(text) > max_len:
            text = text[:max_len].rstrip() or text[:max_len]
        return text


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _schema_type(flat: dict[str, Any]) -> str:
    declared = flat.get("type")
    if isinstance(declared, list):
        names = [t for t in declared if isinstance(t, str)]
        declared = next((t for t in names if t != "null"), names[0] if names else None)
    if isinstance(declared, str):
        return declared
    if "properties" in flat or "required" in flat:
        return "object"
    if "items" in flat or "minItems" in flat or "maxItems" in flat:
        return "array"
    if any(k in flat for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        return "number"
    return "string"


def _bounds(
    flat: dict[str, Any],
) -> tuple[tuple[float, bool] | None, tuple[float, bool] | None]:
    """(value, exclusive) for the lower and upper bound, accepting draft-4 boolean forms."""

    def one(inclusive_key: str, exclusive_key: str) -> tuple[float, bool] | None:
        inclusive = _number_or_none(flat.get(inclusive_key))
        exclusive_raw = flat.get(exclusive_key)
        if exclusive_raw is True and inclusive is not None:
            return inclusive, True
        exclusive = _number_or_none(exclusive_raw)
        if exclusive is not None and (inclusive is None or exclusive >= inclusive):
            return exclusive, True
        return None if inclusive is None else (inclusive, False)

    return one("minimum", "exclusiveMinimum"), one("maximum", "exclusiveMaximum")


def _within(value: float, low: tuple[float, bool] | None, high: tuple[float, bool] | None) -> bool:
    if low is not None and (value < low[0] or (low[1] and value == low[0])):
        return False
    return not (high is not None and (value > high[0] or (high[1] and value == high[0])))


def _date(rng: random.Random) -> str:
    return f"{rng.randint(2000, 2030):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _parse_size(size: str) -> tuple[int, int]:
    """Parse ``"WxH"`` (``"auto"`` means 1024x1024) or raise a non-transient ProviderError."""
    if size.strip().lower() == "auto":
        return 1024, 1024
    match = _SIZE_RE.match(size)
    if match is None:
        raise ProviderError(
            f"mock provider: invalid image size {size!r}; expected WIDTHxHEIGHT, e.g. '1024x1024'"
        )
    width, height = int(match.group(1)), int(match.group(2))
    if not (0 < width <= _MAX_REQUEST_SIDE and 0 < height <= _MAX_REQUEST_SIDE):
        raise ProviderError(
            f"mock provider: invalid image size {size!r}; "
            f"each side must be between 1 and {_MAX_REQUEST_SIDE} pixels"
        )
    return width, height


def _fit(width: int, height: int, limit: int) -> tuple[int, int]:
    longest = max(width, height)
    if longest <= limit:
        return width, height
    scale = limit / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _load_font(size: int) -> _Font:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def _wrap(
    draw: ImageDraw.ImageDraw, font: _Font, text: str, width: int, max_lines: int
) -> list[str]:
    """Greedy word wrap to ``width`` pixels, at most ``max_lines`` lines ("..." if cut)."""

    def fits(line: str) -> bool:
        return draw.textlength(line, font=font) <= width

    def pieces(paragraph: str) -> Iterator[str]:
        for word in paragraph.split():
            if fits(word):
                yield word
                continue
            chunk = ""
            for char in word:
                if chunk and not fits(chunk + char):
                    yield chunk
                    chunk = ""
                chunk += char
            if chunk:
                yield chunk

    lines: list[str] = []
    for paragraph in text.splitlines():
        current = ""
        for piece in pieces(paragraph):
            candidate = f"{current} {piece}" if current else piece
            if fits(candidate):
                current = candidate
                continue
            if current:
                lines.append(current)
            current = piece
            if len(lines) > max_lines:
                break
        if current:
            lines.append(current)
        if len(lines) > max_lines:
            break
    if len(lines) <= max_lines:
        return lines
    lines = lines[:max_lines]
    if lines:
        last = lines[-1]
        while last and not fits(f"{last}..."):
            last = last[:-1]
        lines[-1] = f"{last.rstrip()}..."
    return lines


def _render_placeholder(prompt: str, material: bytes, width: int, height: int) -> bytes:
    """A PNG of ``width`` x ``height``: seed-coloured background, the prompt, a MOCK label."""
    from PIL import Image, ImageDraw

    hue = material[0] / 255
    saturation = 0.30 + material[1] / 255 * 0.35
    brightness = 0.45 + material[2] / 255 * 0.40
    background = tuple(round(c * 255) for c in colorsys.hsv_to_rgb(hue, saturation, brightness))
    red, green, blue = background
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    ink = (24, 24, 24) if luminance > 140 else (245, 245, 245)

    image = Image.new("RGB", (width, height), (red, green, blue))
    draw = ImageDraw.Draw(image)
    short = min(width, height)
    margin = max(2, short // 16)

    label_font = _load_font(max(8, short // 24))
    left, top, right, bottom = (round(v) for v in draw.textbbox((0, 0), "MOCK", font=label_font))
    pad = max(1, (bottom - top) // 3)
    label_w, label_h = right - left + 2 * pad, bottom - top + 2 * pad
    x0, y0 = width - margin - label_w, height - margin - label_h
    draw.rectangle((x0, y0, x0 + label_w, y0 + label_h), fill=ink)
    draw.text((x0 + pad - left, y0 + pad - top), "MOCK", font=label_font, fill=(red, green, blue))

    font = _load_font(max(10, min(32, short // 16)))
    _, line_top, _, line_bottom = (round(v) for v in draw.textbbox((0, 0), "Ag", font=font))
    line_h = max(1, round((line_bottom - line_top) * 1.35))
    text_w = width - 2 * margin
    max_lines = (height - 2 * margin - label_h - pad) // line_h
    if text_w > 0 and max_lines > 0:
        y = margin
        for line in _wrap(draw, font, prompt, text_w, max_lines):
            draw.text((margin, y - line_top), line, font=font, fill=ink)
            y += line_h

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
