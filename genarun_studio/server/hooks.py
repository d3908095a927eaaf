"""The hook server: answers to human requests over HTTP (Starlette, served by uvicorn).

    GET  /runs/<tree-id>/<stamp>/<node-id>/hook[?key=<instance key>]   the request (JSON)
    POST /runs/<tree-id>/<stamp>/<node-id>/hook[?key=<instance key>]   {"answer": ..., "who": ...}
    GET  /runs/<tree-id>/<stamp>/assets/<name>   an image of a pickImage request ("imageUrls")

The request has the seed's shape, ``{"type": "multipleChoice", "question": "...",
"options": [...], "postUrl": "..."}``, plus the fields its kind needs. ``key`` names the
instance of a node that runs more than once (fan-out); it may be left out when the node
has one open request. Every call needs the run's token as ``Authorization: Bearer ...``
(``genarun hooks token RUN_ID``); tokens are per run, kept in the run folder, and never
written to a log (uvicorn's access log shows paths, not headers).

Status codes: 200 answered; 401 missing or wrong token, checked first (an unknown run
id gets 401 too, so run ids cannot be probed); 404 unknown node or instance; 409 already
answered; 413 body over :data:`MAX_BODY` bytes; 422 not JSON, no ``answer``, a ``who``
that is empty once control characters are removed, an answer that does not fit (not an
option, rating out of range), or a node with several open instances and no ``key``.

The server only writes answer files into run folders: a live run picks them up by polling,
a run that ended waiting goes on with ``genarun resume``. It needs no engine and no Qt.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
import time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from genarun_studio.errors import RunError
from genarun_studio.human.inbox import RunInbox
from genarun_studio.human.request import (
    AlreadyAnswered,
    AnswerInvalid,
    HumanRequest,
    printable,
    read_answer,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

__all__ = ["MAX_BODY", "HookServer", "hooks_app", "is_loopback", "serve"]

MAX_BODY = 64 * 1024
"""The largest answer body taken, in bytes."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def hooks_app(project_root: Path) -> Starlette:
    """The ASGI app serving the hooks of every run of the project at ``project_root``."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from genarun_studio.store.project import Project

    project = Project(project_root, index=False)

    def post_url(request: Request, run_id: str, req: HumanRequest) -> str:
        base = str(request.base_url).rstrip("/")
        return f"{base}/runs/{run_id}/{quote(req.node_id)}/hook?key={quote(req.key, safe='')}"

    def image_urls(request: Request, run_id: str, req: HumanRequest) -> list[str | None]:
        """Where a remote person sees each image of a pickImage request (same token)."""
        base = str(request.base_url).rstrip("/")
        urls: list[str | None] = []
        for option in req.options:
            parts = PurePosixPath(option).parts
            ok = len(parts) == 2 and parts[0] == "assets"
            urls.append(f"{base}/runs/{run_id}/assets/{quote(parts[1])}" if ok else None)
        return urls

    def authorized(request: Request) -> tuple[str, Path, RunInbox]:
        params = request.path_params
        run_id = f"{params['tree_id']}/{params['stamp']}"
        refused = _Refused(401, "missing or wrong token (Authorization: Bearer <run token>)")
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise refused
        # An unknown run has no token a caller could hold: the same 401, so run ids cannot
        # be probed without a valid token; 404 only comes after authentication.
        try:
            folder = project.run_folder(run_id)
        except RunError:
            raise refused from None
        inbox = RunInbox(folder.path)
        if not inbox.check_token(token.strip()):
            raise refused
        return run_id, folder.path, inbox

    def find(request: Request) -> tuple[str, RunInbox, list[HumanRequest]]:
        params = request.path_params
        run_id, _, inbox = authorized(request)
        node_id = params["node_id"]
        key = request.query_params.get("key")
        if key is not None:
            found = inbox.request(key)
            if found is None or found.node_id != node_id:
                raise _Refused(404, f"no request of node {node_id!r} for instance {key!r}")
            return run_id, inbox, [found]
        found_all = [r for r in inbox.requests() if r.node_id == node_id]
        if not found_all:
            raise _Refused(404, f"no request of node {node_id!r} in run {run_id!r}")
        return run_id, inbox, found_all

    def refused(exc: _Refused) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)

    async def get_hook(request: Request) -> JSONResponse:
        try:
            run_id, inbox, found = find(request)
        except _Refused as exc:
            return refused(exc)
        answered = inbox.answered_stems()

        def shown(req: HumanRequest) -> dict[str, Any]:
            data = {
                **req.public(post_url(request, run_id, req)),
                "answered": inbox.has_answer(req.key, answered),
            }
            if req.kind == "pickImage":
                data["imageUrls"] = image_urls(request, run_id, req)
            return data

        if len(found) == 1:
            return JSONResponse(shown(found[0]))
        return JSONResponse([shown(r) for r in found])

    async def post_hook(request: Request) -> JSONResponse:
        try:
            run_id, inbox, found = find(request)
            body = await _body(request)
            if len(found) > 1:
                waiting = [r for r in found if not inbox.has_answer(r.key)]
                if len(waiting) != 1:
                    raise _Refused(
                        422,
                        f"node {found[0].node_id!r} asks {len(found)} instances: say which "
                        "with ?key=<instance key>",
                    )
                found = waiting
            req = found[0]
            value, who = _parse_answer(body)
            try:
                value = read_answer(req, value)  # the forms `genarun answer` takes
                answer = inbox.submit(req.key, value, who=who, channel="webhook")
            except AlreadyAnswered as exc:
                raise _Refused(409, str(exc)) from None
            except AnswerInvalid as exc:
                raise _Refused(422, str(exc)) from None
        except _Refused as exc:
            return refused(exc)
        return JSONResponse(
            {"ok": True, "runId": run_id, "key": req.key, "answer": answer.value, "who": who}
        )

    async def get_asset(request: Request) -> Response:
        """An image a pickImage request of the run shows (nothing else of the run folder)."""
        from starlette.responses import FileResponse

        try:
            _, run_dir, inbox = authorized(request)
            name = request.path_params["name"]
            wanted = f"assets/{name}"
            if not any(wanted in r.options for r in inbox.requests() if r.kind == "pickImage"):
                raise _Refused(404, f"no image {name!r} in this run's questions")
            path = run_dir / "assets" / name
            if not path.is_file():
                raise _Refused(404, f"image {name!r} is missing from the run folder")
        except _Refused as exc:
            return refused(exc)
        return FileResponse(path)

    routes = [
        Route("/runs/{tree_id}/{stamp}/{node_id}/hook", get_hook, methods=["GET"]),
        Route("/runs/{tree_id}/{stamp}/{node_id}/hook", post_hook, methods=["POST"]),
        Route("/runs/{tree_id}/{stamp}/assets/{name}", get_asset, methods=["GET"]),
    ]
    return Starlette(routes=routes)


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise _Refused(413, f"the body is larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _Refused(413, f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_answer(body: bytes) -> tuple[Any, str]:
    import json

    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Refused(422, 'the body must be JSON: {"answer": ..., "who": "..."}') from None
    if not isinstance(data, dict) or not ({"answer", "value"} & set(data)):
        raise _Refused(422, 'the body must be a JSON object with an "answer"')
    who = data.get("who", "webhook")
    if isinstance(who, str):
        who = printable(who)  # no escape codes or line breaks for a terminal to show later
    if not isinstance(who, str) or not who or len(who) > 200:
        raise _Refused(422, '"who" must be a short text on one line')
    return data.get("answer", data.get("value")), who


def serve(project_root: Path, *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the hooks until interrupted (``genarun hooks serve``). The socket is bound
    first, so a port in use is a RunError saying so, not a uvicorn traceback after it
    announced a started server."""
    import socket

    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # connections wait in the backlog until uvicorn takes them
    except OSError as exc:
        sock.close()
        raise RunError(
            f"cannot serve on {host}:{port}: {exc.strerror or exc} "
            "(another server there? choose one with --port)"
        ) from None
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    sys.stderr.write(f"genarun: hooks on http://{shown}:{sock.getsockname()[1]}\n")
    sys.stderr.flush()
    config = uvicorn.Config(hooks_app(project_root), log_level="info")
    with sock:
        uvicorn.Server(config).run(sockets=[sock])


class HookServer:
    """The hook server on a background thread (the editor's "serve hooks", tests)."""

    def __init__(self, project_root: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        config = uvicorn.Config(
            hooks_app(project_root), host=host, port=port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="genarun-hooks")
        self.host = host

    def start(self, timeout_s: float = 20.0) -> HookServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RunError("the hook server did not start (is the port free?)")
            time.sleep(0.01)
        return self

    @property
    def port(self) -> int:
        sockets = self._server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
