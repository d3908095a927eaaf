"""Fan-in: the outputs of every instance of another node, gathered into one.

A fan-out gives one instance per item (a blurb per story); a node that should see them all
at once (the brief that mentions every story) reads them with ``collect``. It waits for the
node it reads (``after: [NODE]`` on the collect node, checked when it runs) and gives the
outputs as text, one per line or separated as asked, or as a list (which fans out again
unless the node says ``fan_out: false``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from genarun_studio.core.nodetype import NodeContext, NodeType, Plan
from genarun_studio.providers.base import OutputShape

__all__ = ["CollectConfig", "CollectNode"]


class CollectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: str = Field(min_length=1)
    """The id of the node whose outputs are gathered (list it in this node's ``after``)."""
    field: str | None = None
    """For object outputs: take this field of each (e.g. ``title``)."""
    as_list: bool = False
    """Give a JSON list instead of text (a list fans out over children unless
    ``fan_out: false``)."""
    separator: str = "\n"
    """Between the outputs, when given as text."""
    numbered: bool = False
    """Number the outputs as text (``1. …``, ``2. …``)."""


class CollectNode(NodeType[CollectConfig]):
    type_id: ClassVar[str] = "collect"
    title: ClassVar[str] = "Collect"
    category: ClassVar[str] = "Data"
    description: ClassVar[str] = (
        "Gather the outputs of every instance of another node (a fan-in), as text or a list."
    )
    lane: ClassVar[str] = "local"
    Config = CollectConfig

    def output_shape(self, config: CollectConfig) -> OutputShape:
        return OutputShape(kind="json" if config.as_list else "text")

    def plan(self, ctx: NodeContext, config: CollectConfig) -> Plan:
        # the gathered outputs are the plan: the cache signature changes when they do
        items = ctx.outputs_of(config.node)
        if config.field is not None:
            items = [i.get(config.field) if isinstance(i, dict) else i for i in items]
        return {"items": items}

    async def run(self, ctx: NodeContext, config: CollectConfig, plan: Plan) -> Any:
        items: list[Any] = plan["items"]
        if config.as_list:
            return items
        texts = [_text(i) for i in items]
        if config.numbered:
            texts = [f"{n}. {t}" for n, t in enumerate(texts, 1)]
        return config.separator.join(texts)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False)
