"""Issue 13 item 15: a base64 or base64url echo of a secret is scrubbed like the secret.

A real server on 127.0.0.1 echoes the ``X-Api-Key`` it received encoded every usual way:
standard and URL-safe base64, with and without padding, a Basic-auth ``user:KEY``, and the
key inside a longer encoded document at each of the three byte alignments. Nothing kept
(output, journal, logs, index) and no error message lets the key be decoded back; the
check decodes every base64 run found rather than looking for the scrubber's own strings.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genarun_studio import secrets
from genarun_studio.core.formats import tree_from_data
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.store import Project
from tests.providers.conftest import isolated_keys  # noqa: F401  (autouse: in-memory keychain)
from tests.providers.openai_server import OpenAIServer, RecordedRequest, Reply, running_server

SECRET = "xk-??>~b64-SECRET-0123456789"
"""Chosen so that its standard base64 holds ``+`` and ``/`` (base64url differs)."""

_RUN = re.compile(rb"[A-Za-z0-9+/_\-]{6,}")


def encodings(key: str) -> dict[str, str]:
    raw = key.encode()
    std = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).decode()
    out = {
        "std": std,
        "std_nopad": std.rstrip("="),
        "url": url,
        "url_nopad": url.rstrip("="),
        "basic": "Basic " + base64.b64encode(f"alice:{key}".encode()).decode(),
    }
    for shift in range(3):
        doc = json.dumps({"p": "x" * shift, "key": key, "more": "tail"}).encode()
        out[f"doc{shift}"] = base64.b64encode(doc).decode()
        out[f"docurl{shift}"] = base64.urlsafe_b64encode(doc).decode().rstrip("=")
    return out


def recoverable(data: bytes, key: str) -> bool:
    """Whether any 6-byte piece of ``key`` decodes out of a base64(url) run in ``data``."""
    pieces = [key.encode()[i : i + 6] for i in range(len(key) - 5)]
    for match in _RUN.finditer(data.replace(b"\\/", b"/")):
        run = match.group().replace(b"-", b"+").replace(b"_", b"/")
        for offset in range(4):
            chunk = run[offset:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            try:
                decoded = base64.b64decode(chunk)
            except ValueError:
                continue
            if any(piece in decoded for piece in pieces):
                return True
    return key.encode() in data


def test_the_checker_finds_every_unscrubbed_encoding() -> None:
    for name, text in encodings(SECRET).items():
        assert recoverable(text.encode(), SECRET), name
    assert "+" in encodings(SECRET)["std"] or "/" in encodings(SECRET)["std"]


def test_redact_scrubs_every_base64_form() -> None:
    for name, text in encodings(SECRET).items():
        scrubbed = secrets.redact(f"echo: {text} .", {SECRET})
        assert "***" in scrubbed, name
        assert not recoverable(scrubbed.encode(), SECRET), (name, scrubbed)
    # the forms of keys this process read are scrubbed without naming them
    secrets.set_key("b64", SECRET)
    assert not recoverable(secrets.redact(encodings(SECRET)["basic"]).encode(), SECRET)


def test_redact_leaves_other_base64_alone() -> None:
    other = base64.b64encode(b"an ordinary document, nothing secret").decode()
    assert secrets.redact(other, {SECRET}) == other


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with running_server() as running:
        yield running


def echo(request: RecordedRequest) -> Reply:
    key = request.headers.get("x-api-key", "")
    return Reply(body=encodings(key))


def tree(server: OpenAIServer, path: str) -> Any:
    return tree_from_data(
        {
            "id": "b64-echo",
            "limits": {"retries": 0, "backoff_s": 0, "backoff_max_s": 0},
            "nodes": [
                {
                    "id": "call",
                    "type": "api",
                    "config": {
                        "url": f"{server.url}{path}",
                        "headers": {"X-Api-Key": "${secret:b64}"},
                    },
                }
            ],
        }
    )


async def test_a_base64_echo_is_stored_nowhere(tmp_path: Path, server: OpenAIServer) -> None:
    secrets.set_key("b64", SECRET)
    server.routes["/echo"] = echo
    project = Project(tmp_path / "project")
    run = Engine(project=project).start(tree(server, "/echo"), {}, RunOptions())
    await run.wait()
    (inst,) = run.instances.values()
    assert inst.state == "done", inst.error
    assert set(inst.output) == set(encodings(SECRET))  # the answer was kept, scrubbed
    assert not recoverable(json.dumps(inst.output).encode(), SECRET)
    files = [f for f in (tmp_path / "project").rglob("*") if f.is_file()]
    assert any(f.name == "journal.jsonl" for f in files)
    assert any(f.suffix == ".sqlite" for f in files)
    for file in files:
        assert not recoverable(file.read_bytes(), SECRET), file


async def test_a_base64_echo_in_an_error_message_is_scrubbed(
    tmp_path: Path, server: OpenAIServer
) -> None:
    secrets.set_key("b64", SECRET)
    server.routes["/deny"] = lambda r: Reply(
        status=403,
        body=f"denied {encodings(r.headers['x-api-key'])['basic']}",
        content_type="text/plain",
    )
    run = Engine(project=Project(tmp_path / "project")).start(
        tree(server, "/deny"), {}, RunOptions()
    )
    await run.wait()
    (inst,) = run.instances.values()
    assert inst.state == "failed"
    assert "denied" in (inst.error or "")
    assert not recoverable((inst.error or "").encode(), SECRET), inst.error
