"""Issue 13 item 3: a secret never follows a redirect to another origin.

Two real servers on 127.0.0.1 (two ports, so two origins): the first answers with a
redirect, the second records whatever reaches it. A request holding ``${secret:...}`` in a
header or in the query fails with both origins named (not the secret) and nothing reaches
the second server; a same-origin redirect keeps working; every hop is in the instance log
with the secret masked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genarun_studio import secrets
from genarun_studio.core.formats import tree_from_data
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.engine.run import Run
from genarun_studio.store import Project
from tests.providers.conftest import isolated_keys  # noqa: F401  (autouse: in-memory keychain)
from tests.providers.openai_server import OpenAIServer, RecordedRequest, Reply, running_server

SECRET = "xk-REDIRECT-secret-0123456789"


@pytest.fixture
def first() -> Iterator[OpenAIServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def second() -> Iterator[OpenAIServer]:
    with running_server() as server:
        server.routes["/land"] = lambda r: Reply(body={"landed": True})
        yield server


def api_tree(config: dict[str, Any]) -> Any:
    return tree_from_data(
        json.loads(
            json.dumps(
                {
                    "id": "redirect-test",
                    "limits": {"retries": 0, "backoff_s": 0, "backoff_max_s": 0},
                    "nodes": [{"id": "call", "type": "api", "config": config}],
                }
            )
        )
    )


async def run_call(tmp_path: Path, config: dict[str, Any]) -> tuple[Run, Any]:
    engine = Engine(project=Project(tmp_path / "project"))
    run = engine.start(api_tree(config), {}, RunOptions())
    await run.wait()
    (inst,) = [i for i in run.instances.values() if i.node_id == "call"]
    return run, inst


def no_secret_in_files(run: Run) -> None:
    files = [f for f in Path(run.folder.path).rglob("*") if f.is_file()]
    assert files
    for file in files:
        assert SECRET not in file.read_text(encoding="utf-8", errors="replace"), file


@pytest.mark.parametrize(
    "where",
    [
        {"headers": {"X-Api-Key": "${secret:x}"}},
        {"headers": {"Authorization": "Bearer ${secret:x}"}},
        {"query": {"key": "${secret:x}"}},
    ],
    ids=["custom-header", "authorization", "query"],
)
async def test_a_secret_is_not_sent_to_another_origin_on_redirect(
    tmp_path: Path, first: OpenAIServer, second: OpenAIServer, where: dict[str, Any]
) -> None:
    secrets.set_key("x", SECRET)
    first.routes["/start"] = lambda r: Reply(status=302, headers={"Location": f"{second.url}/land"})
    run, inst = await run_call(tmp_path, {"url": f"{first.url}/start", **where})
    assert inst.state == "failed"
    assert second.requests == []  # nothing at all reached the other origin
    error = inst.error or ""
    assert f"{first.url} redirected" in error, error
    assert f"origin, {second.url};" in error, error
    assert "another origin" in error
    assert SECRET not in error
    hops = [log["message"] for log in inst.logs if "redirecting to" in log["message"]]
    assert len(hops) == 1, inst.logs
    assert f"{second.url}/land" in hops[0]
    assert "302" in hops[0]
    no_secret_in_files(run)


async def test_a_same_origin_redirect_with_a_secret_is_followed_and_each_hop_logged(
    tmp_path: Path, first: OpenAIServer
) -> None:
    secrets.set_key("x", SECRET)
    first.routes["/old"] = lambda r: Reply(status=307, headers={"Location": "/mid"})
    first.routes["/mid"] = lambda r: Reply(status=302, headers={"Location": "/new"})

    def new(request: RecordedRequest) -> Reply:
        ok = request.headers.get("x-api-key") == SECRET
        return Reply(status=200 if ok else 401, body={"ok": ok})

    first.routes["/new"] = new
    run, inst = await run_call(
        tmp_path,
        {
            "url": f"{first.url}/old",
            "headers": {"X-Api-Key": "${secret:x}"},
            "query": {"key": "${secret:x}"},
        },
    )
    assert inst.state == "done", inst.error
    assert inst.output == {"ok": True}
    messages = [log["message"] for log in inst.logs]
    hops = [m for m in messages if " answered " in m]
    assert len(hops) == 3, messages
    assert "/old?key=***" in hops[0]
    assert "307" in hops[0]
    assert "/mid" in hops[1]
    assert "302" in hops[1]
    assert "/new" in hops[2]
    assert "200" in hops[2]
    assert all(SECRET not in m for m in messages)
    no_secret_in_files(run)


async def test_a_redirect_without_secrets_may_go_to_another_origin(
    tmp_path: Path, first: OpenAIServer, second: OpenAIServer
) -> None:
    first.routes["/start"] = lambda r: Reply(status=302, headers={"Location": f"{second.url}/land"})
    _, inst = await run_call(
        tmp_path, {"url": f"{first.url}/start", "headers": {"X-Plain": "visible"}}
    )
    assert inst.state == "done", inst.error
    assert inst.output == {"landed": True}
    (received,) = second.requests
    assert received.headers.get("x-plain") == "visible"
    assert any("redirecting to" in log["message"] for log in inst.logs)
