"""The provider contract: how node types reach a model.

A provider turns a :class:`ChatRequest` into a :class:`ChatResponse` and an
:class:`ImageRequest` into an :class:`ImageResponse`. It raises
:class:`~genarun_studio.errors.ProviderError` on failure, with ``transient=True`` when a retry
may help; retrying is the engine's job, never the provider's, so exactly one retry policy is
in force.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatRequest",
    "ChatResponse",
    "ImageRequest",
    "ImageResponse",
    "Message",
    "OutputShape",
    "Provider",
    "ToolCall",
    "Usage",
]


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class OutputShape(BaseModel):
    """What a JSON answer must look like.

    Real providers pass ``json_schema`` to endpoints that accept structured output; the
    mock provider uses the whole shape to make a matching answer offline.
    """

    kind: Literal["text", "string-array", "object", "object-array", "json"] = "text"
    min_items: int | None = None
    max_items: int | None = None
    required: list[str] = Field(default_factory=list)
    json_schema: dict[str, Any] | None = None


class Usage(BaseModel):
    """Tokens a call used, as the endpoint reported them (0 when it did not)."""

    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            images=self.images + other.images,
        )


class ChatRequest(BaseModel):
    """A chat completion to make."""

    messages: list[Message]
    model: str
    params: dict[str, Any] = Field(default_factory=dict)
    json_mode: bool = False
    shape: OutputShape = Field(default_factory=OutputShape)
    seed_key: str = ""
    """Stable per-call key (run seed + instance + turn); the mock provider derives its answer
    from it so runs are deterministic by seed."""
    tools: list[dict[str, Any]] = Field(default_factory=list)
    """Function tools the model may call, in the OpenAI format
    (``{"type": "function", "function": {"name", "description", "parameters"}}``). With
    tools, the first one is required (``tool_choice``); an endpoint that refuses tools is
    asked again in JSON mode with ``shape.json_schema``, and the answer comes back as text."""


class ToolCall(BaseModel):
    """A function call the model answered with; ``arguments`` is its JSON text, unparsed."""

    name: str
    arguments: str


class ChatResponse(BaseModel):
    text: str
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)


class ImageRequest(BaseModel):
    prompt: str
    model: str
    size: str = "1024x1024"
    quality: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    seed_key: str = ""


class ImageResponse(BaseModel):
    data: bytes
    """The encoded image (PNG, JPEG or WebP)."""
    extension: str = "png"
    usage: Usage = Field(default_factory=lambda: Usage(images=1))
    model: str = ""
    revised_prompt: str | None = None


class Provider(ABC):
    """A model backend. Subclasses are cheap to construct; connections open lazily."""

    name: str = "provider"
    is_mock: bool = False

    @abstractmethod
    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Answer a chat request, or raise ProviderError."""

    @abstractmethod
    async def image(self, request: ImageRequest) -> ImageResponse:
        """Generate one image, or raise ProviderError."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has none."""
