"""Reading model answers: JSON out of chatty text, and validation against a node's rules.

Models wrap JSON in code fences, add a sentence before it, or answer a list as numbered
lines. :func:`parse_json_answer` takes the first JSON value it can find;
:func:`check_output` says what is wrong in a sentence the model can be re-asked with.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from genarun_studio.errors import OutputError

__all__ = ["Validation", "check_output", "parse_json_answer", "parse_list_answer"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


class Validation(BaseModel):
    """What a node's output must satisfy (the legacy ``validation`` block, extended)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    required: list[str] = Field(default_factory=list)
    """Keys every object (or every object in an array) must have."""
    min_items: int | None = Field(None, ge=0)
    max_items: int | None = Field(None, ge=0)
    json_schema: dict[str, Any] | None = Field(None, alias="schema")
    """A JSON Schema the output must validate against."""

    def is_empty(self) -> bool:
        return (
            not self.required
            and self.min_items is None
            and self.max_items is None
            and (self.json_schema is None)
        )


def parse_json_answer(text: str) -> Any:
    """The JSON value in a model's answer; raises OutputError saying why there is none."""
    stripped = text.strip()
    if not stripped:
        raise OutputError("the answer was empty; answer with JSON only")
    candidates = [stripped]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    for opener, closer in (("[", "]"), ("{", "}")):
        start, end = stripped.find(opener), stripped.rfind(closer)
        if 0 <= start < end:
            candidates.append(stripped[start : end + 1])
    first_error: json.JSONDecodeError | None = None
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError as exc:
            first_error = first_error or exc
        except RecursionError:
            raise OutputError("the answer's JSON nests too deeply") from None
    assert first_error is not None
    raise OutputError(
        f"the answer is not valid JSON ({first_error.msg} at line {first_error.lineno} "
        f"column {first_error.colno}); answer with JSON only"
    )


def parse_list_answer(text: str) -> list[Any]:
    """A list from a model's answer: a JSON array, or else one item per bulleted line."""
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
    lines = [_BULLET.sub("", line).strip() for line in text.strip().splitlines()]
    items = [line for line in lines if line and not line.startswith("```")]
    if len(items) >= 2:
        return items
    raise OutputError("the answer is not a JSON array; answer with a JSON array only")


def check_output(value: Any, rules: Validation) -> None:
    """Raise OutputError with one clear sentence when ``value`` breaks ``rules``."""
    if rules.min_items is not None or rules.max_items is not None:
        if not isinstance(value, list):
            raise OutputError(f"expected a JSON array, got {type(value).__name__}")
        n = len(value)
        if rules.min_items is not None and n < rules.min_items:
            raise OutputError(f"expected at least {rules.min_items} items, got {n}")
        if rules.max_items is not None and n > rules.max_items:
            raise OutputError(f"expected at most {rules.max_items} items, got {n}")
    if rules.required:
        objects = value if isinstance(value, list) else [value]
        for i, obj in enumerate(objects):
            where = f"item {i}" if isinstance(value, list) else "the object"
            if not isinstance(obj, dict):
                raise OutputError(f"{where} is not a JSON object")
            missing = [k for k in rules.required if k not in obj]
            if missing:
                raise OutputError(f"{where} lacks the required key(s) {', '.join(missing)}")
    if rules.json_schema is not None:
        import jsonschema

        try:
            jsonschema.validate(value, rules.json_schema)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "the answer"
            raise OutputError(f"{where} does not match the schema: {exc.message}") from None
        except jsonschema.SchemaError as exc:
            raise OutputError(f"the node's JSON Schema is invalid: {exc.message}") from None
