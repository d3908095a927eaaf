"""What is read from a provider is bounded (issue 13, item 9): a huge answer fails its
instance with a clear error, once, instead of filling the memory and the journal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest

from genarun_studio.core.formats import tree_from_data
from genarun_studio.core.tree import RunLimits
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.errors import ProviderError
from genarun_studio.providers.base import ChatRequest, Message
from genarun_studio.providers.httputil import ANSWER_LIMIT
from genarun_studio.providers.openai import OpenAIProvider
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


def one_text_node(server: OpenAIServer, limits: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": "genarun/1",
        "id": "big",
        "models": {"text": {"provider": "openai", "model": "m", "base_url": server.base_url}},
        "limits": {"backoff_s": 0, "backoff_max_s": 0, **limits},
        "nodes": [{"id": "story", "type": "text", "config": {"prompt": "a story"}}],
    }


async def test_a_chat_answer_over_the_limit_fails_once_with_a_clear_error(
    tmp_path: Path, server: OpenAIServer
) -> None:
    server.chat_answer = "word " * 400_000  # 2 MB of answer
    tree = tree_from_data(one_text_node(server, {"max_answer_bytes": 1_000_000}))
    summary = await Engine(project=Project(tmp_path)).run(tree, options=RunOptions(seed=1))
    assert summary.counts == {"failed": 1}
    assert server.count(CHAT_PATH) == 1  # not retried: the same answer would come again
    journal = (Path(summary.run_dir) / "journal.jsonl").read_text("utf-8")
    record = json.loads(journal.splitlines()[-1])
    assert "passed the limit of 1,000,000 bytes" in record["error"]
    assert "limits.max_answer_bytes" in record["error"]
    assert len(journal) < 100_000  # the answer was not kept


async def test_an_answer_under_the_limit_is_read_whole(
    tmp_path: Path, server: OpenAIServer
) -> None:
    server.chat_answer = "word " * 100_000  # 500 KB, under the raised limit
    tree = tree_from_data(one_text_node(server, {"max_answer_bytes": 1_000_000}))
    summary = await Engine(project=Project(tmp_path)).run(tree, options=RunOptions(seed=1))
    assert summary.counts == {"done": 1}


async def test_the_provider_on_its_own_caps_at_16_mb_by_default(server: OpenAIServer) -> None:
    # a direct provider call (no run): the default limit, and a smaller one set for the call
    server.chat_answer = "x" * 3_000_000
    provider = OpenAIProvider(base_url=server.base_url)
    request = ChatRequest(model="m", messages=[Message(role="user", content="hi")])
    try:
        assert len((await provider.chat(request)).text) == 3_000_000
        token = ANSWER_LIMIT.set(2_000_000)
        try:
            with pytest.raises(ProviderError, match="passed the limit") as caught:
                await provider.chat(request)
        finally:
            ANSWER_LIMIT.reset(token)
        assert not caught.value.transient
    finally:
        await provider.aclose()
    assert RunLimits().max_answer_bytes == 16 * 1024 * 1024
