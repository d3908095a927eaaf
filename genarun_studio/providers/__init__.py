"""Model providers: the contract, the offline mock, and (later) OpenAI-compatible endpoints."""

from __future__ import annotations

from genarun_studio.providers.base import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    ImageResponse,
    Message,
    OutputShape,
    Provider,
    Usage,
)

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "ImageRequest",
    "ImageResponse",
    "Message",
    "OutputShape",
    "Provider",
    "Usage",
]
