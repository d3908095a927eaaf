"""Projects made by real mock runs of a tree that fans out into many small images."""

from __future__ import annotations

import asyncio
from typing import Any

from genarun_studio.core.formats import loads_tree
from genarun_studio.engine import Engine, RunOptions, RunSummary
from genarun_studio.store import Project


def image_tree(count: int, *, tree_id: str = "gallery", size: str = "96x64") -> dict[str, Any]:
    """``items`` (a template giving ``count`` subjects) → ``picture`` (one image each)."""
    return {
        "format": "genarun/1",
        "id": tree_id,
        "name": "Gallery",
        "models": {"image": {"provider": "openai", "model": "gpt-image-1"}},
        "nodes": [
            {
                "id": "items",
                "type": "template",
                "config": {"value": [f"subject {n}" for n in range(count)]},
                "children": [
                    {
                        "id": "picture",
                        "type": "image",
                        "config": {"prompt": "A [red | blue] drawing of ${items}", "size": size},
                    }
                ],
            }
        ],
    }


def run_tree(project: Project, tree: dict[str, Any], seed: int = 1) -> RunSummary:
    import json

    model = loads_tree(json.dumps(tree).encode(), file="test")

    async def go() -> RunSummary:
        return await Engine(project=project).run(model, {}, RunOptions(mock=True, seed=seed))

    return asyncio.run(go())
