"""Fixtures for engine tests: a scripted in-process provider and a tree builder."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from genarun_studio.core.formats import tree_from_data
from genarun_studio.core.tree import Tree
from genarun_studio.engine import Engine
from genarun_studio.errors import ProviderError
from genarun_studio.providers.base import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    ImageResponse,
    Provider,
    Usage,
)
from genarun_studio.providers.mock import MockProvider
from genarun_studio.store import Project

Answer = Callable[[ChatRequest], str | BaseException]


class ScriptedProvider(Provider):
    """Answers through the mock unless a rule for the last user message says otherwise.

    ``rules`` maps a substring of the last user message to a callable returning the answer
    text or an exception to raise. ``gates`` maps a substring to an asyncio.Event the call
    waits for. Calls, and the most calls in flight at once, are recorded.
    """

    name = "scripted"

    def __init__(self) -> None:
        self.mock = MockProvider()
        self.rules: dict[str, Answer] = {}
        self.gates: dict[str, asyncio.Event] = {}
        self.calls: list[ChatRequest | ImageRequest] = []
        self.usage = Usage(input_tokens=10, output_tokens=5)
        """What answers from ``rules`` report."""
        self.in_flight = 0
        self.max_in_flight = 0
        self.started = asyncio.Event()

    def _match(self, text: str, table: dict[str, Any]) -> Any:
        for needle, value in table.items():
            if needle in text:
                return value
        return None

    async def _enter(self, text: str) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.started.set()
        gate = self._match(text, self.gates)
        try:
            if gate is not None:
                await gate.wait()
            else:
                await asyncio.sleep(0)
        except BaseException:
            self.in_flight -= 1
            raise

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.calls.append(request)
        users = [m.content for m in request.messages if m.role == "user"]
        await self._enter(users[-1])
        try:
            # the latest user message with a rule decides (a re-ask falls back to the question)
            rule = next(
                (r for u in reversed(users) if (r := self._match(u, self.rules)) is not None), None
            )
            if rule is not None:
                answer = rule(request)
                if isinstance(answer, BaseException):
                    raise answer
                return ChatResponse(text=answer, usage=self.usage)
            return await self.mock.chat(request)
        finally:
            self.in_flight -= 1

    async def image(self, request: ImageRequest) -> ImageResponse:
        self.calls.append(request)
        await self._enter(request.prompt)
        try:
            return await self.mock.image(request)
        finally:
            self.in_flight -= 1

    def prompts(self) -> list[str]:
        out = []
        for call in self.calls:
            if isinstance(call, ChatRequest):
                out.append([m.content for m in call.messages if m.role == "user"][-1])
            else:
                out.append(call.prompt)
        return out

    def count(self, needle: str) -> int:
        return sum(1 for p in self.prompts() if needle in p)


def transient(message: str = "rate limited", retry_after: float | None = None) -> ProviderError:
    return ProviderError(message, transient=True, retry_after=retry_after, status=429)


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider()


@pytest.fixture
def engine(tmp_path: Any, provider: ScriptedProvider) -> Engine:
    """An engine whose 'openai' provider is the scripted one, writing into tmp_path."""
    return Engine(
        project=Project(tmp_path / "project"), providers={"openai": lambda profile: provider}
    )


def make_tree(*nodes: dict[str, Any], **fields: Any) -> Tree:
    data: dict[str, Any] = {"format": "genarun/1", "id": "t", "nodes": list(nodes)}
    data.setdefault("limits", {"backoff_s": 0, "backoff_max_s": 0})
    data.update(fields)
    return tree_from_data(json.loads(json.dumps(data)))


def text(node_id: str, prompt: str, *children: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "text",
        "config": {"prompt": prompt},
        "children": list(children),
        **extra,
    }


def items(
    node_id: str,
    prompt: str,
    n: int,
    *children: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "text-array",
        "config": {"prompt": prompt, "validation": {"min_items": n, "max_items": n}},
        "children": list(children),
        **extra,
    }


def values(node_id: str, value: Any, *children: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "template",
        "config": {"value": value},
        "children": list(children),
        **extra,
    }


def states(run: Any) -> Counter[str]:
    return Counter(i.state for i in run.instances.values())


async def until(predicate: Callable[[], bool], what: str = "condition") -> None:
    """Let other tasks run until ``predicate()`` holds; fail (not hang) after 10 s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)
