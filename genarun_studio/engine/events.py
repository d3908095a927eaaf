"""Typed events a run emits. The CLI, the editor and (later) the server subscribe to them;
none of them drives the engine any other way.

Every event carries the ``run_id`` and a wall-clock time ``at``; instance events carry the
instance ``key`` (e.g. ``ideas/series[2]/photos[0]/image``) and the ``node_id``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from genarun_studio.providers.base import Usage

__all__ = [
    "CostUpdate",
    "Event",
    "HumanAnswered",
    "HumanRequested",
    "InstanceCached",
    "InstanceEvent",
    "InstanceFailed",
    "InstanceFinished",
    "InstanceProgress",
    "InstanceQueued",
    "InstanceSkipped",
    "InstanceStarted",
    "InstanceStopped",
    "LogEvent",
    "RunFinished",
    "RunPaused",
    "RunResumed",
    "RunStarted",
    "RunStopped",
    "RunWaiting",
]


@dataclass(frozen=True, kw_only=True)
class Event:
    run_id: str
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    tree_id: str
    seed: int
    mock: bool
    run_dir: str | None


@dataclass(frozen=True, kw_only=True)
class RunPaused(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class RunResumed(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class RunStopped(Event):
    reason: str = "stopped by the user"


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    status: str
    """``finished``, ``failed`` (finished with failed instances), ``stopped``."""
    counts: dict[str, int]
    wall_s: float


@dataclass(frozen=True, kw_only=True)
class InstanceEvent(Event):
    key: str
    node_id: str


@dataclass(frozen=True, kw_only=True)
class InstanceQueued(InstanceEvent):
    lane: str


@dataclass(frozen=True, kw_only=True)
class InstanceStarted(InstanceEvent):
    lane: str


@dataclass(frozen=True, kw_only=True)
class InstanceProgress(InstanceEvent):
    message: str
    attempt: int = 1


@dataclass(frozen=True, kw_only=True)
class InstanceFinished(InstanceEvent):
    output: Any
    duration_s: float
    usage: Usage
    cost_usd: float = 0.0


@dataclass(frozen=True, kw_only=True)
class InstanceCached(InstanceEvent):
    output: Any
    signature: str


@dataclass(frozen=True, kw_only=True)
class InstanceFailed(InstanceEvent):
    error: str


@dataclass(frozen=True, kw_only=True)
class InstanceSkipped(InstanceEvent):
    reason: str


@dataclass(frozen=True, kw_only=True)
class InstanceStopped(InstanceEvent):
    """The run stopped before this instance could finish (it runs again on resume)."""


@dataclass(frozen=True, kw_only=True)
class LogEvent(Event):
    level: str
    message: str
    key: str | None = None


@dataclass(frozen=True, kw_only=True)
class CostUpdate(Event):
    total_usd: float
    usage: Usage


@dataclass(frozen=True, kw_only=True)
class HumanRequested(InstanceEvent):
    """A human node instance asks a person and waits (other branches go on)."""

    request: dict[str, Any]
    """The HumanRequest as stored in the run folder (``HumanRequest.model_dump()``)."""


@dataclass(frozen=True, kw_only=True)
class HumanAnswered(InstanceEvent):
    value: Any
    who: str
    channel: str
    """``editor``, ``cli``, ``webhook``, ``api``, ``auto`` or ``timeout``."""


@dataclass(frozen=True, kw_only=True)
class RunWaiting(Event):
    """Nothing can proceed until a person answers (the run's status is ``waiting``)."""

    keys: list[str]
    """The instance keys waiting for an answer."""
