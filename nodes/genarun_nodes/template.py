"""String building with no model call: a template, or a JSON value whose strings are
templates. A JSON array built here fans out like any other array output."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from genarun_studio.core.nodetype import NodeContext, NodeType, Plan, template_field
from genarun_studio.errors import OutputError
from genarun_studio.providers.base import OutputShape

__all__ = ["TemplateConfig", "TemplateNode"]


class TemplateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(None, json_schema_extra=template_field())
    """Text with ``${...}`` and ``[a | b]``; the output is the rendered text."""
    parse_json: bool = False
    """Parse the rendered text as JSON (e.g. to build an array to fan out over)."""
    value: Any = Field(None, json_schema_extra=template_field())
    """Instead of ``template``: any JSON value; every string in it is rendered."""

    @model_validator(mode="after")
    def _one_source(self) -> TemplateConfig:
        if (self.template is None) == (self.value is None):
            raise ValueError("set exactly one of 'template' and 'value'")
        return self


class TemplateNode(NodeType[TemplateConfig]):
    type_id: ClassVar[str] = "template"
    title: ClassVar[str] = "Template"
    category: ClassVar[str] = "Data"
    description: ClassVar[str] = "Build text or JSON from the context, with no model call."
    lane: ClassVar[str] = "local"
    Config = TemplateConfig

    def output_shape(self, config: TemplateConfig) -> OutputShape:
        if isinstance(config.value, list):
            n = len(config.value)
            return OutputShape(kind="json", min_items=n, max_items=n)
        return OutputShape(kind="json" if config.parse_json else "text")

    def plan(self, ctx: NodeContext, config: TemplateConfig) -> Plan:
        if config.template is not None:
            return {"text": ctx.render(config.template), "parse_json": config.parse_json}
        return {"value": ctx.render_value(config.value)}

    async def run(self, ctx: NodeContext, config: TemplateConfig, plan: Plan) -> Any:
        if "value" in plan:
            return plan["value"]
        if plan["parse_json"]:
            try:
                return json.loads(plan["text"])
            except json.JSONDecodeError as exc:
                raise OutputError(f"the rendered template is not JSON: {exc.msg}") from None
        return plan["text"]
