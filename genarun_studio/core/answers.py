"""Reading model answers: JSON out of chatty text, and validation against a node's rules.

Models wrap JSON in code fences, add a sentence before it, or answer a list as numbered
lines. :func:`parse_json_answer` takes the whole answer when it is JSON, else a fenced
block, else the largest JSON value in the text; :func:`check_output` says what is wrong in a
sentence the model can be re-asked with.

Only real JSON counts: ``NaN``/``Infinity`` and numbers of more than 4,300 digits are
refused, as is JSON nested deeper than :data:`MAX_ANSWER_DEPTH` levels. A node's JSON
Schema is checked when the tree loads, and is never allowed to fetch a remote ``$ref``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from genarun_studio.errors import OutputError

__all__ = ["Validation", "check_output", "parse_json_answer", "parse_list_answer"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_OPENER = re.compile(r"[\[{]")
_MAX_TRIES = 64
"""How many ``[``/``{`` positions of a chatty answer are tried as the start of JSON."""
MAX_ANSWER_DEPTH = 100
_MAX_DIGITS = 4300


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise ValueError(f"a number of {len(text)} digits is too long")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_int=_parse_int, parse_constant=_no_constant)


def _too_deep(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            kids = item.values() if isinstance(item, dict) else item
            stack.extend((kid, depth + 1) for kid in kids)
    return False


def json_type(value: Any) -> str:
    """The JSON name of a value's type, with an article: ``an object``, ``a string``."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    return type(value).__name__


class Validation(BaseModel):
    """What a node's output must satisfy (the legacy ``validation`` block, extended)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    required: list[str] = Field(default_factory=list)
    """Keys every object (or every object in an array) must have."""
    min_items: int | None = Field(None, ge=0)
    max_items: int | None = Field(None, ge=0)
    json_schema: dict[str, Any] | None = Field(None, alias="schema")
    """A JSON Schema the output must validate against."""

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None:
            import jsonschema

            try:
                jsonschema.validators.validator_for(schema).check_schema(schema)
            except jsonschema.SchemaError as exc:
                where = "/".join(str(p) for p in exc.absolute_path)
                at = f" at {where}" if where else ""
                raise ValueError(f"is not a valid JSON Schema{at}: {exc.message}") from None
        return schema

    @model_validator(mode="after")
    def _possible(self) -> Validation:
        if (
            self.min_items is not None
            and self.max_items is not None
            and self.min_items > self.max_items
        ):
            raise ValueError(
                f"min_items ({self.min_items}) is larger than max_items ({self.max_items}); "
                "no answer could satisfy both"
            )
        return self

    def is_empty(self) -> bool:
        return (
            not self.required
            and self.min_items is None
            and self.max_items is None
            and (self.json_schema is None)
        )


def _checked(value: Any) -> Any:
    if _too_deep(value, MAX_ANSWER_DEPTH):
        raise OutputError(f"the answer's JSON nests deeper than {MAX_ANSWER_DEPTH} levels")
    return value


def parse_json_answer(text: str) -> Any:
    """The JSON value in a model's answer; raises OutputError saying why there is none.

    Tried in order: the whole answer, each fenced code block, then the largest JSON
    object or array starting at one of the answer's ``[``/``{`` (so an object that holds an
    array is read as the object, and text after the JSON is ignored).
    """
    stripped = text.strip()
    if not stripped:
        raise OutputError("the answer was empty; answer with JSON only")
    first_error: str | None = None
    candidates = [stripped] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    try:
        for candidate in candidates:
            try:
                return _checked(_DECODER.decode(candidate))
            except json.JSONDecodeError as exc:
                first_error = first_error or (f"{exc.msg} at line {exc.lineno} column {exc.colno}")
            except ValueError as exc:
                first_error = first_error or str(exc)
        best: tuple[int, Any] | None = None
        covered = -1
        for tries, match in enumerate(_OPENER.finditer(stripped)):
            if tries >= _MAX_TRIES:
                break
            start = match.start()
            if start < covered:
                continue  # inside a value already found: shorter than it
            try:
                value, end = _DECODER.raw_decode(stripped, start)
            except ValueError:
                continue
            covered = end
            if best is None or end - start > best[0]:
                best = (end - start, value)
        if best is not None:
            return _checked(best[1])
    except RecursionError:
        raise OutputError("the answer's JSON nests too deeply") from None
    raise OutputError(f"the answer is not valid JSON ({first_error}); answer with JSON only")


def parse_list_answer(text: str) -> list[Any]:
    """A list from a model's answer: a JSON array, or else one item per line.

    When at least two lines are bulleted or numbered (``-``, ``*``, ``•``, ``1.``, ``1)``),
    only those are items, so an introduction or a closing sentence is left out.
    """
    try:
        value = parse_json_answer(text)
    except OutputError:
        value = None
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        arrays = [v for v in value.values() if isinstance(v, list)]
        if len(arrays) == 1:
            return arrays[0]
    lines = [line for line in text.strip().splitlines() if not line.strip().startswith("```")]
    bulleted = [_BULLET.sub("", line).strip() for line in lines if _BULLET.match(line)]
    bulleted = [line for line in bulleted if line]
    if len(bulleted) >= 2:
        return bulleted
    items = [_BULLET.sub("", line).strip() for line in lines]
    items = [line for line in items if line]
    if len(items) >= 2 and not isinstance(value, dict):
        return items
    raise OutputError("the answer is not a JSON array; answer with a JSON array only")


def check_output(value: Any, rules: Validation) -> None:
    """Raise OutputError with one clear sentence when ``value`` breaks ``rules``."""
    if rules.min_items is not None or rules.max_items is not None:
        if not isinstance(value, list):
            raise OutputError(f"expected a JSON array, got {json_type(value)}")
        n = len(value)
        if rules.min_items is not None and n < rules.min_items:
            raise OutputError(f"expected at least {rules.min_items} items, got {n}")
        if rules.max_items is not None and n > rules.max_items:
            raise OutputError(f"expected at most {rules.max_items} items, got {n}")
    if rules.required:
        objects = value if isinstance(value, list) else [value]
        for i, obj in enumerate(objects):
            where = f"item {i}" if isinstance(value, list) else "the answer"
            if not isinstance(obj, dict):
                raise OutputError(f"{where} is not a JSON object (got {json_type(obj)})")
            missing = [k for k in rules.required if k not in obj]
            if missing:
                raise OutputError(f"{where} lacks the required key(s) {', '.join(missing)}")
    if rules.json_schema is not None:
        _check_schema(value, rules.json_schema)


def _check_schema(value: Any, schema: dict[str, Any]) -> None:
    import jsonschema
    from referencing import Registry
    from referencing.exceptions import NoSuchResource, Unresolvable

    def no_remote(uri: str) -> Any:
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]

    try:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        registry = Registry(retrieve=no_remote)  # type: ignore[call-arg]
        validator = cls(schema, registry=registry)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    except jsonschema.SchemaError as exc:
        raise OutputError(f"the node's JSON Schema is invalid: {exc.message}") from None
    except Unresolvable as exc:
        raise OutputError(
            f"the node's JSON Schema refers to {exc.ref!r}, which cannot be resolved "
            "(remote references are never fetched)"
        ) from None
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the answer"
        raise OutputError(f"{where} does not match the schema: {error.message}")
