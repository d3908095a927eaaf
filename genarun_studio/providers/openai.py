"""The OpenAI-compatible provider: chat, JSON / structured output, images and embeddings.

It speaks to OpenAI and to any endpoint with the same API (Ollama, LM Studio, vLLM,
llama.cpp server, OpenRouter) through the official ``openai`` SDK, which is imported on
first use so that importing this module stays cheap. The SDK's own retries are off
(``max_retries=0``): the engine's retry policy is the only one, and it decides from
:attr:`ProviderError.transient` and :attr:`ProviderError.retry_after`.

Every failure becomes a :class:`ProviderError` whose message names the endpoint's host and,
when there was one, the HTTP status. No message holds the API key or a request header, and
errors are raised ``from None`` so that a logged traceback cannot carry the SDK's request
object either.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
import io
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from genarun_studio import secrets
from genarun_studio.core.tree import ModelProfile
from genarun_studio.errors import GenarunError, ProviderError
from genarun_studio.providers.base import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    ImageResponse,
    Message,
    Provider,
    ToolCall,
    Usage,
)
from genarun_studio.providers.httputil import AnswerTooLarge, bound_response, read_bounded
from genarun_studio.providers.httputil import retry_after as parse_retry_after

if TYPE_CHECKING:
    import httpx
    from openai import APIStatusError, AsyncOpenAI
    from openai.types import CreateEmbeddingResponse, ImagesResponse
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT_S", "OpenAIProvider", "openai_factory"]

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TIMEOUT_S = 120.0
NO_KEY_PLACEHOLDER = "not-needed"
"""Sent as the key to a custom ``base_url`` when none is stored: local servers ignore it."""

_MAX_DETAIL = 300
_TRANSIENT_STATUSES = frozenset({408, 409, 429})
_IMAGE_EXTENSIONS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif"}
_SDK_OPTIONS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
_CHAT_RESERVED = frozenset({"model", "messages", "stream", *_SDK_OPTIONS})
_IMAGE_RESERVED = frozenset({"model", "prompt", "size", "n", "stream", *_SDK_OPTIONS})


class OpenAIProvider(Provider):
    """A provider for one OpenAI-compatible endpoint.

    ``base_url`` is the endpoint (``None``: ``OPENAI_BASE_URL``, else OpenAI's own);
    ``key_name`` names the stored key read through :func:`secrets.get_key` (keychain, then
    ``<NAME>_API_KEY``); ``timeout`` bounds each HTTP request, in seconds. Construction does
    no I/O and never fails for a missing key: the SDK client is made on the first call, and
    a missing key is reported then (an endpoint with a custom ``base_url`` gets
    ``"not-needed"`` instead, since local servers usually want none).

    The provider remembers, per model, which ``response_format`` types the endpoint refused,
    and stops sending them. One instance may serve concurrent calls.
    """

    name = "openai"
    max_image_bytes: int = 50 * 1024 * 1024
    """The largest image downloaded from an image URL."""
    max_redirects: int = 5

    def __init__(
        self,
        *,
        base_url: str | None = None,
        key_name: str = "openai",
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0, got {timeout!r}")
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.endpoint = self.base_url or DEFAULT_BASE_URL
        self.key_name = key_name
        self.timeout = timeout
        self.host = _host(self.endpoint)
        self._sdk: AsyncOpenAI | None = None
        self._downloader: httpx.AsyncClient | None = None
        self._rejected_formats: set[tuple[str, str]] = set()
        self._known_params: dict[str, frozenset[str]] = {}

    @classmethod
    def from_profile(
        cls, profile: ModelProfile, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> OpenAIProvider:
        """The provider for a profile's ``base_url`` and ``key_name`` (default: its provider)."""
        return cls(
            base_url=profile.base_url,
            key_name=profile.key_name or profile.provider,
            timeout=timeout,
        )

    # -- chat ------------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """One chat completion; the first choice's text is the answer.

        ``params`` go to the endpoint: those the SDK knows as arguments, the rest through
        ``extra_body``. With ``json_mode`` or a ``shape.json_schema``, structured output is
        asked for (``json_schema`` when there is a schema, else ``json_object``, the latter
        only when a message mentions JSON, as OpenAI requires). If the endpoint refuses that
        with a 400, the call is made once more without it and, when that succeeds, the type
        is not sent to this model again; the engine validates the answer either way.

        With ``tools``, the first tool is required; the call comes back in
        ``ChatResponse.tool_calls``. An endpoint that refuses tools (400 or 422) is asked
        again without them (JSON mode, ``shape.json_schema``), and tools are not sent to this
        model again.

        Raises ProviderError: transient for 429 (with ``retry_after``), 408, 409, 5xx,
        timeouts, refused connections and malformed JSON; non-transient for a refused key,
        other 4xx, an empty answer or one cut off at ``max_tokens``.
        """
        client = self._client()
        create = client.chat.completions.create
        known, extra = self._split_params("chat", request.params, create, _CHAT_RESERVED)
        messages = [_message_param(m) for m in request.messages]
        response_format = None if "response_format" in known else self._response_format(request)

        async def send(fmt: dict[str, Any] | None, tools: bool = False) -> ChatCompletion:
            kwargs = dict(known)
            if tools:
                kwargs["tools"] = request.tools
                name = request.tools[0].get("function", {}).get("name")
                kwargs["tool_choice"] = {"type": "function", "function": {"name": name}}
            elif fmt is not None:
                kwargs["response_format"] = fmt
            completion: ChatCompletion = await create(
                model=request.model,
                messages=messages,
                extra_body=extra or None,
                **kwargs,
            )
            return completion

        if request.tools and (request.model, "tools") not in self._rejected_formats:
            try:
                return self._chat_response(await self._call(lambda: send(None, True)), request)
            except ProviderError as exc:
                if exc.status not in (400, 422):
                    raise
                # the endpoint has no function calling: JSON mode from here on
                self._rejected_formats.add((request.model, "tools"))
        try:
            completion = await self._call(lambda: send(response_format))
        except ProviderError as exc:
            if response_format is None or exc.status != 400:
                raise
            completion = await self._call(lambda: send(None))
            self._rejected_formats.add((request.model, str(response_format["type"])))
        return self._chat_response(completion, request)

    def _response_format(self, request: ChatRequest) -> dict[str, Any] | None:
        schema = request.shape.json_schema
        if schema is not None:
            if (request.model, "json_schema") in self._rejected_formats:
                return None
            return {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": schema, "strict": False},
            }
        if not request.json_mode or (request.model, "json_object") in self._rejected_formats:
            return None
        if not any("json" in m.content.lower() for m in request.messages):
            return None
        return {"type": "json_object"}

    def _chat_response(self, answer: ChatCompletion, request: ChatRequest) -> ChatResponse:
        if isinstance(cast(object, answer), str):
            raise ProviderError(
                f"{self.host} did not answer with JSON; is the base URL right "
                f"(it usually ends in /v1)? It is {self._display_url()}",
                status=200,
            )
        choices = answer.choices or []
        if not choices:
            raise ProviderError(f"{self.host} answered with no choices (model {request.model})")
        choice = choices[0]
        message = choice.message
        content = message.content if message is not None else None
        calls = [
            ToolCall(name=call.function.name, arguments=call.function.arguments or "{}")
            for call in (getattr(message, "tool_calls", None) or [])
            if getattr(call, "function", None) is not None
        ]
        if not content and not calls:
            refusal = getattr(message, "refusal", None)
            if choice.finish_reason == "length":
                raise ProviderError(
                    f"{self.host}: the answer was cut off at max_tokens before any text "
                    f"(model {request.model}); raise max_tokens"
                )
            if refusal:
                raise ProviderError(
                    f"{self.host}: the model refused: {_clip(secrets.redact(str(refusal)))}"
                )
            if choice.finish_reason == "content_filter":
                raise ProviderError(f"{self.host}: the content filter withheld the answer")
            if content is None:
                raise ProviderError(
                    f"{self.host} answered with no text (model {request.model}, "
                    f"finish_reason {choice.finish_reason!r})"
                )
        usage = answer.usage
        return ChatResponse(
            text=content or "",
            usage=Usage(
                input_tokens=(usage.prompt_tokens or 0) if usage is not None else 0,
                output_tokens=(usage.completion_tokens or 0) if usage is not None else 0,
            ),
            model=answer.model or request.model,
            tool_calls=calls,
        )

    # -- images ----------------------------------------------------------------------------

    async def image(self, request: ImageRequest) -> ImageResponse:
        """Generate one image; the answer may carry it as ``b64_json`` or as a ``url``.

        ``response_format`` is not sent (GPT image models refuse it and always answer in
        base64; DALL·E answers with a URL by default), unless ``params`` set it. A URL is
        downloaded without the API key, following at most ``max_redirects`` redirects, up
        to ``max_image_bytes``. The bytes are checked with Pillow; data that is not a PNG,
        JPEG, WebP or GIF image raises a non-transient ProviderError.
        """
        client = self._client()
        generate = client.images.generate
        known, extra = self._split_params("image", request.params, generate, _IMAGE_RESERVED)
        if request.quality:
            known["quality"] = request.quality

        async def send() -> ImagesResponse:
            generated: ImagesResponse = await generate(
                model=request.model,
                prompt=request.prompt,
                size=request.size,
                n=1,
                extra_body=extra or None,
                **known,
            )
            return generated

        result = await self._call(send)
        items = None if isinstance(cast(object, result), str) else result.data
        if not items:
            raise ProviderError(f"{self.host} answered with no image (model {request.model})")
        item = items[0]
        if item.b64_json:
            data = self._decode_b64(item.b64_json)
        elif item.url:
            data = await self._download(item.url)
        else:
            raise ProviderError(f"{self.host} answered with neither b64_json nor url for the image")
        kind = await asyncio.to_thread(_image_format, data)
        if kind is None:
            raise ProviderError(
                f"{self.host}: the image endpoint returned data that is not an image "
                f"({len(data)} bytes)"
            )
        extension = _IMAGE_EXTENSIONS.get(kind)
        if extension is None:
            raise ProviderError(f"{self.host}: the image endpoint returned a {kind} image")
        return ImageResponse(
            data=data,
            extension=extension,
            usage=Usage(images=1),
            model=request.model,
            revised_prompt=item.revised_prompt or None,
        )

    def _decode_b64(self, text: str) -> bytes:
        try:
            return base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            raise ProviderError(
                f"{self.host}: the image endpoint returned data that is not an image "
                "(invalid base64)"
            ) from None

    async def _download(self, url: str) -> bytes:
        if url.startswith("data:"):
            header, _, payload = url.partition(",")
            if ";base64" not in header:
                raise ProviderError(f"{self.host}: the image data URL is not base64")
            return self._decode_b64(payload)
        parts = urlsplit(url)
        where = _host(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderError(f"{self.host} answered with an image URL that is not http(s)")
        import httpx

        if self._downloader is None:
            self._downloader = httpx.AsyncClient(
                timeout=self.timeout, follow_redirects=True, max_redirects=self.max_redirects
            )
        too_big = ProviderError(
            f"the image at {where} is larger than {self.max_image_bytes // (1024 * 1024)} MB"
            if self.max_image_bytes >= 1024 * 1024
            else f"the image at {where} is larger than {self.max_image_bytes} bytes"
        )
        try:
            async with self._downloader.stream("GET", url) as response:
                status = response.status_code
                if status >= 400:
                    raise ProviderError(
                        f"could not download the image from {where} (HTTP {status})",
                        transient=status in _TRANSIENT_STATUSES or status >= 500,
                        retry_after=parse_retry_after(response.headers),
                        status=status,
                    )
                body = await read_bounded(response, self.max_image_bytes, too_big)
        except httpx.TooManyRedirects:
            raise ProviderError(
                f"the image URL at {where} redirected more than {self.max_redirects} times"
            ) from None
        except httpx.UnsupportedProtocol:
            raise ProviderError(f"the image URL at {where} redirected to a non-http URL") from None
        except httpx.TimeoutException:
            raise ProviderError(
                f"no image from {where} within {self.timeout:g} s", transient=True
            ) from None
        except httpx.TransportError as exc:
            raise ProviderError(
                f"could not download the image from {where}: {_describe(exc)}", transient=True
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ProviderError(
                f"could not download the image from {where}: {_describe(exc)}"
            ) from None
        return body

    # -- embeddings ------------------------------------------------------------------------

    async def embed(self, texts: list[str], model: str) -> list[list[float]]:
        """One vector per text, in order; no request for an empty list.

        Floats are asked for (``encoding_format="float"``), which every compatible server
        supports. Raises ProviderError as :meth:`chat` does.
        """
        if not texts:
            return []
        client = self._client()
        create = client.embeddings.create

        async def send() -> CreateEmbeddingResponse:
            return await create(model=model, input=texts, encoding_format="float")

        result = await self._call(send)
        data = None if isinstance(cast(object, result), str) else result.data
        rows = sorted(data or [], key=lambda row: row.index or 0)
        if len(rows) != len(texts):
            raise ProviderError(
                f"{self.host} returned {len(rows)} embeddings for {len(texts)} texts"
            )
        vectors: list[list[float]] = []
        for row in rows:
            vector = row.embedding
            if not isinstance(vector, list) or not vector:
                raise ProviderError(f"{self.host} returned an embedding that is not a vector")
            vectors.append([float(x) for x in vector])
        return vectors

    # -- plumbing --------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the SDK client and the image downloader, if they were made; reusable after."""
        sdk, downloader = self._sdk, self._downloader
        self._sdk = self._downloader = None
        if sdk is not None:
            await sdk.close()
        if downloader is not None:
            await downloader.aclose()

    def _client(self) -> AsyncOpenAI:
        if self._sdk is None:
            from openai import AsyncOpenAI, DefaultAsyncHttpxClient

            self._sdk = AsyncOpenAI(
                api_key=self._api_key(),
                base_url=self.endpoint,
                timeout=self.timeout,
                max_retries=0,
                # the SDK's own client settings, plus a byte limit on every answer it reads
                http_client=DefaultAsyncHttpxClient(
                    timeout=self.timeout, event_hooks={"response": [bound_response]}
                ),
            )
        return self._sdk

    def _api_key(self) -> str:
        try:
            key = secrets.get_key(self.key_name)
        except GenarunError as exc:
            raise ProviderError(str(exc)) from None
        if key and not key.isascii():  # the SDK would fail to encode the header
            raise ProviderError(
                f"the stored API key {self.key_name!r} holds a non-ASCII character (a pasted "
                f"quote or space?); store it again with `genarun keys set {self.key_name}`"
            )
        if key:
            return key
        if self.base_url is not None:
            return NO_KEY_PLACEHOLDER
        raise ProviderError(
            f"no API key for {self.key_name!r}: run `genarun keys set {self.key_name}` "
            f"or set {secrets.env_var(self.key_name)}",
            transient=False,
        )

    def _split_params(
        self,
        kind: str,
        params: Mapping[str, Any],
        method: Callable[..., Any],
        reserved: frozenset[str],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(arguments the SDK method takes, the rest for ``extra_body``)."""
        clash = sorted(reserved.intersection(params))
        if clash:
            raise ProviderError(
                f"parameter {clash[0]!r} cannot be set in a profile or node; "
                "the provider sets it itself"
            )
        known = self._known_params.get(kind)
        if known is None:
            known = frozenset(inspect.signature(method).parameters) - _SDK_OPTIONS
            self._known_params[kind] = known
        args = {k: v for k, v in params.items() if k in known}
        extra = {k: v for k, v in params.items() if k not in known}
        return args, extra

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Await one SDK call, turning its failures into ProviderError."""
        try:
            return await make()
        except Exception as exc:
            error = self._translate(exc)
            if error is None:
                raise
            raise error from None

    def _translate(self, exc: Exception) -> ProviderError | None:
        """The ProviderError for an SDK failure; None for anything else (a bug)."""
        import openai

        if isinstance(exc, AnswerTooLarge):
            return ProviderError(str(exc))
        if isinstance(exc.__cause__, AnswerTooLarge):
            return ProviderError(str(exc.__cause__))
        if isinstance(exc, openai.APITimeoutError):
            return ProviderError(
                f"no answer from {self._display_url()} within {self.timeout:g} s (timeout)",
                transient=True,
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__
            detail = _describe(cause) if cause is not None else "connection error"
            return ProviderError(f"could not reach {self._display_url()}: {detail}", transient=True)
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc)
        if isinstance(exc, json.JSONDecodeError):
            return ProviderError(
                f"{self.host} answered with malformed JSON ({exc.msg}, character {exc.pos})",
                transient=True,
            )
        if isinstance(exc, openai.OpenAIError):
            return ProviderError(f"{self.host}: {_clip(secrets.redact(str(exc)))}")
        return None

    def _status_error(self, exc: APIStatusError) -> ProviderError:
        status = exc.status_code
        detail = _server_message(exc.body)
        retry_after = parse_retry_after(exc.response.headers)
        if status == 401:
            return ProviderError(
                f"{self.host} refused the API key (401); store the right one with "
                f"`genarun keys set {self.key_name}` or set {secrets.env_var(self.key_name)}",
                status=status,
            )
        suffix = f": {detail}" if detail else ""
        if status == 429:
            if exc.code == "insufficient_quota" or exc.type == "insufficient_quota":
                return ProviderError(
                    f"{self.host}: the account is out of quota (HTTP 429){suffix}", status=status
                )
            wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
            return ProviderError(
                f"{self.host} is rate-limiting requests (HTTP 429){wait}{suffix}",
                transient=True,
                retry_after=retry_after,
                status=status,
            )
        if status >= 500:
            return ProviderError(
                f"{self.host} had a server error (HTTP {status}){suffix}",
                transient=True,
                retry_after=retry_after,
                status=status,
            )
        if status in _TRANSIENT_STATUSES:
            return ProviderError(
                f"{self.host} could not take the request now (HTTP {status}){suffix}",
                transient=True,
                retry_after=retry_after,
                status=status,
            )
        return ProviderError(
            f"{self.host} rejected the request (HTTP {status}){suffix}", status=status
        )

    def _display_url(self) -> str:
        """The endpoint without credentials, query or fragment."""
        parts = urlsplit(self.endpoint)
        return f"{parts.scheme}://{self.host}{parts.path}" if parts.scheme else self.host


def openai_factory(profile: ModelProfile) -> Provider:
    """The :data:`~genarun_studio.providers.registry.ProviderFactory` for ``openai``.

    The HTTP timeout is a generous backstop: the engine bounds every attempt with the
    tree's ``limits.timeout_s``, which may be longer than any fixed client default.
    """
    return OpenAIProvider.from_profile(profile, timeout=3600.0)


def _message_param(message: Message) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _host(url: str) -> str:
    """``host[:port]`` of a URL, never its user info."""
    netloc = urlsplit(url).netloc.rpartition("@")[2]
    return netloc or url.split("/")[0] or "the endpoint"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else f"{text[: _MAX_DETAIL - 1]}…"


def _describe(exc: BaseException) -> str:
    return _clip(secrets.redact(str(exc))) or type(exc).__name__


def _server_message(body: object) -> str:
    """The error message an endpoint sent, redacted and clipped ("" when there is none).

    The SDK passes the body's ``error`` member when there is one (OpenAI's
    ``{"error": {"message": ...}}``); other servers send ``detail``, ``message`` or text.
    """
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, Mapping) else inner
        message = message or body.get("detail") or body.get("message")
        text = message if isinstance(message, str) else json.dumps(body, default=str)
    elif isinstance(body, str):
        text = body
    else:
        return ""
    return _clip(secrets.redact(text))


def _image_format(data: bytes) -> str | None:
    """Pillow's name for the format of ``data`` (``PNG``, ``JPEG``, ...) once it verifies."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except Exception:  # Pillow signals bad data with many exception types
        return None
    return kind or None
