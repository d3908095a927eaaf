"""What the providers that speak HTTP share: reading ``Retry-After``, reading a bounded body."""

from __future__ import annotations

import email.utils
import math
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ANSWER_LIMIT",
    "DEFAULT_ANSWER_BYTES",
    "DEFAULT_IMAGE_ANSWER_BYTES",
    "AnswerTooLarge",
    "bound_response",
    "read_bounded",
    "retry_after",
]

DEFAULT_ANSWER_BYTES = 16 * 1024 * 1024
"""What a chat, JSON or embedding answer may be when no run says (``limits.max_answer_bytes``)."""
DEFAULT_IMAGE_ANSWER_BYTES = 64 * 1024 * 1024
"""What an image answer (base64 in JSON) may be when no run says."""

ANSWER_LIMIT: ContextVar[int | None] = ContextVar("genarun_answer_limit", default=None)
"""The byte limit of the provider answer being read, set by the engine around each call
(from the tree's ``limits``); None: the defaults above."""


class AnswerTooLarge(Exception):
    """A provider's answer passed its byte limit; raised while it is read, so it is never
    held whole. Providers turn it into a non-transient ProviderError."""

    def __init__(self, host: str, limit: int) -> None:
        self.host = host
        self.limit = limit
        super().__init__(
            f"the answer of {host} passed the limit of {_size(limit)} and was not read "
            "(raise limits.max_answer_bytes, or max_image_bytes for images, in the tree if "
            "it is expected)"
        )


def _size(n: int) -> str:
    mb = 1024 * 1024
    return f"{n // mb} MB" if n >= mb and n % mb == 0 else f"{n:,} bytes"


class _BoundedStream:
    """A response body stream that raises AnswerTooLarge once more than ``limit`` bytes
    came. Made a subclass of the response's own ``AsyncByteStream`` (httpx, or the fork the
    openai SDK uses) by :func:`_bounded_stream_class`, since responses check that type."""

    def __init__(self, inner: Any, limit: int, host: str) -> None:
        self._inner = inner
        self._limit = limit
        self._host = host

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = 0
        async for chunk in self._inner:
            total += len(chunk)
            if total > self._limit:
                raise AnswerTooLarge(self._host, self._limit)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __getattr__(self, name: str) -> Any:  # e.g. ``elapsed`` of httpx's bound stream
        return getattr(self._inner, name)


_STREAM_CLASSES: dict[type, type] = {}


def _bounded_stream_class(base: type) -> type:
    cls = _STREAM_CLASSES.get(base)
    if cls is None:
        cls = type("BoundedStream", (_BoundedStream, base), {})
        _STREAM_CLASSES[base] = cls
    return cls


async def bound_response(response: Any) -> None:
    """An httpx ``response`` event hook: refuse a body over the current answer limit.

    Runs before the body is read: a declared ``Content-Length`` over the limit is refused at
    once, any other body is read through a counting stream that stops at the limit."""
    limit = ANSWER_LIMIT.get()
    if limit is None:
        path = response.request.url.path
        limit = DEFAULT_IMAGE_ANSWER_BYTES if "/images/" in path else DEFAULT_ANSWER_BYTES
    host = response.request.url.netloc.decode("ascii", "replace").rpartition("@")[2]
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise AnswerTooLarge(host, limit)
    package = sys.modules[type(response).__module__.partition(".")[0]]
    stream_class = _bounded_stream_class(package.AsyncByteStream)
    response.stream = stream_class(response.stream, limit, host)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            ms = float(raw_ms)
        except ValueError:
            ms = math.nan
        if math.isfinite(ms):
            return max(ms / 1000.0, 0.0)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max(when.timestamp() - time.time(), 0.0)
    return max(seconds, 0.0) if math.isfinite(seconds) else None


async def read_bounded(response: httpx.Response, max_bytes: int, too_big: Exception) -> bytes:
    """The streamed body, raising ``too_big`` as soon as it (or its declared length) passes
    ``max_bytes``: a huge answer is never held in memory."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)
