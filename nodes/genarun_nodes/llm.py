"""Text, list and JSON generation through a chat model: ``text``, ``text-array``, ``object``.

A prompt of several turns makes one call per turn, each seeing the earlier turns and their
answers (as the original Genarun did); the last answer is the output. An answer that does
not parse or validate is asked again with the reason, at most ``limits.max_reasks`` times.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import Field

from genarun_nodes.prompts import PromptConfig, Turn, prompt_schema, render_turns
from genarun_studio.core.answers import (
    Validation,
    check_output,
    parse_json_answer,
    parse_list_answer,
)
from genarun_studio.core.nodetype import NodeContext, NodeType, Plan, endpoint_of
from genarun_studio.errors import OutputError
from genarun_studio.providers.base import ChatRequest, Message, OutputShape

__all__ = ["LLMConfig", "ObjectConfig", "ObjectNode", "TextArrayNode", "TextNode"]


class LLMConfig(PromptConfig):
    validation: Validation = Field(default_factory=Validation)


class ObjectConfig(LLMConfig):
    """An ``object`` node's config: without a prompt the node only groups its children."""

    prompt: list[Turn] = Field(default_factory=list, json_schema_extra=prompt_schema)


class _ChatNode(NodeType[LLMConfig]):
    """Shared plan/run of the chat node types; subclasses say how to read the answer."""

    category: ClassVar[str] = "Generate"
    lane: ClassVar[str] = "text"
    Config = LLMConfig
    calls_model: ClassVar[bool] = True

    def plan(self, ctx: NodeContext, config: LLMConfig) -> Plan:
        profile = ctx.profile(config.profile)
        return {
            "profile": config.profile,
            "provider": profile.provider,
            "endpoint": endpoint_of(profile),
            "model": config.model or profile.model,
            "params": {**profile.params, **config.params},
            "turns": render_turns(ctx, config.prompt),
            "shape": self.output_shape(config).model_dump(exclude_defaults=True),
        }

    def read_answer(self, text: str, config: LLMConfig, parse_json: bool) -> Any:
        """The output from the final answer; raises OutputError when it is unusable."""
        value: Any = parse_json_answer(text) if parse_json else text.strip()
        check_output(value, config.validation)
        return value

    def json_mode(self, config: LLMConfig, parse_json: bool) -> bool:
        return parse_json

    async def run(self, ctx: NodeContext, config: LLMConfig, plan: Plan) -> Any:
        turns: list[dict[str, Any]] = plan["turns"]
        messages: list[Message] = []
        last = len(turns) - 1
        value: Any = None
        for index, turn in enumerate(turns):
            if turn["system"]:
                messages.append(Message(role="system", content=turn["system"]))
            messages.append(Message(role="user", content=turn["user"]))
            final = index == last
            parse = bool(turn["parse_json"])
            shape = (
                OutputShape.model_validate(plan["shape"])
                if final
                else OutputShape(kind="json" if parse else "text")
            )
            for reask in range(ctx.limits.max_reasks + 1):
                response = await ctx.chat(
                    ChatRequest(
                        messages=list(messages),
                        model=plan["model"],
                        params=plan["params"],
                        json_mode=self.json_mode(config, parse) if final else parse,
                        shape=shape,
                        seed_key=f"turn{index}/ask{reask}",
                    ),
                    profile=plan["profile"],
                )
                messages.append(Message(role="assistant", content=response.text))
                try:
                    if final:
                        value = self.read_answer(response.text, config, parse)
                    elif parse:
                        parse_json_answer(response.text)
                    break
                except OutputError as exc:
                    if reask == ctx.limits.max_reasks:
                        raise OutputError(f"{exc} (after {reask + 1} answer(s))") from None
                    ctx.log(f"answer unusable, asking again: {exc}", "warning")
                    messages.append(
                        Message(
                            role="user",
                            content=f"That answer cannot be used: {exc}. "
                            "Answer again, following the format exactly.",
                        )
                    )
        return value


class TextNode(_ChatNode):
    """Free text; the answer as it is (or parsed, when the last turn says ``parse_json``)."""

    type_id: ClassVar[str] = "text"
    title: ClassVar[str] = "Text"
    description: ClassVar[str] = "Generate text with a chat model."

    def output_shape(self, config: LLMConfig) -> OutputShape:
        parse = config.prompt[-1].parse_json
        return OutputShape(
            kind="json" if parse else "text",
            json_schema=config.validation.json_schema,
            required=config.validation.required,
        )


class TextArrayNode(_ChatNode):
    """A list of strings; its children run once per item."""

    type_id: ClassVar[str] = "text-array"
    title: ClassVar[str] = "Text list"
    description: ClassVar[str] = "Generate a list of strings; children run once per item."

    def output_shape(self, config: LLMConfig) -> OutputShape:
        v = config.validation
        return OutputShape(kind="string-array", min_items=v.min_items, max_items=v.max_items)

    def json_mode(self, config: LLMConfig, parse_json: bool) -> bool:
        return False  # JSON mode makes some endpoints insist on an object, not an array

    def read_answer(self, text: str, config: LLMConfig, parse_json: bool) -> Any:
        items = parse_list_answer(text)
        value = [i if isinstance(i, str) else json.dumps(i, ensure_ascii=False) for i in items]
        check_output(value, config.validation)
        return value


class ObjectNode(_ChatNode):
    """A JSON object, or an array of objects when the validation asks for items."""

    type_id: ClassVar[str] = "object"
    title: ClassVar[str] = "JSON"
    description: ClassVar[str] = (
        "Generate a JSON object (or a list of them) with a chat model; "
        "without a prompt, group the children (no call, output {})."
    )
    Config = ObjectConfig

    def plan(self, ctx: NodeContext, config: LLMConfig) -> Plan:
        if not config.prompt:  # a grouping node, as the original's prompt-less root
            return {"group": True}
        return super().plan(ctx, config)

    def names_output(self, config: LLMConfig) -> bool:
        return bool(config.prompt)  # a group's {} would hide an input of its name

    async def run(self, ctx: NodeContext, config: LLMConfig, plan: Plan) -> Any:
        if plan.get("group"):
            return {}
        return await super().run(ctx, config, plan)

    def output_shape(self, config: LLMConfig) -> OutputShape:
        if not config.prompt:
            # a grouping node's {}: no fields, which validation can rely on
            return OutputShape(
                kind="object", json_schema={"type": "object", "additionalProperties": False}
            )
        v = config.validation
        schema = v.json_schema
        many = v.min_items is not None or v.max_items is not None
        many = many or (schema is not None and schema.get("type") == "array")
        return OutputShape(
            kind="object-array" if many else "object",
            min_items=v.min_items,
            max_items=v.max_items,
            required=v.required,
            json_schema=schema,
        )

    def json_mode(self, config: LLMConfig, parse_json: bool) -> bool:
        return self.output_shape(config).kind == "object"

    def read_answer(self, text: str, config: LLMConfig, parse_json: bool) -> Any:
        value = parse_json_answer(text)
        many = self.output_shape(config).kind == "object-array"
        if many and isinstance(value, dict):
            arrays = [v for v in value.values() if isinstance(v, list)]
            if len(arrays) == 1:
                value = arrays[0]
        check_output(value, config.validation)
        if not many and not isinstance(value, dict):
            raise OutputError(f"expected a JSON object, got {type(value).__name__}")
        return value
