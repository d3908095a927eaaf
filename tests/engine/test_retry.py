"""The one retry policy: which errors are retried, how long it waits, when it gives up."""

from __future__ import annotations

import asyncio

import pytest

from genarun_studio.core.tree import RunLimits
from genarun_studio.engine.retry import call_with_retries
from genarun_studio.errors import ProviderError


async def test_retry_after_is_a_floor_on_the_wait() -> None:
    waits: list[tuple[int, float]] = []
    errors = [ProviderError("slow down", transient=True, retry_after=0.05, status=429)]

    async def call() -> str:
        if errors:
            raise errors.pop()
        return "ok"

    limits = RunLimits(retries=2, backoff_s=0.0, backoff_max_s=0.0)
    result = await call_with_retries(call, limits, lambda n, w, e: waits.append((n, w)))
    assert result == "ok"
    assert waits == [(1, 0.05)]


async def test_backoff_grows_and_is_capped() -> None:
    waits: list[float] = []

    async def call() -> str:
        raise ProviderError("server error", transient=True, status=500)

    limits = RunLimits(retries=4, backoff_s=0.001, backoff_max_s=0.004)
    with pytest.raises(ProviderError, match="server error"):
        await call_with_retries(call, limits, lambda n, w, e: waits.append(w))
    assert len(waits) == 4
    # exponential (0.001, 0.002, 0.004, capped 0.004) plus up to 0.001 of jitter
    for wait, base in zip(waits, [0.001, 0.002, 0.004, 0.004], strict=True):
        assert base <= wait <= base + 0.001 + 1e-9


async def test_errors_that_a_retry_cannot_cure_are_not_retried() -> None:
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        raise ProviderError("bad request", transient=False, status=400)

    with pytest.raises(ProviderError, match="bad request"):
        await call_with_retries(call, RunLimits(retries=5, backoff_s=0), None)
    assert calls == 1


async def test_a_hung_call_times_out_and_counts_as_transient() -> None:
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(10)
        return "second try"

    limits = RunLimits(retries=1, backoff_s=0, backoff_max_s=0, timeout_s=0.05)
    assert await call_with_retries(call, limits, None) == "second try"
    assert calls == 2
