"""JSON-Schema helpers behind the generated forms (Qt-free).

They read what pydantic's ``model_json_schema()`` gives (``$ref``, nullable ``anyOf``, the
prompt's string-or-turns union) and the models' attribute docstrings. They stay beside the
forms rather than in :mod:`genarun_studio.core` because only the forms use them and their
choices (labels, which fields are multi-line) are presentation, not tree semantics.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import textwrap
import types
import typing
from functools import lru_cache
from typing import Any, ClassVar, Final

from pydantic import BaseModel

_LONG_TEXT = {"template": 4, "prompt": 4, "system": 2, "description": 2, "operation": 8}
"""String fields edited as multi-line text even when not templates: name → minimum lines."""
_WORDS = {
    "json": "JSON",
    "id": "ID",
    "url": "URL",
    "api": "API",
    "usd": "(USD)",
    "s": "(s)",
    "reasks": "re-asks",
}


class _Unset:
    """The value of a field left unset (dropped from the config)."""

    _instance: ClassVar[_Unset | None] = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()
"""What :meth:`FieldEditor.get` returns for a field that should not be written."""

# -- schema helpers ----------------------------------------------------------------------------


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``$ref`` (and a one-item ``allOf``) replaced by its target; the
    referring schema's own keys (title, default, description, ...) win."""
    seen = 0
    while seen < 32:
        seen += 1
        if "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            target = defs.get(name, {})
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **rest, "x-def": name}
        elif isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            schema = {**schema["allOf"][0], **rest}
        else:
            break
    return schema


def _split_nullable(schema: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``(schema without its null alternative, whether null is allowed)``."""
    schema = _resolve(schema, defs)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(variants, list):
        non_null = [v for v in variants if v.get("type") != "null"]
        nullable = len(non_null) < len(variants)
        if nullable and len(non_null) == 1:
            outer = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            return {**_resolve(non_null[0], defs), **outer}, True
        return schema, nullable
    types_ = schema.get("type")
    if isinstance(types_, list) and "null" in types_:
        rest = [t for t in types_ if t != "null"]
        return {**schema, "type": rest[0] if len(rest) == 1 else rest}, True
    return schema, False


def _list_variant(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    """For an ``anyOf`` one of whose variants is a list of objects: that variant."""
    variants = schema.get("anyOf") or schema.get("oneOf") or []
    for variant in variants:
        variant = _resolve(variant, defs)
        if variant.get("type") == "array":
            items = _resolve(variant.get("items", {}), defs)
            if items.get("type") == "object" and items.get("properties"):
                return variant
    return None


def _label(name: str, schema: dict[str, Any]) -> str:
    """A readable label: the schema's title when it was set by hand, else from the name."""
    title = schema.get("title")
    if isinstance(title, str) and title and title != name.replace("_", " ").title():
        return title
    words = [_WORDS.get(word, word) for word in name.split("_") if word]
    text = " ".join(words) or name
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=256)
def _attribute_docs(cls: type[BaseModel]) -> dict[str, str]:
    """Field name (alias when it has one) → its description or attribute docstring.

    Attribute docstrings (a string literal under a field) are read from the source of the
    class and its bases; without source (a frozen app) only ``Field(description=...)`` counts.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass is BaseModel:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for first, second in itertools.pairwise(body):
            if (
                isinstance(first, ast.AnnAssign)
                and isinstance(first.target, ast.Name)
                and isinstance(second, ast.Expr)
                and isinstance(second.value, ast.Constant)
                and isinstance(second.value.value, str)
            ):
                docs[first.target.id] = inspect.cleandoc(second.value.value)
    result: dict[str, str] = {}
    for name, info in cls.model_fields.items():
        text = info.description or docs.get(name)
        if text:
            result[info.alias or name] = text
    return result


def _models_of(cls: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Every pydantic model reachable from ``cls`` through field annotations, by name."""
    found: dict[str, type[BaseModel]] = {}
    stack: list[Any] = [cls]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            if item.__name__ in found:
                continue
            found[item.__name__] = item
            stack.extend(info.annotation for info in item.model_fields.values())
        elif isinstance(item, typing.ForwardRef | str):
            continue
        else:
            stack.extend(typing.get_args(item))
            origin = typing.get_origin(item)
            if origin is not None and not isinstance(origin, types.UnionType):
                stack.append(origin)
    return found


def _tooltip(text: str | None) -> str:
    """Docstring text for a tooltip: RST literals unquoted, paragraphs kept."""
    if not text:
        return ""
    text = text.replace("``", "")
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)
