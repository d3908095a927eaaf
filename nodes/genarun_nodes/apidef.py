"""API definitions for ``assembleCall``: what a model may fill in, and how a fill is checked.

A definition comes from an OpenAPI operation (JSON or YAML text: a bare operation object, or
a whole document with ``paths``, whose one operation — or the one named by ``operation_id``
— is taken), or from a plain list of :class:`ApiParam`. It becomes an :class:`Operation`:
a function-tool declaration for the model, a JSON Schema its arguments must match, and the
place each argument goes (query, header, path or body).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from genarun_studio.errors import OutputError

__all__ = ["ApiParam", "Operation", "apply_fill", "check_fill", "load_operation"]

_METHODS = ("get", "post", "put", "patch", "delete", "head")
_TOOL_NAME = re.compile(r"[^A-Za-z0-9_-]")


class ApiParam(BaseModel):
    """One parameter the model fills in."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    location: Literal["query", "header", "path", "body"] = Field("query", alias="in")
    """Where it goes: the query string, a header, a ``{name}`` in the URL path, or the JSON
    body (a parameter named ``body`` is the whole body, any other a field of it)."""
    description: str = ""
    required: bool = False
    json_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "string"}, alias="schema")
    """The JSON Schema of its value (type, enum, minimum, ...)."""


class Operation(BaseModel):
    """A resolved definition; JSON-able, so it is part of the node's plan."""

    name: str = "call_api"
    description: str = ""
    method: str | None = None
    path: str | None = None
    server: str | None = None
    params: list[ApiParam] = Field(default_factory=list)

    def fill_schema(self) -> dict[str, Any]:
        """The JSON Schema of a fill: an object of the parameters."""
        properties: dict[str, Any] = {}
        for p in self.params:
            prop = dict(p.json_schema)
            if p.description and "description" not in prop:
                prop["description"] = p.description
            properties[p.name] = prop
        required = [p.name for p in self.params if p.required]
        return {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }

    def tool(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description or "Call the API with these parameters.",
                "parameters": self.fill_schema(),
            },
        }


def _parse_text(text: str, where: str) -> Any:
    """JSON, else YAML (a superset): one clear error naming what is wrong."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not JSON or YAML"
        raise ValueError(f"{where} is neither JSON nor YAML{at}: {problem}") from None


def load_operation(
    text: str, operation_id: str | None = None, where: str = "the operation"
) -> Operation:
    """An :class:`Operation` from OpenAPI text; raises ValueError saying what is wrong."""
    doc = _parse_text(text, where)
    if not isinstance(doc, dict):
        raise ValueError(f"{where} must be an object (an OpenAPI operation or document)")
    method = path = server = None
    op: dict[str, Any] = doc
    if isinstance(doc.get("paths"), dict):
        found: list[tuple[str, str, dict[str, Any]]] = []
        for p, item in doc["paths"].items():
            if not isinstance(item, dict):
                continue
            for m in _METHODS:
                candidate = item.get(m)
                if isinstance(candidate, dict):
                    found.append((str(p), m, {**candidate, "_shared": item.get("parameters")}))
        if operation_id is not None:
            found = [f for f in found if f[2].get("operationId") == operation_id]
        if not found:
            wanted = f" with operationId {operation_id!r}" if operation_id else ""
            raise ValueError(f"{where} has no operation{wanted} under 'paths'")
        if len(found) > 1:
            ids = ", ".join(str(f[2].get("operationId") or f"{f[1]} {f[0]}") for f in found)
            raise ValueError(f"{where} has several operations ({ids}); set operation_id")
        path, method, op = found[0]
        servers = doc.get("servers")
        if isinstance(servers, list) and servers and isinstance(servers[0], dict):
            server = str(servers[0].get("url") or "") or None
    params: list[ApiParam] = []
    raw_params = [*(op.get("_shared") or []), *(op.get("parameters") or [])]
    for i, raw in enumerate(raw_params):
        if not isinstance(raw, dict) or "name" not in raw:
            raise ValueError(f"{where}: parameters[{i}] needs a 'name'")
        if "$ref" in raw:
            raise ValueError(f"{where}: parameters[{i}] is a $ref; paste it resolved")
        location = raw.get("in", "query")
        if location not in ("query", "header", "path"):
            continue  # cookies are not filled in
        schema = raw.get("schema") if isinstance(raw.get("schema"), dict) else {"type": "string"}
        params = [p for p in params if p.name != raw["name"]]  # operation overrides path item
        params.append(
            ApiParam(
                name=str(raw["name"]),
                location=location,
                description=str(raw.get("description") or ""),
                required=bool(raw.get("required")) or location == "path",
                json_schema=schema,
            )
        )
    body = op.get("requestBody")
    if isinstance(body, dict):
        content = body.get("content") or {}
        media = content.get("application/json") if isinstance(content, dict) else None
        schema = media.get("schema") if isinstance(media, dict) else None
        if isinstance(schema, dict):
            params.append(
                ApiParam(
                    name="body",
                    location="body",
                    description=str(body.get("description") or "The JSON request body."),
                    required=bool(body.get("required")),
                    json_schema=schema,
                )
            )
    name = str(op.get("operationId") or "call_api")
    return Operation(
        name=_TOOL_NAME.sub("_", name)[:64] or "call_api",
        description=str(op.get("summary") or op.get("description") or ""),
        method=method.upper() if method else None,
        path=path,
        server=server,
        params=params,
    )


def check_fill(fill: Any, operation: Operation) -> dict[str, Any]:
    """The fill when it matches the definition; OutputError saying what is wrong otherwise."""
    import jsonschema

    if not isinstance(fill, dict):
        raise OutputError("the arguments must be a JSON object of the parameters")
    schema = operation.fill_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(fill), key=lambda e: list(e.absolute_path))
    if errors:
        parts = []
        for error in errors[:5]:
            where = "/".join(str(p) for p in error.absolute_path)
            parts.append(f"{where}: {error.message}" if where else error.message)
        raise OutputError("the arguments do not match the API definition: " + "; ".join(parts))
    return fill


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def apply_fill(
    fill: dict[str, Any], operation: Operation, request: dict[str, Any]
) -> dict[str, Any]:
    """``request`` (the keyword arguments of an HttpRequest) with the fill put in place.

    Values the model chose are never read for ``${secret:...}``: they are plain text.
    """
    out = {
        **request,
        "query": dict(request.get("query") or {}),
        "headers": dict(request.get("headers") or {}),
    }
    where = {p.name: p.location for p in operation.params}
    for name, value in fill.items():
        location = where.get(name, "query")
        if value is None:
            continue
        if location == "query":
            # a list as comma-separated values (Open-Meteo's ``current=a,b``, ...)
            out["query"][name] = (
                ",".join(_text(v) for v in value) if isinstance(value, list) else _text(value)
            )
        elif location == "header":
            out["headers"][name] = _text(value)
        elif location == "path":
            out["url"] = out["url"].replace("{" + name + "}", quote(_text(value), safe=""))
        elif name == "body":
            out["body"] = value
        else:
            body = out.get("body")
            out["body"] = {**(body if isinstance(body, dict) else {}), name: value}
    return out
