"""Executing trees: the engine, runs, their events, cache signatures."""

from __future__ import annotations

from genarun_studio.engine import events
from genarun_studio.engine.cache import CachedResult, MemoryCache, ResultCache, signature
from genarun_studio.engine.engine import Engine
from genarun_studio.engine.run import Run, RunOptions, RunSummary

__all__ = [
    "CachedResult",
    "Engine",
    "MemoryCache",
    "ResultCache",
    "Run",
    "RunOptions",
    "RunSummary",
    "events",
    "signature",
]
