"""The ``api`` node: an HTTP call built from the inherited context, optionally assembled by a
model (``assembleCall``).

Method, URL, query, headers and body are templates over the context. ``${secret:NAME}`` in a
header or query value stands for the key stored under ``NAME`` (``genarun keys set NAME``):
the plan keeps only the reference, the value is read from the keychain when the request is
sent, and logs show ``***``. The answer is parsed as JSON (or kept as text), the part to keep
is picked with a JMESPath expression (``extract``) and checked by ``validation`` (required
keys, item counts, a JSON Schema).

With ``assemble``, a text model first fills in the call's parameters from an instruction and
an API definition (an OpenAPI operation or a parameter list), through function calling (JSON
mode where the endpoint has no tools). The fill is checked against the definition before
anything is sent; a bad fill is asked again, at most ``limits.max_reasks`` times. The model
step and the HTTP call are both recorded in the instance's calls, timed and costed.

A ``preset`` (``resources/api-presets/NAME.json``) supplies defaults for any field; the
node's own fields win (``query``, ``headers`` and ``assemble`` are merged key by key).
Mock and dry runs send nothing: the answer is the node's ``mock_response``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from genarun_nodes.apidef import ApiParam, Operation, apply_fill, check_fill, load_operation
from genarun_studio.core import template as tpl
from genarun_studio.core.answers import Validation, check_output, parse_json_answer
from genarun_studio.core.nodetype import (
    NodeContext,
    NodeType,
    Plan,
    endpoint_of,
    template_field,
)
from genarun_studio.errors import OutputError, TemplateError
from genarun_studio.providers.base import ChatRequest, Message, OutputShape
from genarun_studio.providers.http import DEFAULT_MAX_BYTES, HttpRequest, TextParts

__all__ = ["ApiConfig", "ApiNode", "AssembleConfig", "list_presets", "load_preset"]

_MERGED = ("query", "headers", "assemble", "validation")
_SYSTEM = (
    "You fill in the parameters of one HTTP API call. Call the function {name} with "
    "arguments that carry out the user's instruction, using only the parameters it defines "
    "and leaving out optional ones that are not needed. If you cannot call functions, "
    "answer with the arguments as one JSON object and nothing else."
)


@lru_cache(maxsize=32)
def _preset_text(name: str) -> str:
    from genarun_studio.resources import resource_path

    try:
        path = resource_path("api-presets", f"{name}.json")
    except FileNotFoundError:
        known = ", ".join(list_presets()) or "none"
        raise ValueError(f"unknown preset {name!r} (known: {known})") from None
    return path.read_text(encoding="utf-8")


def load_preset(name: str) -> dict[str, Any]:
    """A preset's fields (``description`` is documentation and left out)."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"preset names are letters, digits, '-' and '_', not {name!r}")
    data = json.loads(_preset_text(name))
    data.pop("description", None)
    return dict(data)


def list_presets() -> list[str]:
    from genarun_studio.resources import resource_path

    try:
        folder = resource_path("api-presets")
    except FileNotFoundError:
        return []
    return sorted(p.stem for p in folder.glob("*.json"))


class AssembleConfig(BaseModel):
    """``assembleCall``: a model fills in the call's parameters from an instruction."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    instruction: str = Field(json_schema_extra=template_field())
    """What the call should do, e.g. ``Current weather in ${city}``."""
    operation: str | None = None
    """An OpenAPI operation, or a document with one (or ``operation_id``), as JSON or YAML."""
    operation_file: str | None = None
    """Instead of ``operation``: a JSON or YAML file holding it."""
    operation_id: str | None = None
    parameters: list[ApiParam] = Field(default_factory=list)
    """Parameters with JSON-Schema types and descriptions (added to the operation's)."""
    profile: str = "text"
    model: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    use_tools: bool = True
    """Fill through function calling; off: ask for a JSON object (JSON mode) instead."""

    @field_validator("operation", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return json.dumps(value, indent=2) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _defined(self) -> AssembleConfig:
        if self.operation is not None and self.operation_file is not None:
            raise ValueError("set 'operation' or 'operation_file', not both")
        if self.operation is not None:
            load_operation(self.operation, self.operation_id)  # reports problems early
        elif self.operation_file is None and not self.parameters:
            raise ValueError(
                "define the API: an OpenAPI 'operation', an 'operation_file' or 'parameters'"
            )
        return self

    def definition(self) -> Operation:
        """The operation with the extra parameters; raises ValueError for a bad definition."""
        if self.operation_file is not None:
            path = Path(self.operation_file).expanduser()
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(
                    f"cannot read operation_file {str(path)!r}: {exc.strerror}"
                ) from None
            op = load_operation(text, self.operation_id, where=str(path))
        elif self.operation is not None:
            op = load_operation(self.operation, self.operation_id)
        else:
            op = Operation()
        names = {p.name for p in self.parameters}
        params = [p for p in op.params if p.name not in names] + list(self.parameters)
        if not params:
            raise ValueError("the API definition has no parameters for the model to fill in")
        return op.model_copy(update={"params": params})


class ApiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    preset: str | None = None
    """A preset of ``resources/api-presets`` giving defaults (e.g. ``open-meteo-current``)."""
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] | None = None
    """Default: the operation's method, else GET."""
    base_url: str = Field("", json_schema_extra=template_field())
    """Put before ``url`` when ``url`` is a path (``/v0/item/${i}.json``)."""
    url: str = Field("", json_schema_extra=template_field())
    query: dict[str, str] = Field(default_factory=dict, json_schema_extra=template_field())
    """Query parameters; values may hold ``${secret:NAME}``."""
    headers: dict[str, str] = Field(default_factory=dict, json_schema_extra=template_field())
    """Headers, e.g. ``{"Authorization": "Bearer ${secret:my-api}"}``."""
    body: Any = Field(None, json_schema_extra=template_field())
    body_type: Literal["json", "text", "form"] = "json"
    response_type: Literal["auto", "json", "text"] = "auto"
    """``auto``: JSON when the answer parses as JSON, else text."""
    extract: str | None = None
    """A JMESPath expression picking the output from the JSON answer (``items[:5].title``)."""
    validation: Validation = Field(default_factory=Validation)
    """Checks of the extracted output (required keys, item counts, a JSON Schema)."""
    timeout_s: float = Field(30.0, gt=0, le=3600)
    max_bytes: int = Field(DEFAULT_MAX_BYTES, gt=0)
    """Answers larger than this are refused."""
    max_redirects: int = Field(5, ge=0, le=30)
    reuse: Literal["day", "hour", "forever"] = "day"
    """How long a cached answer may stand in for a new call (the node's ``cache: false``
    never reuses one)."""
    mock_response: Any = Field(None, json_schema_extra=template_field())
    """What mock and dry runs answer instead of calling (before ``extract``); its strings
    are templates, so a sample can differ per item (``"Story ${i}"``)."""
    assemble: AssembleConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("preset"):
            return data
        merged = load_preset(str(data["preset"]))
        for key, value in data.items():
            base = merged.get(key)
            if key in _MERGED and isinstance(base, dict) and isinstance(value, dict):
                merged[key] = {**base, **value}
            else:
                merged[key] = value
        return merged

    @field_validator("extract")
    @classmethod
    def _jmespath(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            import jmespath
            from jmespath.exceptions import JMESPathError

            try:
                jmespath.compile(value)
            except JMESPathError as exc:
                first = str(exc).splitlines()[0].removesuffix(":")
                at = getattr(exc, "lex_position", None)
                where = f" at position {at}" if isinstance(at, int) else ""
                raise ValueError(f"is not a JMESPath expression{where}: {first}") from None
            return value
        return None

    @model_validator(mode="after")
    def _has_url(self) -> ApiConfig:
        if not self.url and not self.base_url and self.assemble is None:
            raise ValueError("set 'url' (or a 'preset')")
        return self


def _secret_refs(source: str) -> list[tuple[int, int, str]]:
    """``(start, end, name)`` of every ``${secret:NAME}`` in a template."""
    found = []
    for ref in tpl.parse(source).variables():
        if ref.namespace == "secret":
            end = source.index("}", ref.position) + 1
            found.append((ref.position, end, ".".join(str(s) for s in ref.path)))
    return found


def _no_secrets(source: str, where: str) -> None:
    if _secret_refs(source):
        raise TemplateError(
            f"${{secret:...}} may only be used in headers and query, not in {where} "
            "(the URL and body are logged)",
            template=source,
        )


def render_parts(ctx: NodeContext, source: str) -> TextParts:
    """Render a template, keeping ``${secret:NAME}`` as ``{"secret": NAME}`` parts.

    The pieces around a secret are rendered one by one, so a value from the context that
    happens to read ``${secret:...}`` stays text and is never resolved.
    """
    refs = _secret_refs(source)
    if not refs:
        return ctx.render(source)
    parts: list[str | dict[str, str]] = []
    at = 0
    for start, end, name in refs:
        if start > at:
            parts.append(ctx.render(source[at:start]))
        parts.append({"secret": name})
        at = end
    if at < len(source):
        parts.append(ctx.render(source[at:]))
    return [p for p in parts if p != ""]


def _render_body(ctx: NodeContext, value: Any) -> Any:
    def check(v: Any) -> None:
        if isinstance(v, str):
            _no_secrets(v, "the body")
        elif isinstance(v, dict):
            for item in v.values():
                check(item)
        elif isinstance(v, list):
            for item in v:
                check(item)

    check(value)
    return ctx.render_value(value)


def _join(base: str, url: str) -> str:
    if not base or url.startswith(("http://", "https://")):
        return url
    if not url:
        return base
    return base.rstrip("/") + "/" + url.lstrip("/")


def _window(reuse: str) -> str:
    now = datetime.now(UTC)
    if reuse == "hour":
        return now.strftime("%Y-%m-%dT%H")
    if reuse == "day":
        return now.strftime("%Y-%m-%d")
    return "forever"


class ApiNode(NodeType[ApiConfig]):
    type_id: ClassVar[str] = "api"
    title: ClassVar[str] = "API call"
    category: ClassVar[str] = "Data"
    description: ClassVar[str] = (
        "Call an HTTP API with values from the context; optionally a model fills in the call."
    )
    lane: ClassVar[str] = "http"
    Config = ApiConfig

    def output_shape(self, config: ApiConfig) -> OutputShape:
        v = config.validation
        return OutputShape(
            kind="json",
            min_items=v.min_items,
            max_items=v.max_items,
            required=v.required,
            json_schema=v.json_schema,
        )

    def plan(self, ctx: NodeContext, config: ApiConfig) -> Plan:
        assemble: dict[str, Any] | None = None
        operation: Operation | None = None
        if config.assemble is not None:
            a = config.assemble
            _no_secrets(a.instruction, "the instruction")
            try:
                operation = a.definition()
            except ValueError as exc:
                raise OutputError(f"assemble: {exc}") from None
            profile = ctx.profile(a.profile)
            assemble = {
                "instruction": ctx.render(a.instruction),
                "operation": operation.model_dump(by_alias=True),
                "profile": a.profile,
                "provider": profile.provider,
                "endpoint": endpoint_of(profile),
                "model": a.model or profile.model,
                "params": {**profile.params, **a.params},
                "use_tools": a.use_tools,
            }
        for where, source in (("the URL", config.url), ("the base URL", config.base_url)):
            _no_secrets(source, where)
        base = ctx.render(config.base_url) or (operation.server if operation else None) or ""
        url = ctx.render(config.url) or (operation.path if operation else None) or ""
        method = config.method or (operation.method if operation else None) or "GET"
        request = {
            "method": method,
            "url": _join(base, url),
            "query": {k: render_parts(ctx, v) for k, v in config.query.items()},
            "headers": {k: render_parts(ctx, v) for k, v in config.headers.items()},
            "body": _render_body(ctx, config.body),
            "body_type": config.body_type,
            "response_type": config.response_type,
            "timeout_s": config.timeout_s,
            "max_bytes": config.max_bytes,
            "max_redirects": config.max_redirects,
            "mock_response": ctx.render_value(config.mock_response),
        }
        return {
            "request": request,
            "assemble": assemble,
            "extract": config.extract,
            "reuse_window": _window(config.reuse),
        }

    async def run(self, ctx: NodeContext, config: ApiConfig, plan: Plan) -> Any:
        fields = dict(plan["request"])
        if plan["assemble"] is not None:
            operation = Operation.model_validate(plan["assemble"]["operation"])
            fill = await assemble_call(ctx, plan["assemble"], operation)
            ctx.log(f"assembled call {operation.name}: {json.dumps(fill, ensure_ascii=False)}")
            fields = apply_fill(fill, operation, fields)
        request = HttpRequest.model_validate(fields)
        response = await ctx.http(request)
        value = response.value
        if plan["extract"]:
            value = extract(plan["extract"], value)
        check_output(value, config.validation)
        return value


def extract(expression: str, value: Any) -> Any:
    """The part of ``value`` a JMESPath expression picks; OutputError for a text answer."""
    import jmespath

    if isinstance(value, str):
        raise OutputError(
            "the answer is text, not JSON, so 'extract' cannot be applied "
            f"(it begins {value[:60]!r})"
        )
    return jmespath.search(expression, value)


async def assemble_call(
    ctx: NodeContext, assemble: dict[str, Any], operation: Operation
) -> dict[str, Any]:
    """Ask the model for the call's arguments until they match the definition (bounded)."""
    schema = operation.fill_schema()
    messages = [
        Message(role="system", content=_SYSTEM.format(name=operation.name)),
        Message(role="user", content=assemble["instruction"]),
    ]
    tools = [operation.tool()] if assemble["use_tools"] else []
    for ask in range(ctx.limits.max_reasks + 1):
        response = await ctx.chat(
            ChatRequest(
                messages=list(messages),
                model=assemble["model"],
                params=assemble["params"],
                json_mode=True,
                shape=OutputShape(kind="object", json_schema=schema),
                tools=tools,
                seed_key=f"assemble/ask{ask}",
            ),
            profile=assemble["profile"],
        )
        text = response.tool_calls[0].arguments if response.tool_calls else response.text
        try:
            return check_fill(parse_json_answer(text), operation)
        except OutputError as exc:
            if ask == ctx.limits.max_reasks:
                raise OutputError(
                    f"could not assemble the call: {exc} (after {ask + 1} answer(s))"
                ) from None
            ctx.log(f"fill unusable, asking again: {exc}", "warning")
            messages.append(Message(role="assistant", content=text))
            messages.append(
                Message(
                    role="user",
                    content=f"Those arguments cannot be used: {exc}. "
                    f"Call {operation.name} again with corrected arguments.",
                )
            )
    raise AssertionError("unreachable")  # pragma: no cover
