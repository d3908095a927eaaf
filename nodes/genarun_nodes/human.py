"""A question to a person in the middle of a tree.

Kinds: ``multipleChoice`` (options listed, or an array from the context), ``freeText``,
``rating`` (a whole number in a range), ``pickImage`` (one of the images produced upstream)
and ``approve`` (accept, reject or edit a text). The instance waits for the answer while
other branches go on; the answer is the node's output (``answer_format: value``), or a
record of it with who answered, through which channel and when (``record``). A rejected
``approve`` fails the instance, so its subtree is skipped (with ``record`` it never fails).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from genarun_studio.core.nodetype import NodeContext, NodeType, Plan, template_field
from genarun_studio.errors import TemplateError
from genarun_studio.human.request import AnswerRejected, HumanQuestion, check_answer
from genarun_studio.providers.base import OutputShape

__all__ = ["HumanConfig", "HumanNode"]


class HumanConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["multipleChoice", "freeText", "rating", "pickImage", "approve"] = "freeText"
    question: str = Field("", json_schema_extra=template_field())
    """What to ask; ``${...}`` and ``[a | b]`` work as in prompts."""
    options: list[str] = Field(default_factory=list, json_schema_extra=template_field())
    """multipleChoice: the options (templates)."""
    options_from: str | None = None
    """multipleChoice: a context variable holding an array to choose from (``ideas``,
    ``parent.names``), instead of ``options``."""
    images_from: str | None = None
    """pickImage: a context variable holding an image path or an array of image paths."""
    text: str | None = Field(None, json_schema_extra=template_field())
    """approve: the text to accept, reject or edit (usually ``${draft}``)."""
    min: int = 1
    """rating: the lowest rating."""
    max: int = 5
    """rating: the highest rating."""
    max_length: int = Field(10_000, ge=1)
    """freeText and approve edits: the longest answer taken."""
    answer_format: Literal["value", "record"] = "value"
    """value: the answer itself; record: ``{answer, who, channel, at}``."""
    timeout_s: float | None = Field(None, gt=0)
    """Take ``default`` when no answer came within this many seconds (None: wait)."""
    default: Any = None
    """The answer taken on timeout (and by ``--auto-answer``)."""

    @model_validator(mode="after")
    def _complete(self) -> HumanConfig:
        if not self.question.strip():
            raise ValueError("'question' is required")
        if self.kind == "multipleChoice" and not (self.options or self.options_from):
            raise ValueError("a multipleChoice question needs 'options' or 'options_from'")
        if self.kind == "pickImage" and not self.images_from:
            raise ValueError("a pickImage question needs 'images_from'")
        if self.kind == "approve" and self.text is None:
            raise ValueError("an approve question needs the 'text' to approve")
        if self.kind == "rating" and self.min >= self.max:
            raise ValueError("'min' must be below 'max'")
        return self


def _lookup(variables: Mapping[str, Any], path: str, field: str) -> Any:
    value: Any = variables
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise TemplateError(f"{field}: no variable {path!r} in this node's context")
        value = value[part]
    return value


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class HumanNode(NodeType[HumanConfig]):
    type_id: ClassVar[str] = "human"
    title: ClassVar[str] = "Ask a person"
    category: ClassVar[str] = "Human"
    description: ClassVar[str] = (
        "Ask a person (a choice, a text, a rating, a picture to pick, an approval) and wait."
    )
    lane: ClassVar[str] = "human"
    Config = HumanConfig

    def output_shape(self, config: HumanConfig) -> OutputShape:
        return OutputShape(kind="json" if config.answer_format == "record" else "text")

    def plan(self, ctx: NodeContext, config: HumanConfig) -> Plan:
        options = [ctx.render(o) for o in config.options]
        if config.kind == "multipleChoice" and config.options_from:
            found = _lookup(ctx.variables, config.options_from, "options_from")
            if not isinstance(found, list) or not found:
                raise TemplateError(
                    f"options_from: {config.options_from!r} is not a non-empty array"
                )
            options = [_as_text(v) for v in found]
        if config.kind == "pickImage":
            assert config.images_from is not None
            found = _lookup(ctx.variables, config.images_from, "images_from")
            images = found if isinstance(found, list) else [found]
            if not images or not all(isinstance(i, str) for i in images):
                raise TemplateError(
                    f"images_from: {config.images_from!r} is not an image path or an array of them"
                )
            options = list(images)
        plan: Plan = {
            "kind": config.kind,
            "question": ctx.render(config.question),
            "options": options,
            "text": ctx.render(config.text) if config.text is not None else None,
            "min": config.min,
            "max": config.max,
            "max_length": config.max_length,
            "default": config.default,
            "timeout_s": config.timeout_s,
            "answer_format": config.answer_format,
        }
        if config.default is not None:  # a default that could never be taken: say so now
            check_answer(self._question(plan), config.default)
        return plan

    @staticmethod
    def _question(plan: Plan) -> HumanQuestion:
        return HumanQuestion.model_validate({k: v for k, v in plan.items() if k != "answer_format"})

    async def run(self, ctx: NodeContext, config: HumanConfig, plan: Plan) -> Any:
        answer = await ctx.ask(self._question(plan))
        if plan["answer_format"] == "record":
            return {
                "answer": answer.value,
                "who": answer.who,
                "channel": answer.channel,
                "at": answer.at,
            }
        if plan["kind"] == "approve":
            if answer.value["decision"] == "reject":
                raise AnswerRejected(f"rejected by {answer.who} ({answer.channel})")
            return answer.value["text"]
        return answer.value
