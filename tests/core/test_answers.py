"""Tests of reading model answers: JSON out of chatty text, lists, and validation rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from genarun_studio.core.answers import (
    Validation,
    check_output,
    parse_json_answer,
    parse_list_answer,
)
from genarun_studio.errors import OutputError

# ---------------------------------------------------------------------------------------
# parse_json_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("  [1, 2, 3]\n", [1, 2, 3]),
        ('```json\n{"title": "Geckos"}\n```', {"title": "Geckos"}),
        ('```\n["x", "y"]\n```', ["x", "y"]),
        ('```JSON\n{"ok": true}```', {"ok": True}),
        ('Here is the plan:\n```json\n{"a": [1]}\n```\nEnjoy!', {"a": [1]}),
        (
            'Sure! Here it is: {"title": "Geckos", "tags": ["a", "b"]}',
            {"title": "Geckos", "tags": ["a", "b"]},
        ),
        ('The list: ["a", "b"] - hope that helps.', ["a", "b"]),
        ('Answer: {"a": 1} (note: the {braces} are JSON)', {"a": 1}),
        ('Objects: [{"t": 1}, {"t": 2}] and that is {all}', [{"t": 1}, {"t": 2}]),
        ('"just a string"', "just a string"),
        ("42", 42),
        ("null", None),
    ],
)
def test_parse_json_answer_finds_the_json(text: str, expected: Any) -> None:
    assert parse_json_answer(text) == expected


def test_an_object_holding_an_array_is_read_as_the_object() -> None:
    # The first JSON value in the text is the object; its inner array is not the answer.
    text = 'Here you go: {"items": ["a", "b"], "count": 2}'
    assert parse_json_answer(text) == {"items": ["a", "b"], "count": 2}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("   \n\t", "empty"),
        ("I cannot help with that.", "not valid JSON"),
        ('{"a": 1,}', "not valid JSON"),
        ("{'a': 1}", "not valid JSON"),
        ("[" * 50_000, "JSON"),
        ('{"n": NaN}', "JSON"),
        ("[Infinity]", "JSON"),
        ("1" * 5000, "digits"),
    ],
)
def test_parse_json_answer_says_why_there_is_no_json(text: str, words: str) -> None:
    with pytest.raises(OutputError) as info:
        parse_json_answer(text)
    assert words in str(info.value)


def test_the_error_tells_the_model_what_to_do() -> None:
    with pytest.raises(OutputError) as info:
        parse_json_answer('{"title": "x"')
    message = str(info.value)
    assert "line 1" in message
    assert "answer with JSON only" in message


def test_deeply_nested_json_in_a_fence_is_an_output_error() -> None:
    with pytest.raises(OutputError):
        parse_json_answer("```json\n" + "[" * 30_000 + "]" * 30_000 + "\n```")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parse_json_answer_gives_a_value_or_an_output_error(text: str) -> None:
    outcome: Any
    try:
        outcome = parse_json_answer(text)
    except OutputError as exc:
        outcome = exc
    if isinstance(outcome, OutputError):
        assert str(outcome)
    else:
        json.dumps(outcome, allow_nan=False)  # a real JSON value: no NaN, no Infinity


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=15,
    ),
    st.sampled_from(["{}", "Sure: {}", "```json\n{}\n```", "Here:\n```\n{}\n```\nBye."]),
)
def test_json_in_any_wrapping_is_found(value: Any, wrapping: str) -> None:
    if not isinstance(value, dict | list):
        value = {"value": value}
    text = wrapping.replace("{}", json.dumps(value))
    assert parse_json_answer(text) == value


# ---------------------------------------------------------------------------------------
# parse_list_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('["a", "b", "c"]', ["a", "b", "c"]),
        ('```json\n["a", "b"]\n```', ["a", "b"]),
        ('{"data": ["a", "b"]}', ["a", "b"]),
        ("1. Feeding\n2. Habitat\n3. Health", ["Feeding", "Habitat", "Health"]),
        ("1) one\n2) two", ["one", "two"]),
        ("- one\n* two\n• three", ["one", "two", "three"]),
        ("Feeding\nHabitat\n\nHealth\n", ["Feeding", "Habitat", "Health"]),
        (
            "Here are three topics:\n\n1. Feeding\n2. Habitat\n3. Health\n\nEnjoy writing!",
            ["Feeding", "Habitat", "Health"],
        ),
    ],
)
def test_parse_list_answer_reads_arrays_and_numbered_lists(text: str, expected: list[str]) -> None:
    assert parse_list_answer(text) == expected


@pytest.mark.parametrize(
    "text", ["", "just one line", '{"a": 1, "b": 2}', '{"x": [1], "y": [2]}', "```\n```"]
)
def test_parse_list_answer_refuses_what_is_not_a_list(text: str) -> None:
    with pytest.raises(OutputError) as info:
        parse_list_answer(text)
    assert "JSON array" in str(info.value)


# ---------------------------------------------------------------------------------------
# Validation and check_output


def test_validation_reads_the_schema_alias_and_knows_when_it_is_empty() -> None:
    assert Validation().is_empty()
    rules = Validation.model_validate({"schema": {"type": "object"}, "min_items": 1})
    assert rules.json_schema == {"type": "object"}
    assert not rules.is_empty()
    assert rules.model_dump(by_alias=True, exclude_defaults=True) == {
        "schema": {"type": "object"},
        "min_items": 1,
    }


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"min_items": -1}, "greater than or equal to 0"),
        ({"min_items": 3, "max_items": 2}, "min_items"),
        ({"schema": {"type": "thing"}}, "schema"),
        ({"schema": {"minItems": -3}}, "schema"),
        ({"unknown": 1}, "Extra inputs"),
    ],
)
def test_impossible_validations_are_refused(data: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as info:
        Validation.model_validate(data)
    assert words in str(info.value)


def test_equal_min_and_max_items_are_fine() -> None:
    check_output([1, 2], Validation(min_items=2, max_items=2))


@pytest.mark.parametrize(
    ("value", "rules", "words"),
    [
        ([1], {"min_items": 2}, "at least 2 items, got 1"),
        ([1, 2, 3], {"max_items": 2}, "at most 2 items, got 3"),
        ({"a": 1}, {"min_items": 1}, "expected a JSON array, got an object"),
        ("text", {"max_items": 1}, "expected a JSON array, got a string"),
        ({"title": "x"}, {"required": ["title", "tagline"]}, "lacks the required key(s) tagline"),
        ({}, {"required": ["a", "b"]}, "a, b"),
        ("plain", {"required": ["a"]}, "not a JSON object"),
        ([{"a": 1}, {"b": 2}], {"required": ["a"]}, "item 1 lacks the required key(s) a"),
        ([{"a": 1}, "x"], {"required": ["a"]}, "item 1 is not a JSON object"),
        ({"n": "five"}, {"schema": {"properties": {"n": {"type": "integer"}}}}, "n"),
        (
            [{"n": 1}, {"n": "x"}],
            {"schema": {"type": "array", "items": {"properties": {"n": {"type": "integer"}}}}},
            "1/n",
        ),
        ({}, {"schema": {"required": ["title"]}}, "'title' is a required property"),
    ],
)
def test_check_output_says_what_is_wrong(value: Any, rules: dict[str, Any], words: str) -> None:
    with pytest.raises(OutputError) as info:
        check_output(value, Validation.model_validate(rules))
    assert words in str(info.value)


def test_schema_errors_name_the_place_in_the_answer() -> None:
    rules = Validation.model_validate(
        {"schema": {"type": "object", "properties": {"tags": {"type": "array", "maxItems": 1}}}}
    )
    with pytest.raises(OutputError) as info:
        check_output({"tags": ["a", "b"]}, rules)
    assert str(info.value).startswith("tags does not match the schema")


@pytest.mark.parametrize(
    ("value", "rules"),
    [
        ([1, 2], {"min_items": 2, "max_items": 3}),
        ({"title": "x", "tagline": "y", "extra": 1}, {"required": ["title", "tagline"]}),
        ([{"a": 1}, {"a": 2, "b": 3}], {"required": ["a"], "min_items": 2}),
        ({"n": 3}, {"schema": {"properties": {"n": {"type": "integer"}}}}),
        ("anything", {}),
        (None, {}),
    ],
)
def test_check_output_accepts_what_follows_the_rules(value: Any, rules: dict[str, Any]) -> None:
    check_output(value, Validation.model_validate(rules))


def test_a_schema_with_an_unresolvable_reference_is_an_output_error() -> None:
    rules = Validation.model_validate({"schema": {"$ref": "https://example.invalid/s.json"}})
    with pytest.raises(OutputError) as info:
        check_output({"a": 1}, rules)
    assert "https://example.invalid/s.json" in str(info.value)
    assert "never fetched" in str(info.value)


def test_a_local_reference_in_a_schema_resolves() -> None:
    schema = {
        "$defs": {"photo": {"type": "object", "required": ["title"]}},
        "type": "array",
        "items": {"$ref": "#/$defs/photo"},
    }
    rules = Validation.model_validate({"schema": schema})
    check_output([{"title": "a"}], rules)
    with pytest.raises(OutputError) as info:
        check_output([{"title": "a"}, {}], rules)
    assert "'title' is a required property" in str(info.value)
