"""Tests of the offline mock provider: determinism, answer shapes, images and failures."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from genarun_studio.errors import ProviderError
from genarun_studio.providers.base import (
    ChatRequest,
    ImageRequest,
    Message,
    OutputShape,
    Provider,
)
from genarun_studio.providers.mock import MockProvider

PROMPT = "Write a short poem about a lighthouse keeper watching the winter ocean"
PROMPT_WORDS = {"poem", "lighthouse", "keeper", "watching", "winter", "ocean"}
ROOT = Path(__file__).resolve().parents[2]


def chat_request(
    *,
    kind: str = "text",
    seed_key: str = "run-1/node-a/0",
    prompt: str = PROMPT,
    model: str = "mock-chat",
    json_mode: bool = False,
    min_items: int | None = None,
    max_items: int | None = None,
    required: list[str] | None = None,
    schema: dict[str, Any] | None = None,
) -> ChatRequest:
    return ChatRequest(
        messages=[
            Message(role="system", content="You are a helpful creative assistant."),
            Message(role="user", content=prompt),
        ],
        model=model,
        json_mode=json_mode,
        seed_key=seed_key,
        shape=OutputShape.model_validate(
            {
                "kind": kind,
                "min_items": min_items,
                "max_items": max_items,
                "required": required or [],
                "json_schema": schema,
            }
        ),
    )


async def answer(request: ChatRequest) -> Any:
    """The parsed JSON answer of a fresh provider."""
    response = await MockProvider().chat(request)
    return json.loads(response.text)


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def validate(instance: Any, schema: dict[str, Any]) -> None:
    jsonschema.validate(
        instance, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_identity() -> None:
    provider = MockProvider()
    assert isinstance(provider, Provider)
    assert provider.name == "mock"
    assert provider.is_mock is True


@pytest.mark.parametrize("kwargs", [{"latency_s": -1.0}, {"fail_rate": 1.5}, {"fail_rate": -0.1}])
def test_rejects_invalid_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        MockProvider(**kwargs)


# --- determinism ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["text", "string-array", "object", "object-array", "json"])
async def test_same_request_gives_same_answer(kind: str) -> None:
    first = await MockProvider().chat(chat_request(kind=kind))
    second = await MockProvider().chat(chat_request(kind=kind))
    assert first.text == second.text


async def test_different_seed_key_gives_different_text() -> None:
    provider = MockProvider()
    one = await provider.chat(chat_request(seed_key="a"))
    two = await provider.chat(chat_request(seed_key="b"))
    assert one.text != two.text
    texts = {(await provider.chat(chat_request(seed_key=f"k{i}"))).text for i in range(20)}
    assert len(texts) >= 15


async def test_answer_depends_on_model_and_prompt() -> None:
    provider = MockProvider()
    base = (await provider.chat(chat_request())).text
    assert (await provider.chat(chat_request(model="other-model"))).text != base
    other_prompt = "Describe a desert caravan crossing dunes under moonlight"
    assert (await provider.chat(chat_request(prompt=other_prompt))).text != base


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed_key", [f"seed-{i}" for i in range(12)])
async def test_text_is_prose_mentioning_the_prompt(seed_key: str) -> None:
    response = await MockProvider().chat(chat_request(seed_key=seed_key))
    text = response.text
    assert not is_json(text)
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
    assert words & PROMPT_WORDS
    sentences = [s for s in re.split(r"(?<=\.)\s+", text) if s]
    assert 1 <= len(sentences) <= 3
    assert all(s[0].isupper() and s.endswith(".") for s in sentences)


async def test_text_uses_last_user_message() -> None:
    request = ChatRequest(
        messages=[
            Message(role="user", content="Tell me about volcanoes erupting"),
            Message(role="assistant", content="Volcanoes are mountains."),
            Message(role="user", content="Now tell me about glaciers melting"),
        ],
        model="m",
        seed_key="s",
    )
    text = (await MockProvider().chat(request)).text.lower()
    assert "glaciers" in text or "melting" in text
    assert "volcanoes" not in text


async def test_text_without_content_words_is_still_prose() -> None:
    request = chat_request(prompt="Do it now, ok?")
    text = (await MockProvider().chat(request)).text
    assert text
    assert not is_json(text)


async def test_json_mode_text_answers_json() -> None:
    value = await answer(chat_request(json_mode=True))
    assert isinstance(value, dict)
    assert list(value) == ["value"]
    assert isinstance(value["value"], str)
    assert value["value"]


async def test_json_mode_text_with_schema_follows_schema() -> None:
    schema = {"type": "object", "properties": {"score": {"type": "integer"}}}
    value = await answer(chat_request(json_mode=True, schema=schema))
    validate(value, schema)
    assert list(value) == ["score"]


# --- string-array ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("min_items", "max_items", "expected"),
    [
        (None, None, 3),
        (5, None, 5),
        (None, 4, 4),
        (None, 1, 1),
        (2, 6, 2),
        (7, 7, 7),
        (0, None, 3),
        (0, 2, 2),
        (None, 0, 0),
    ],
)
async def test_string_array_count(
    min_items: int | None, max_items: int | None, expected: int
) -> None:
    items = await answer(
        chat_request(kind="string-array", min_items=min_items, max_items=max_items)
    )
    assert isinstance(items, list)
    assert len(items) == expected


async def test_string_array_items_are_distinct_short_titles() -> None:
    items = await answer(chat_request(kind="string-array", min_items=25))
    assert len(items) == 25
    assert all(isinstance(item, str) for item in items)
    assert len(set(items)) == len(items)
    assert all(2 <= len(item.split()) <= 5 for item in items)
    mentioned = {w.lower() for item in items for w in item.split()}
    assert mentioned & PROMPT_WORDS


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=30).flatmap(
        lambda low: st.tuples(st.just(low), st.integers(min_value=low, max_value=30))
    ),
    st.sampled_from(["string-array", "object-array"]),
    st.text(max_size=12),
)
def test_array_length_within_bounds(bounds: tuple[int, int], kind: str, seed_key: str) -> None:
    low, high = bounds
    request = chat_request(kind=kind, min_items=low, max_items=high, seed_key=seed_key)
    items = asyncio.run(answer(request))
    assert low <= len(items) <= high
    if kind == "string-array":
        assert len(set(items)) == len(items)


# --- object and object-array -----------------------------------------------------------------


async def test_object_with_required_keys() -> None:
    value = await answer(chat_request(kind="object", required=["name", "summary", "mood"]))
    assert list(value) == ["name", "summary", "mood"]
    assert all(isinstance(v, str) and v for v in value.values())


async def test_object_defaults_to_title_and_description() -> None:
    value = await answer(chat_request(kind="object"))
    assert list(value) == ["title", "description"]
    assert all(isinstance(v, str) and v for v in value.values())


async def test_object_array_from_required_keys() -> None:
    value = await answer(chat_request(kind="object-array", required=["name", "role"], max_items=4))
    assert len(value) == 4
    assert all(list(item) == ["name", "role"] for item in value)
    assert all(isinstance(v, str) and v for item in value for v in item.values())


async def test_object_array_from_array_schema() -> None:
    schema = {
        "type": "array",
        "minItems": 2,
        "maxItems": 2,
        "items": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
            "required": ["name", "age"],
        },
    }
    value = await answer(chat_request(kind="object-array", schema=schema))
    validate(value, schema)
    assert len(value) == 2


async def test_object_array_with_item_schema() -> None:
    item = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}
    value = await answer(chat_request(kind="object-array", schema=item, min_items=5))
    assert len(value) == 5
    for element in value:
        validate(element, item)


# --- schema-driven generation ----------------------------------------------------------------

SCHEMAS: dict[str, dict[str, Any]] = {
    "nested-objects": {
        "type": "object",
        "properties": {
            "character": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "stats": {
                        "type": "object",
                        "properties": {
                            "strength": {"type": "integer"},
                            "alive": {"type": "boolean"},
                        },
                        "required": ["strength", "alive"],
                        "additionalProperties": False,
                    },
                },
                "required": ["name", "stats"],
            },
            "nothing": {"type": "null"},
        },
        "required": ["character", "nothing"],
    },
    "arrays": {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 6},
            "pair": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
            "few": {"type": "array", "items": {"type": "integer"}, "maxItems": 1},
            "unique": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 4,
                "uniqueItems": True,
            },
        },
        "required": ["tags", "pair", "few", "unique"],
    },
    "enums-and-const": {
        "type": "object",
        "properties": {
            "colour": {"enum": ["red", "green", "blue"]},
            "size": {"type": "string", "enum": ["S", "M", "L"]},
            "version": {"const": 2},
        },
        "required": ["colour", "size", "version"],
    },
    "defs-ref": {
        "$defs": {
            "Scene": {
                "type": "object",
                "properties": {"place": {"type": "string"}, "time": {"$ref": "#/$defs/Time"}},
                "required": ["place", "time"],
            },
            "Time": {"type": "string", "enum": ["dawn", "dusk"]},
        },
        "type": "object",
        "properties": {"scenes": {"type": "array", "items": {"$ref": "#/$defs/Scene"}}},
        "required": ["scenes"],
    },
    "definitions-ref": {
        "definitions": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}}},
        "$ref": "#/definitions/Point",
    },
    "any-of-and-one-of": {
        "type": "object",
        "properties": {
            "maybe": {"anyOf": [{"type": "string", "minLength": 3}, {"type": "null"}]},
            "optional_first_null": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
            "either": {"oneOf": [{"type": "boolean"}, {"type": "string"}]},
            "typelist": {"type": ["null", "integer"], "minimum": 10, "maximum": 12},
        },
        "required": ["maybe", "optional_first_null", "either", "typelist"],
    },
    "integer-ranges": {
        "type": "object",
        "properties": {
            "year": {"type": "integer", "minimum": 1900, "maximum": 1999},
            "exact": {"type": "integer", "minimum": 7, "maximum": 7},
            "exclusive": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 2},
            "negative": {"type": "integer", "maximum": -50},
            "ratio": {"type": "number", "minimum": 0, "maximum": 1},
            "positive": {"type": "number", "exclusiveMinimum": 0},
        },
        "required": ["year", "exact", "exclusive", "negative", "ratio", "positive"],
    },
    "formats": {
        "type": "object",
        "properties": {
            "born": {"type": "string", "format": "date"},
            "seen": {"type": "string", "format": "date-time"},
            "site": {"type": "string", "format": "uri"},
            "mail": {"type": "string", "format": "email"},
            "id": {"type": "string", "format": "uuid"},
        },
        "required": ["born", "seen", "site", "mail", "id"],
    },
    "all-of": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer", "minimum": 3}}, "required": ["b"]},
        ],
    },
    "string-lengths": {
        "type": "object",
        "properties": {
            "long": {"type": "string", "minLength": 120},
            "tiny": {"type": "string", "maxLength": 4},
        },
        "required": ["long", "tiny"],
    },
    "recursive": {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["name"],
            }
        },
        "$ref": "#/$defs/Node",
    },
    "unknown-keywords": {"type": "object", "properties": {"mystery": {"x-custom": 1}}},
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
@pytest.mark.parametrize("kind", ["object", "json"])
@pytest.mark.parametrize("seed_key", ["s1", "s2", "s3"])
async def test_schema_answers_validate(name: str, kind: str, seed_key: str) -> None:
    schema = SCHEMAS[name]
    value = await answer(chat_request(kind=kind, schema=schema, seed_key=seed_key))
    validate(value, schema)


async def test_schema_fills_every_property() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "boolean"}},
    }
    value = await answer(chat_request(kind="object", schema=schema))
    assert set(value) == {"a", "b", "c"}


async def test_schema_array_defaults_to_three_items() -> None:
    schema = {"type": "array", "items": {"type": "string"}}
    value = await answer(chat_request(kind="json", schema=schema))
    assert len(value) == 3


async def test_schema_details() -> None:
    value = await answer(chat_request(kind="json", schema=SCHEMAS["formats"]))
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value["born"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", value["seen"])
    assert re.fullmatch(r"https://[\w.-]+/\S+", value["site"])
    assert re.fullmatch(r"[a-z]+@example\.com", value["mail"])

    ranged = await answer(chat_request(kind="json", schema=SCHEMAS["integer-ranges"]))
    assert ranged["exact"] == 7
    assert ranged["exclusive"] == 1

    picked = await answer(chat_request(kind="json", schema=SCHEMAS["any-of-and-one-of"]))
    assert isinstance(picked["maybe"], str)
    assert isinstance(picked["optional_first_null"], int)
    assert isinstance(picked["typelist"], int)


async def test_recursive_schema_is_bounded() -> None:
    value = await answer(chat_request(kind="json", schema=SCHEMAS["recursive"]))
    depth, node = 0, value
    while node.get("children"):
        node = node["children"][0]
        depth += 1
    assert 1 <= depth <= 8


async def test_unknown_schema_gives_string() -> None:
    value = await answer(chat_request(kind="json", schema={"x-anything": True}))
    assert isinstance(value, str)


# --- usage -----------------------------------------------------------------------------------


async def test_usage_and_model() -> None:
    request = ChatRequest(
        messages=[Message(role="user", content="one two three")], model="tiny", seed_key="u"
    )
    response = await MockProvider().chat(request)
    assert response.model == "tiny"
    assert response.usage.input_tokens == 4
    expected_output = -(-len(response.text.split()) * 13 // 10)
    assert response.usage.output_tokens == expected_output
    assert response.usage.output_tokens > 0
    assert response.usage.images == 0


@pytest.mark.parametrize("kind", ["text", "string-array", "object", "object-array", "json"])
async def test_usage_is_positive(kind: str) -> None:
    response = await MockProvider().chat(chat_request(kind=kind))
    assert response.usage.input_tokens > 0
    assert response.usage.output_tokens > 0


# --- images ----------------------------------------------------------------------------------


def image_request(
    size: str = "1024x1024", seed_key: str = "img-1", prompt: str = "A lighthouse at dusk"
) -> ImageRequest:
    return ImageRequest(prompt=prompt, model="mock-image", size=size, seed_key=seed_key)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("1024x1024", (512, 512)),
        ("1792x1024", (512, 293)),
        ("1024x1792", (293, 512)),
        ("256x128", (256, 128)),
        ("512x512", (512, 512)),
        ("auto", (512, 512)),
        ("40x4000", (5, 512)),
    ],
)
async def test_image_is_png_capped_at_512(size: str, expected: tuple[int, int]) -> None:
    response = await MockProvider().image(image_request(size=size))
    assert response.extension == "png"
    assert response.model == "mock-image"
    assert response.usage.images == 1
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.format == "PNG"
        assert image.size == expected


async def test_image_keeps_aspect_ratio() -> None:
    response = await MockProvider().image(image_request(size="1536x1024"))
    with Image.open(io.BytesIO(response.data)) as image:
        width, height = image.size
    assert max(width, height) == 512
    assert abs(width / height - 1.5) < 0.01


async def test_image_is_deterministic() -> None:
    first = await MockProvider().image(image_request())
    second = await MockProvider().image(image_request())
    assert first.data == second.data
    other = await MockProvider().image(image_request(seed_key="img-2"))
    assert other.data != first.data


async def test_image_background_depends_on_seed() -> None:
    colours = set()
    for i in range(6):
        response = await MockProvider().image(image_request(size="64x64", seed_key=f"c{i}"))
        with Image.open(io.BytesIO(response.data)) as image:
            colours.add(image.convert("RGB").getpixel((0, 0)))
    assert len(colours) >= 4


async def test_image_draws_text_and_label() -> None:
    response = await MockProvider().image(image_request(size="512x256", prompt="word " * 500))
    with Image.open(io.BytesIO(response.data)) as image:
        rgb = image.convert("RGB")
        background = rgb.getpixel((0, 0))
        top_band = rgb.crop((0, 0, 512, 64))
        corner = rgb.crop((400, 200, 512, 256))
    assert len(top_band.getcolors(512 * 64) or []) > 1
    assert any(c != background for _, c in corner.getcolors(112 * 56) or [])


@pytest.mark.parametrize("size", ["big", "0x100", "100x", "-5x5", "100x100x3", "99999x10", ""])
async def test_invalid_image_size(size: str) -> None:
    with pytest.raises(ProviderError, match="invalid image size") as caught:
        await MockProvider().image(image_request(size=size))
    assert caught.value.transient is False


async def test_tiny_image_renders() -> None:
    response = await MockProvider().image(image_request(size="8x8"))
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.size == (8, 8)


def test_pillow_is_imported_lazily() -> None:
    code = (
        "import sys; import genarun_studio.providers.mock; "
        "print('PIL' in sys.modules or 'PIL.Image' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True
    )
    assert result.stdout.strip() == "False"


# --- latency and failures --------------------------------------------------------------------


async def test_latency_sleeps_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []

    async def fake_sleep(delay: float) -> None:
        delays.append(delay)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    provider = MockProvider(latency_s=0.25)
    await provider.chat(chat_request())
    await provider.image(image_request(size="32x32"))
    assert delays == [0.25, 0.25]


async def test_no_latency_means_no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    delays: list[float] = []

    async def fake_sleep(delay: float) -> None:
        delays.append(delay)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    await MockProvider().chat(chat_request())
    assert delays == []


async def test_fail_rate_one_always_fails() -> None:
    provider = MockProvider(fail_rate=1.0)
    for attempt in range(5):
        with pytest.raises(ProviderError, match="simulated transient failure") as caught:
            await provider.chat(chat_request(seed_key=f"k{attempt % 2}"))
        assert caught.value.transient is True
        assert caught.value.status == 503
    with pytest.raises(ProviderError) as image_failure:
        await provider.image(image_request())
    assert image_failure.value.transient is True
    assert image_failure.value.status == 503


async def test_fail_rate_zero_never_fails() -> None:
    provider = MockProvider(fail_rate=0.0)
    for i in range(50):
        await provider.chat(chat_request(seed_key=f"k{i}"))


async def first_attempt_outcomes(provider: MockProvider, count: int) -> list[bool]:
    outcomes = []
    for i in range(count):
        try:
            await provider.chat(chat_request(seed_key=f"key-{i}"))
        except ProviderError:
            outcomes.append(False)
        else:
            outcomes.append(True)
    return outcomes


async def test_fail_rate_half_fails_some() -> None:
    outcomes = await first_attempt_outcomes(MockProvider(fail_rate=0.5), 200)
    failures = outcomes.count(False)
    assert 50 < failures < 150
    assert outcomes == await first_attempt_outcomes(MockProvider(fail_rate=0.5), 200)


async def test_retry_eventually_succeeds() -> None:
    probe = MockProvider(fail_rate=0.5)
    outcomes = await first_attempt_outcomes(probe, 100)
    failed_first = outcomes.index(False)
    request = chat_request(seed_key=f"key-{failed_first}")

    provider = MockProvider(fail_rate=0.5)
    errors: list[ProviderError] = []
    for _ in range(40):
        try:
            response = await provider.chat(request)
        except ProviderError as error:
            errors.append(error)
        else:
            break
    else:
        pytest.fail("a retried request never succeeded")
    assert errors
    assert all(error.transient for error in errors)
    assert response.text == (await MockProvider().chat(request)).text
