"""Prompt turns, shared by the model-calling node types."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from genarun_studio.core.nodetype import NodeContext, template_field

__all__ = ["PromptConfig", "Turn", "coerce_turns", "prompt_schema", "render_turns"]


class Turn(BaseModel):
    """One prompt turn: one model call, which sees the earlier turns and their answers.

    ``prefix + template + suffix`` is the user message (the original Genarun's
    ``{prefix, template, suffix}`` form); ``system`` is sent before it.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    template: str = Field(json_schema_extra=template_field())
    system: str | None = Field(None, json_schema_extra=template_field())
    prefix: str = Field("", json_schema_extra=template_field())
    suffix: str = Field("", json_schema_extra=template_field())
    parse_json: bool = False
    """Parse this turn's answer as JSON (the last turn's answer is the node's output)."""


def coerce_turns(value: Any) -> Any:
    """Accept a plain string or a single turn object where a list of turns is expected."""
    if isinstance(value, str):
        return [{"template": value}]
    if isinstance(value, dict):
        return [value]
    return value


def prompt_schema(schema: dict[str, Any]) -> None:
    """A prompt may also be written as one string or one turn object."""
    array = dict(schema)
    schema.clear()
    schema.update(template_field())
    schema["anyOf"] = [{"type": "string"}, array["items"], array]
    schema["title"] = array.pop("title", "Prompt")


class PromptConfig(BaseModel):
    """Fields every prompted node type shares."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    prompt: list[Turn] = Field(min_length=1, json_schema_extra=prompt_schema)
    profile: str = "text"
    """The tree's model profile to use (``models`` in the tree file)."""
    model: str | None = None
    """Overrides the profile's model for this node."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Extra request parameters (temperature, max_tokens, ...), over the profile's."""

    @field_validator("prompt", mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> Any:
        return coerce_turns(value)


def render_turns(ctx: NodeContext, turns: list[Turn]) -> list[dict[str, Any]]:
    """Each turn resolved: ``{"system": str | None, "user": str, "parse_json": bool}``."""
    rendered = []
    for turn in turns:
        user = ctx.render(turn.prefix) + ctx.render(turn.template) + ctx.render(turn.suffix)
        system = ctx.render(turn.system) if turn.system is not None else None
        rendered.append({"system": system, "user": user, "parse_json": turn.parse_json})
    return rendered
