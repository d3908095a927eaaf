"""The one retry policy for provider calls: transient errors (429, 5xx, timeouts, resets)
are retried with exponential backoff and jitter, waiting at least what ``Retry-After`` asks.

Providers never retry on their own (the OpenAI SDK's ``max_retries`` is set to 0), so a
call's attempts and waits are all visible here, in the events and in the logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from genarun_studio.core.tree import RunLimits
from genarun_studio.errors import ProviderError

__all__ = ["call_with_retries"]

T = TypeVar("T")
MAX_RETRY_AFTER_S = 300.0


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, ProviderError) and exc.transient


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    limits: RunLimits,
    on_retry: Callable[[int, float, ProviderError], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> T:
    """Run ``call`` under the policy; ``on_retry(attempt, wait_s, error)`` before each wait.

    ``sleep`` waits between attempts (default ``asyncio.sleep``): the engine passes one that
    gives the instance's lane slot back while it waits, so a backoff never holds a slot.

    Each attempt is bounded by ``limits.timeout_s``; a timeout counts as transient. The last
    error is raised when attempts run out.
    """
    backoff = wait_exponential(multiplier=limits.backoff_s, max=limits.backoff_max_s) + (
        wait_random(0, limits.backoff_s)
    )

    def wait(state: RetryCallState) -> float:
        delay = float(backoff(state))
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            delay = max(delay, min(exc.retry_after, MAX_RETRY_AFTER_S))
        return delay

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if on_retry is not None and isinstance(exc, ProviderError):
            sleep = state.next_action.sleep if state.next_action else 0.0
            on_retry(state.attempt_number, sleep, exc)

    async def attempt() -> T:
        try:
            async with asyncio.timeout(limits.timeout_s):
                return await call()
        except TimeoutError:
            raise ProviderError(
                f"no answer within {limits.timeout_s:g} s", transient=True
            ) from None

    retrying = AsyncRetrying(
        sleep=sleep or asyncio.sleep,
        retry=retry_if_exception(_is_transient),
        stop=stop_after_attempt(limits.retries + 1),
        wait=wait,
        before_sleep=before_sleep,
        reraise=True,
    )
    async for attempt_state in retrying:
        with attempt_state:
            return await attempt()
    raise AssertionError("unreachable")  # pragma: no cover
