"""A user's profile sends a tree's calls to the user's endpoint, and the run records it."""

from __future__ import annotations

import json
from pathlib import Path

from genarun_studio.core.formats import tree_from_data
from genarun_studio.core.tree import ModelProfile
from genarun_studio.engine import Engine
from genarun_studio.store import Project
from tests.providers.openai_server import OpenAIServer


async def test_a_user_profile_sends_the_calls_to_its_endpoint(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    tree = tree_from_data(
        {"id": "p", "nodes": [{"id": "a", "type": "text", "config": {"prompt": "hello"}}]}
    )
    assert "text" not in tree.models  # the tree relies on whatever "text" means here
    user = {"text": ModelProfile(model="local-model", base_url=openai_server.base_url)}
    engine = Engine(project=Project(tmp_path), profiles=user)
    run = engine.prepare(tree)
    summary = await run.wait()
    assert summary.counts == {"done": 1}
    [body] = openai_server.bodies("/v1/chat/completions")
    assert body["model"] == "local-model"
    snapshot = json.loads((run.folder.path / "tree.json").read_text())  # type: ignore[union-attr]
    assert snapshot["models"]["text"]["base_url"] == openai_server.base_url
