"""A node instance: one execution of a node, for one parent instance (and fan-out item).

Its ``key`` names it everywhere (events, logs, journal, editor): the path of node ids from
the root, with the fan-out item index on the node that fanned out, e.g.
``ideas/series[2]/photos[0]/image``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from genarun_studio.core.template import PickRecord
from genarun_studio.core.tree import Node
from genarun_studio.providers.base import Usage

__all__ = ["FINAL_STATES", "NodeInstance", "asset_stem", "child_key"]

FINAL_STATES = frozenset({"done", "cached", "failed", "skipped", "stopped"})


def child_key(parent: NodeInstance | None, item_index: int | None, node: Node) -> str:
    if parent is None:
        return node.id
    if item_index is None:
        return f"{parent.key}/{node.id}"
    return f"{parent.key}[{item_index}]/{node.id}"


def asset_stem(key: str) -> str:
    """A file-name stem for an instance key: ``ideas/series[2]/img`` → ``ideas_series-2_img``."""
    stem = re.sub(r"\[(\d+)\]", r"-\1", key).replace("/", "_")
    if len(stem) > 120:
        import hashlib

        stem = stem[:100] + "_" + hashlib.sha256(key.encode()).hexdigest()[:12]
    return stem


@dataclass(eq=False)
class NodeInstance:
    key: str
    node: Node
    parent: NodeInstance | None
    item_index: int | None
    context: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)
    """The top-level fields of object ancestors' outputs that ``context`` shows by bare name
    (nearest ancestor first), minus names an input, output key, node id or ``i``/``index``
    already takes: ``context`` holds them, and without them holds the explicit names."""
    lane: str = "local"
    state: str = "pending"
    """pending → queued → running (⇄ waiting, for a person) → done | cached | failed | skipped
    | stopped; a session that ends while a person is asked leaves it ``waiting``."""
    output: Any = None
    plan: dict[str, Any] | None = None
    signature: str | None = None
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    queued_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    attempts: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    picks: list[PickRecord] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    cached_from: str | None = None
    assets: list[str] = field(default_factory=list)
    children: list[NodeInstance] = field(default_factory=list)
    fanned_out: bool = False
    restored: bool = False
    """Taken from the journal of the run being resumed (no new journal line)."""

    @property
    def node_id(self) -> str:
        return self.node.id

    @property
    def output_key(self) -> str:
        return self.node.key

    @property
    def has_output(self) -> bool:
        return self.state in ("done", "cached")

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    def record(self) -> dict[str, Any]:
        """The journal / logs.json entry of this instance."""
        return {
            "key": self.key,
            "node_id": self.node.id,
            "output_key": self.node.key,
            "type": self.node.type,
            "cache": self.node.cache,
            "state": self.state,
            "parent": self.parent.key if self.parent else None,
            "item_index": self.item_index,
            "fanned_out": self.fanned_out,
            "lane": self.lane,
            "output": self.output if self.has_output else None,
            "error": self.error,
            "signature": self.signature,
            "cached_from": self.cached_from,
            "plan": self.plan,
            "picks": [
                {"options": list(p.options), "chosen": p.chosen, "value": p.value}
                for p in self.picks
            ],
            "calls": self.calls,
            "attempts": self.attempts,
            "usage": self.usage.model_dump(),
            "cost_usd": self.cost_usd,
            "queued_at": self.queued_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "assets": self.assets,
            "logs": self.logs,
        }
