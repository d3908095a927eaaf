"""Lanes under failure (issue 13, item 19): a refused key stops further calls with it, and
a retry waiting out its backoff gives its lane slot to others. Measured at a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest

from genarun_studio.core.formats import tree_from_data
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.store import Project
from tests.keyring_memory import MemoryKeyring
from tests.providers.openai_server import CHAT_PATH, OpenAIServer, running_server


@pytest.fixture(autouse=True)
def isolated_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with running_server() as running:
        yield running


def fan_tree(server: OpenAIServer, n: int, limits: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": "genarun/1",
        "id": "fan",
        "models": {"text": {"provider": "openai", "model": "m", "base_url": server.base_url}},
        "limits": limits,
        "nodes": [
            {
                "id": "xs",
                "type": "template",
                "config": {"value": list(range(n))},
                "children": [{"id": "t", "type": "text", "config": {"prompt": "item ${i}"}}],
            }
        ],
    }


async def test_a_refused_key_stops_the_calls_of_its_ready_siblings(
    tmp_path: Path, server: OpenAIServer
) -> None:
    server.fail(401, "Incorrect API key provided", path=CHAT_PATH, times=None)
    tree = tree_from_data(fan_tree(server, 50, {"concurrency": {"text": 4}}))
    summary = await Engine(project=Project(tmp_path)).run(tree, options=RunOptions(seed=1))
    assert summary.counts == {"done": 1, "failed": 50}
    # only the calls already in flight when the first 401 came went out, not 50
    assert 1 <= server.count(CHAT_PATH) <= 4


async def test_the_refusal_is_told_once_and_the_rest_say_not_sent(
    tmp_path: Path, server: OpenAIServer
) -> None:
    server.fail(401, "Incorrect API key provided", path=CHAT_PATH, times=None)
    tree = tree_from_data(fan_tree(server, 6, {"concurrency": {"text": 1}}))
    engine = Engine(project=Project(tmp_path))
    run = engine.start(tree, {}, RunOptions(seed=1))
    await run.wait()
    errors = [i.error or "" for i in run.instances.values() if i.state == "failed"]
    assert server.count(CHAT_PATH) == 1
    assert sum("refused the API key (401)" in e and "not sent" not in e for e in errors) == 1
    assert (
        sum(e.startswith("not sent: an earlier call with the same key was refused") for e in errors)
        == 5
    )


async def test_a_retry_waiting_out_its_backoff_frees_its_lane_slot(
    tmp_path: Path, server: OpenAIServer
) -> None:
    # one text slot; item 0 fails once (503) and backs off: item 1 must run meanwhile
    server.fail(503, "busy", path=CHAT_PATH, when=lambda r: r.last_user() == "item 0")
    limits = {"concurrency": {"text": 1}, "backoff_s": 0.3, "backoff_max_s": 0.3}
    tree = tree_from_data(fan_tree(server, 2, limits))
    summary = await Engine(project=Project(tmp_path)).run(tree, options=RunOptions(seed=1))
    assert summary.counts == {"done": 3}
    order = [r.last_user() for r in server.requests if r.path == CHAT_PATH]
    assert order == ["item 0", "item 1", "item 0"]
    assert server.max_in_flight == 1  # the lane limit still holds
