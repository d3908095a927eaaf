"""Plain HTTP calls for the ``api`` node: one request, bounded in time, size and redirects.

A :class:`HttpRequest` is JSON-able and holds no secret: a header or query value that needs
one is a list of parts, where ``{"secret": "NAME"}`` stands for the key stored under that
name (read through :func:`genarun_studio.secrets.get_key` only when the request is sent).
:func:`send` makes the call with httpx and raises
:class:`~genarun_studio.errors.ProviderError` on failure — transient for 408, 409, 429, 5xx,
timeouts and resets, with the server's ``Retry-After`` — so the engine's one retry policy
applies. Error messages and :meth:`HttpRequest.shown` never hold a secret's value (``***``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from genarun_studio import secrets
from genarun_studio.core.textsafe import clip
from genarun_studio.errors import GenarunError, ProviderError
from genarun_studio.providers.httputil import read_bounded
from genarun_studio.providers.httputil import retry_after as parse_retry_after

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_MAX_BYTES",
    "HttpRequest",
    "HttpResponse",
    "SecretPart",
    "TextParts",
    "send",
    "shown_text",
]

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
_TRANSIENT = frozenset({408, 409, 425, 429})
_PREVIEW = 300

SecretPart = dict[str, str]
"""``{"secret": "NAME"}``: the stored key ``NAME``, put in when the request is sent."""
TextParts = str | list[str | SecretPart]
"""A header or query value: plain text, or literal parts and secrets in order."""


class HttpRequest(BaseModel):
    """One HTTP call to make; ``shown()`` is what logs and test calls may display."""

    model_config = ConfigDict(extra="forbid")

    method: str = "GET"
    url: str
    query: dict[str, TextParts] = Field(default_factory=dict)
    headers: dict[str, TextParts] = Field(default_factory=dict)
    body: Any = None
    body_type: Literal["json", "text", "form"] = "json"
    response_type: Literal["auto", "json", "text"] = "auto"
    timeout_s: float = Field(30.0, gt=0)
    max_bytes: int = Field(DEFAULT_MAX_BYTES, gt=0)
    max_redirects: int = Field(5, ge=0)
    mock_response: Any = None
    """What a mock run answers instead of calling (nothing is sent on mock runs)."""

    def secret_names(self) -> list[str]:
        names: list[str] = []
        for value in [*self.query.values(), *self.headers.values()]:
            if isinstance(value, list):
                names += [p["secret"] for p in value if isinstance(p, dict)]
        return names

    def shown(self) -> dict[str, Any]:
        """The request as logs show it: every secret as ``***``."""
        return {
            "method": self.method,
            "url": self.url,
            "query": {k: shown_text(v) for k, v in self.query.items()},
            "headers": {k: shown_text(v) for k, v in self.headers.items()},
            "body": self.body,
        }


class HttpResponse(BaseModel):
    """What came back: ``value`` is the parsed JSON, or the text."""

    status: int
    url: str
    content_type: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    value: Any = None
    size: int = 0
    mock: bool = False

    def shown(self) -> dict[str, Any]:
        text = (
            self.value
            if isinstance(self.value, str)
            else json.dumps(self.value, ensure_ascii=False)
        )
        preview = text if len(text) <= 2000 else f"{text[:2000]}… ({self.size} bytes)"
        return {
            "status": self.status,
            "url": self.url,
            "content_type": self.content_type,
            "size": self.size,
            "mock": self.mock,
            "body": preview,
        }


def shown_text(value: TextParts) -> str:
    if isinstance(value, str):
        return value
    return "".join(p if isinstance(p, str) else "***" for p in value)


def _resolve(value: TextParts, used: set[str]) -> str:
    if isinstance(value, str):
        return value
    out: list[str] = []
    for part in value:
        if isinstance(part, str):
            out.append(part)
            continue
        name = part["secret"]
        try:
            key = secrets.get_key(name)
        except GenarunError as exc:
            raise ProviderError(f"secret {name!r}: {exc}") from None
        if not key:
            raise ProviderError(
                f"no secret {name!r}: store it with `genarun keys set {name}` "
                f"or set {secrets.env_var(name)}"
            )
        used.update(_echoed_forms(key))
        out.append(key)
    return "".join(out)


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""Characters a header may not hold (a tab may)."""


def _echoed_forms(key: str) -> set[str]:
    """A secret and its form in httpx's query encoding; :func:`secrets.redact` adds the
    other ways a server may echo it back (URL-encoded, JSON-escaped, base64)."""
    import httpx

    encoded = str(httpx.QueryParams({"k": key})).partition("=")[2]
    return {form for form in (key, encoded) if form}


_Origin = tuple[str, str, int | None]


def _origin(url: httpx.URL) -> _Origin:
    """Scheme, host and port (the scheme's default when none is written)."""
    port = url.port if url.port is not None else {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, port)


def _upgrade(origin: _Origin, there: _Origin) -> bool:
    """``http://host`` to ``https://host`` on the default ports: the same server, safer."""
    return origin == ("http", there[1], 80) and there == ("https", origin[1], 443)


def _shown_origin(origin: _Origin) -> str:
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def _host(url: str) -> str:
    return urlsplit(url).netloc.rpartition("@")[2] or url


async def send(request: HttpRequest, on_hop: Callable[[str], None] | None = None) -> HttpResponse:
    """Make the call; raises ProviderError (see the module docstring).

    Redirects are followed one by one, at most ``max_redirects``; when there was one,
    ``on_hop`` gets a line per hop (method, URL with secrets masked, status). A request that
    carries a secret never follows a redirect to another origin (scheme, host, port; an
    ``http`` to ``https`` upgrade of the same host excepted): it fails naming both origins,
    since a header silently dropped would only give a puzzling 401, and a header kept would
    hand the key to whoever the first server points at.
    """
    import httpx

    used: set[str] = set()
    query = {k: _resolve(v, used) for k, v in request.query.items()}
    headers = {k: _resolve(v, used) for k, v in request.headers.items()}
    host = _host(request.url)
    for name, header in headers.items():
        if not (header.isascii() and name.isascii()):  # httpx would fail to encode it
            holds = " (it holds a secret)" if isinstance(request.headers[name], list) else ""
            raise ProviderError(
                f"the header {clip(repr(name))} holds a non-ASCII character{holds}, which HTTP "
                "headers cannot carry; the request was not sent"
            )
        if _CONTROL.search(header) or _CONTROL.search(name) or not name.strip():
            raise ProviderError(  # httpx would call it a transport error, retried in vain
                f"the header {name!r} holds a line break or another control character "
                "(from a value of the context?); the request was not sent"
            )
    if urlsplit(request.url).scheme not in ("http", "https"):
        raise ProviderError(f"the URL {request.url!r} is not http(s)")

    def clean(text: str) -> str:
        text = secrets.redact(text, used)
        return text if len(text) <= _PREVIEW else f"{text[: _PREVIEW - 1]}…"

    content: dict[str, Any] = {}
    if request.body is not None and request.method.upper() not in ("GET", "HEAD"):
        if request.body_type == "json":
            content["json"] = request.body
        elif request.body_type == "form":
            content["data"] = request.body
        else:
            content["content"] = str(request.body).encode("utf-8")
    too_big = ProviderError(
        f"the answer of {host} is larger than the limit of {request.max_bytes} bytes "
        "(raise max_bytes if it is expected)"
    )
    secret_bearing = bool(request.secret_names())
    try:
        async with httpx.AsyncClient(timeout=request.timeout_s) as client:
            step = client.build_request(
                request.method.upper(), request.url, params=query, headers=headers, **content
            )
            origin = _origin(step.url)
            followed = 0
            while True:
                response = await client.send(step, stream=True)
                try:
                    following = response.next_request
                    if following is not None:
                        if on_hop is not None:
                            on_hop(
                                f"{step.method} {clean(str(step.url))} answered "
                                f"{response.status_code}, redirecting to "
                                f"{clean(str(following.url))}"
                            )
                        if followed >= request.max_redirects:
                            raise httpx.TooManyRedirects("", request=step)
                        there = _origin(following.url)
                        if secret_bearing and there != origin and not _upgrade(origin, there):
                            raise ProviderError(
                                f"{_shown_origin(origin)} redirected to another origin, "
                                f"{_shown_origin(there)}; the request carries a secret in its "
                                "headers or query, so it was not sent there (call that URL "
                                "directly if you trust it)"
                            )
                        followed += 1
                        step = following
                        continue
                    raw = await read_bounded(response, request.max_bytes, too_big)
                finally:
                    await response.aclose()
                break
            status = response.status_code
            if on_hop is not None and followed:
                on_hop(f"{step.method} {clean(str(step.url))} answered {status}")
            final_url = str(response.url.copy_with(query=None))
            content_type = response.headers.get("content-type", "")
            reply_headers = {k: clean(v) for k, v in response.headers.items()}
            retry_after = parse_retry_after(response.headers)
    except httpx.TooManyRedirects:
        raise ProviderError(
            f"{host} redirected more than {request.max_redirects} times (a redirect loop?)"
        ) from None
    except httpx.TimeoutException:
        raise ProviderError(
            f"no answer from {host} within {request.timeout_s:g} s (timeout)", transient=True
        ) from None
    except httpx.TransportError as exc:
        raise ProviderError(
            f"could not reach {host}: {clean(str(exc)) or type(exc).__name__}", transient=True
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ProviderError(f"the call to {host} failed: {clean(str(exc))}") from None
    text = raw.decode(response.encoding or "utf-8", errors="replace")
    if used:
        text = secrets.redact(text, used)  # an echoed secret is never kept
    if status >= 400:
        detail = " ".join(text.split())
        suffix = f": {clean(detail)}" if detail else ""
        raise ProviderError(
            f"{host} answered HTTP {status}{suffix}",
            transient=status in _TRANSIENT or status >= 500,
            retry_after=retry_after,
            status=status,
        )
    value: Any = text
    wants_json = request.response_type == "json" or (
        request.response_type == "auto" and "json" in content_type.lower()
    )
    if wants_json:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProviderError(
                f"{host} answered with malformed JSON ({exc.msg}, character {exc.pos})"
            ) from None
    elif request.response_type == "auto":
        try:  # many APIs send JSON as text/plain
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
    return HttpResponse(
        status=status,
        url=final_url,
        content_type=content_type,
        headers=reply_headers,
        value=value,
        size=len(raw),
    )
