"""Instance cache signatures, and the cache the engine asks before it calls a model.

A signature is the SHA-256 of the node type and its version, the node's config, the
instance's resolved plan (prompts after ``${}`` and picks, model, parameters) and the
instance key. The key is part of it on purpose: two fan-out items that happen to resolve to
the same prompt are meant to give two different answers, not one answer twice. A rerun of
the same tree with the same inputs and seed maps every instance to the same signature, so
nothing finished is paid for again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from genarun_studio.store.index import RunIndex

__all__ = ["CachedResult", "MemoryCache", "ProjectCache", "ResultCache", "signature"]


def signature(
    type_id: str, version: int, config: Any, plan: Any, key: str, *, mock_seed: int | None = None
) -> str:
    """The instance's cache key. Mock answers never stand in for real ones: a mock run's
    signatures carry its seed (mock answers follow the seed), so a run after a ``--mock``
    try-out calls the real model, and mock runs with another seed get other answers."""
    payload = json.dumps(
        {
            "type": type_id,
            "v": version,
            "config": config,
            "plan": plan,
            "key": key,
            "mock": mock_seed,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedResult:
    output: Any
    run_id: str
    """The run that paid for it."""
    source_dir: str | None = None
    """That run's folder, where the result's assets lie."""
    assets: tuple[str, ...] = ()
    """Asset paths (relative to ``source_dir``) the output refers to; copied on reuse."""


class ResultCache(Protocol):
    """Where finished results are found again. The run store provides a persistent one."""

    def get(self, signature: str) -> CachedResult | None: ...

    def put(self, signature: str, result: CachedResult) -> None: ...


class ProjectCache:
    """The project-wide cache: finished results of every run in the project's index."""

    def __init__(self, index: RunIndex) -> None:
        self.index = index

    def get(self, signature: str) -> CachedResult | None:
        row = self.index.result(signature)
        if row is None:
            return None
        return CachedResult(
            output=row["output"],
            run_id=row["run_id"],
            source_dir=row["run_dir"],
            assets=tuple(row["assets"]),
        )

    def put(self, signature: str, result: CachedResult) -> None:
        """Nothing to do: the index stores results as their journal lines are written."""


class MemoryCache:
    """A cache for one process (the editor's session, tests)."""

    def __init__(self) -> None:
        self._results: dict[str, CachedResult] = {}

    def get(self, signature: str) -> CachedResult | None:
        return self._results.get(signature)

    def put(self, signature: str, result: CachedResult) -> None:
        self._results[signature] = result

    def __len__(self) -> int:
        return len(self._results)
