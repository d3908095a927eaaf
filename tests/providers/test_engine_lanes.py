"""The engine's lane limits, measured where they matter: at the server."""

from __future__ import annotations

from pathlib import Path

from genarun_studio.core.formats import tree_from_data
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.store import Project
from tests.providers.openai_server import OpenAIServer


async def test_the_text_lane_limit_holds_at_the_server(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.latency = 0.05
    tree = tree_from_data(
        {
            "id": "lanes",
            "models": {
                "text": {"provider": "openai", "model": "m", "base_url": openai_server.base_url}
            },
            "nodes": [
                {
                    "id": "xs",
                    "type": "template",
                    "config": {"value": list(range(8))},
                    "children": [{"id": "t", "type": "text", "config": {"prompt": "item ${i}"}}],
                }
            ],
        }
    )
    summary = await Engine(project=Project(tmp_path)).run(
        tree, options=RunOptions(concurrency={"text": 3})
    )
    assert summary.counts == {"done": 9}
    assert openai_server.count("/v1/chat/completions") == 8
    assert openai_server.max_in_flight == 3
