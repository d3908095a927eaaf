"""A real HTTP server on 127.0.0.1 that speaks enough of the OpenAI API for tests.

It runs in a background thread (so it serves async tests, sync tests and subprocesses
alike) and answers:

- ``POST /v1/chat/completions``: ``chat_answer`` (a string, or a function of the recorded
  request returning the text or None for ``"content": null``), with ``finish_reason`` and a
  word-count usage;
- ``POST /v1/images/generations``: ``image_bytes`` as ``b64_json``, or, with
  ``image_form = "url"``, as a URL to ``GET /files/image-<n>.<ext>`` on this server;
- ``POST /v1/embeddings``: a deterministic vector of ``embedding_dim`` floats per input
  (:func:`embedding_for`), as floats or base64 as ``encoding_format`` asks;
- ``GET /files/<name>``: the bytes in ``files``;
- chat requests with ``tools``: a call of the first tool when ``tool_answer`` gives
  arguments;
- any path in ``routes``: what its function answers (plain JSON APIs for the ``api`` node).

Tests script it with :meth:`OpenAIServer.script` (answers taken, in order, by the next
matching requests: faults, redirects, malformed bodies) or the :meth:`OpenAIServer.fail`
shortcut; slow it down with ``latency``; hold requests with :meth:`OpenAIServer.hold`. It
records every request (:attr:`OpenAIServer.requests`) and the most requests in flight at
once (:attr:`OpenAIServer.max_in_flight`). Typical use, through the ``openai_server``
fixture of ``tests/providers/conftest.py``::

    server.fail(429, headers={"Retry-After": "0"})
    server.chat_answer = "hello"
    ...  # call the provider with base_url=server.base_url
    assert server.count("/v1/chat/completions") == 2

:meth:`OpenAIServer.stop` closes every connection and returns promptly, even while
requests are held or delayed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import mimetypes
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from PIL import Image

__all__ = [
    "CHAT_PATH",
    "EMBEDDINGS_PATH",
    "FAKE_KEY",
    "IMAGES_PATH",
    "OpenAIServer",
    "RecordedRequest",
    "Reply",
    "closed_port_url",
    "embedding_for",
    "image_bytes",
    "png_bytes",
    "running_server",
]

FAKE_KEY = "sk-test.SECRET.123456789"
"""A recognisable fake API key: tests assert it never shows up where it must not."""

CHAT_PATH = "/v1/chat/completions"
IMAGES_PATH = "/v1/images/generations"
EMBEDDINGS_PATH = "/v1/embeddings"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    """The path without the query string, e.g. ``/v1/chat/completions``."""
    headers: dict[str, str]
    """Header names in lower case."""
    body: Any
    """The parsed JSON body; None when there was none or it was not JSON."""
    raw: bytes
    query: dict[str, str] = field(default_factory=dict)
    """The query string's parameters (the last value of a repeated one)."""

    def last_user(self) -> str:
        """The content of the last ``user`` message of a chat request ("" if none)."""
        messages = self.body.get("messages", []) if isinstance(self.body, dict) else []
        users = [m.get("content", "") for m in messages if m.get("role") == "user"]
        return str(users[-1]) if users else ""


@dataclass
class Reply:
    """A scripted answer for the next matching request(s).

    ``body``: a dict or list is sent as JSON; str and bytes are sent as they are, with
    ``content_type``. ``path`` restricts it to requests for that exact path; ``when`` to
    requests it returns True for. ``times`` is how many requests it answers (None: all).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    path: str | None = None
    when: Callable[[RecordedRequest], bool] | None = None
    times: int | None = 1

    def matches(self, request: RecordedRequest) -> bool:
        if self.path is not None and request.path != self.path:
            return False
        return self.when is None or self.when(request)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


def png_bytes(
    width: int = 4, height: int = 4, color: tuple[int, int, int] = (200, 60, 30)
) -> bytes:
    """A small valid PNG."""
    return image_bytes("PNG", width, height, color)


def image_bytes(
    fmt: str, width: int = 4, height: int = 4, color: tuple[int, int, int] = (200, 60, 30)
) -> bytes:
    """A small valid image in Pillow format ``fmt`` (``PNG``, ``JPEG``, ``WEBP``, ``GIF``)."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=fmt)
    return buffer.getvalue()


def embedding_for(text: str, dim: int = 8) -> list[float]:
    """The server's vector for ``text``: stable, in [-1, 1), exact in float32."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    while len(digest) < dim:
        digest += hashlib.sha256(digest).digest()
    return [(digest[i] - 128) / 128 for i in range(dim)]


def closed_port_url() -> str:
    """A ``http://127.0.0.1:<port>/v1`` URL where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _words(text: str) -> int:
    return len(text.split())


class OpenAIServer:
    """The test server; see the module docstring. Settings may be changed at any time."""

    def __init__(self) -> None:
        self.latency: float = 0.0
        """Seconds every request waits before it is answered."""
        self.chat_answer: str | Callable[[RecordedRequest], str | None] = lambda request: (
            f"answer to: {request.last_user()}"
        )
        self.finish_reason: str = "stop"
        self.image_form: Literal["b64_json", "url"] = "b64_json"
        self.image_bytes: bytes = png_bytes()
        self.image_extension: str = "png"
        """The extension of the ``/files`` name an image URL points to."""
        self.embedding_dim: int = 8
        self.files: dict[str, bytes] = {}
        self.tool_answer: Callable[[RecordedRequest], Any] | None = None
        """For chat requests with ``tools``: the arguments of a call of the first tool (a
        dict, or a string sent as it is); None (the default, or returned): a text answer."""
        self.routes: dict[str, Callable[[RecordedRequest], Reply]] = {}
        """Any method on these paths is answered by the function (after scripted replies)."""
        self._replies: list[Reply] = []
        self._requests: list[RecordedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._lock = threading.Condition()
        self._open = threading.Event()
        self._open.set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> OpenAIServer:
        """Listen on a free port of 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("the server is already running")
        self._stopping.clear()
        self._httpd = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="openai-test-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end held and delayed requests, close every connection."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        self._open.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join()
        self._httpd = self._thread = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL: ``http://127.0.0.1:<port>/v1``."""
        return f"{self.url}/v1"

    # -- scripting -------------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request takes the first queued reply that matches it."""
        with self._lock:
            self._replies.extend(replies)

    def fail(
        self,
        status: int,
        message: str = "scripted failure",
        *,
        headers: dict[str, str] | None = None,
        path: str | None = None,
        when: Callable[[RecordedRequest], bool] | None = None,
        times: int | None = 1,
        code: str | None = None,
        param: str | None = None,
    ) -> Reply:
        """Queue an OpenAI-style error (``{"error": {"message", "type", "param", "code"}}``)."""
        reply = Reply(
            status=status,
            body={
                "error": {
                    "message": message,
                    "type": code or "invalid_request_error",
                    "param": param,
                    "code": code,
                }
            },
            headers=dict(headers or {}),
            path=path,
            when=when,
            times=times,
        )
        self.script(reply)
        return reply

    def pending(self) -> int:
        """How many scripted replies are still queued."""
        with self._lock:
            return len(self._replies)

    def hold(self) -> None:
        """Make requests wait (after being recorded) until :meth:`release`."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    # -- observation -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def count(self, path: str | None = None) -> int:
        """How many requests (for ``path``) arrived."""
        with self._lock:
            return sum(1 for r in self._requests if path is None or r.path == path)

    def bodies(self, path: str) -> list[Any]:
        """The JSON bodies of the requests for ``path``, in order."""
        return [r.body for r in self.requests if r.path == path]

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests the server was handling at the same moment."""
        with self._lock:
            return self._max_in_flight

    def wait_in_flight(self, n: int, timeout: float = 10.0) -> bool:
        """Block until at least ``n`` requests are in flight; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._in_flight >= n, timeout)

    def clear(self) -> None:
        """Forget recorded requests, the in-flight maximum and queued replies."""
        with self._lock:
            self._requests.clear()
            self._replies.clear()
            self._max_in_flight = self._in_flight

    # -- handling (called from handler threads) --------------------------------------------

    def _enter(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._lock.notify_all()

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._lock.notify_all()

    def _wait(self) -> None:
        while not self._open.wait(0.05):
            if self._stopping.is_set():
                return
        if self.latency > 0:
            self._stopping.wait(self.latency)

    def _scripted(self, request: RecordedRequest) -> Reply | None:
        with self._lock:
            for index, reply in enumerate(self._replies):
                if reply.matches(request):
                    if reply.times is not None:
                        reply.times -= 1
                        if reply.times <= 0:
                            del self._replies[index]
                    return reply
        return None

    def _answer(self, request: RecordedRequest) -> Reply:
        scripted = self._scripted(request)
        if scripted is not None:
            return scripted
        route = self.routes.get(request.path)
        if route is not None:
            return route(request)
        if request.method == "GET" and request.path.startswith("/files/"):
            name = request.path.removeprefix("/files/")
            data = self.files.get(name)
            if data is None:
                return _error(404, f"no file {name!r}")
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return Reply(body=data, content_type=kind)
        if request.method != "POST":
            return _error(405, f"{request.method} is not supported here")
        if not isinstance(request.body, dict):
            return _error(400, "the body must be a JSON object")
        if request.path == CHAT_PATH:
            return self._chat(request)
        if request.path == IMAGES_PATH:
            return self._image(request)
        if request.path == EMBEDDINGS_PATH:
            return self._embeddings(request)
        return _error(404, f"unknown path {request.path}")

    def _chat(self, request: RecordedRequest) -> Reply:
        body = request.body
        prompt_tokens = sum(_words(str(m.get("content", ""))) for m in body.get("messages", []))
        tools = body.get("tools") or []
        arguments = self.tool_answer(request) if tools and self.tool_answer is not None else None
        if arguments is not None:
            text = arguments if isinstance(arguments, str) else json.dumps(arguments)
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{self.count()}",
                        "type": "function",
                        "function": {"name": tools[0]["function"]["name"], "arguments": text},
                    }
                ],
            }
            return self._completion(body, message, "tool_calls", prompt_tokens, _words(text))
        answer = (
            self.chat_answer if isinstance(self.chat_answer, str) else self.chat_answer(request)
        )
        completion_tokens = _words(answer or "")
        message = {"role": "assistant", "content": answer}
        return self._completion(body, message, self.finish_reason, prompt_tokens, completion_tokens)

    def _completion(
        self,
        body: dict[str, Any],
        message: dict[str, Any],
        finish_reason: str,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> Reply:
        return Reply(
            body={
                "id": f"chatcmpl-{self.count()}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    def _image(self, request: RecordedRequest) -> Reply:
        prompt = str(request.body.get("prompt", ""))
        item: dict[str, Any] = {"revised_prompt": f"revised: {prompt}"}
        if self.image_form == "url":
            name = f"image-{self.count(IMAGES_PATH)}.{self.image_extension}"
            self.files[name] = self.image_bytes
            item["url"] = f"{self.url}/files/{name}"
        else:
            item["b64_json"] = base64.b64encode(self.image_bytes).decode("ascii")
        return Reply(body={"created": int(time.time()), "data": [item]})

    def _embeddings(self, request: RecordedRequest) -> Reply:
        body = request.body
        raw_input = body.get("input", [])
        texts = [raw_input] if isinstance(raw_input, str) else [str(t) for t in raw_input]
        rows = []
        for index, text in enumerate(texts):
            vector: Any = embedding_for(text, self.embedding_dim)
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            rows.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(_words(t) for t in texts)
        return Reply(
            body={
                "object": "list",
                "data": rows,
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


def _error(status: int, message: str) -> Reply:
    return Reply(
        status=status,
        body={"error": {"message": message, "type": "invalid_request_error", "param": None}},
    )


@contextmanager
def running_server() -> Iterator[OpenAIServer]:
    """A started :class:`OpenAIServer`, stopped on exit."""
    server = OpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: OpenAIServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every handler blocked on a kept-alive connection so that it ends."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (e.g. after a timeout) are expected; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _HTTPServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log lines."""

    def _handle(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = RecordedRequest(
            method=self.command,
            path=self.path.split("?", 1)[0],
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw=raw,
            query=dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)),
        )
        owner._enter(request)
        try:
            owner._wait()
            if owner._stopping.is_set():
                self.close_connection = True
                return
            reply = owner._answer(request)
            payload = reply.encoded()
            self.send_response(reply.status)
            if payload or reply.body is not None:
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (ConnectionError, OSError):
            self.close_connection = True
        finally:
            owner._leave()
