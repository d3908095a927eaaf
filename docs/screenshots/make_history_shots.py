"""Make the README's history, run, assets, compare and costs screenshots.

    .venv/bin/python docs/screenshots/make_history_shots.py [--keep DIR]

It builds a demo project in a temporary folder: mock runs of the examples (two seeds of the
lizard blog, the city guide), a 24-image gallery run and a run with a failing node, plus
three runs of a small poem tree against the test suite's local OpenAI-compatible server
(``tests/providers/openai_server.py``, on 127.0.0.1), so that some runs have a real usage
and an actual cost. Every run then gets a dry-run estimate. The screenshots are made by
``genarun-studio --screenshot`` in a subprocess, offscreen, into ``docs/screenshots/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"

POEMS = {
    "format": "genarun/1",
    "id": "poems",
    "name": "Poems",
    "inputs": {"topic": {"type": "string", "default": "the sea"}},
    "models": {"text": {"provider": "openai", "model": "gpt-4.1", "base_url": "BASE"}},
    "limits": {"retries": 0},
    "nodes": [
        {
            "id": "poem",
            "type": "text",
            "config": {"prompt": "Write a [short | long] poem about ${topic}."},
            "children": [
                {"id": "title", "type": "text", "config": {"prompt": "A title for: ${poem}"}},
                {
                    "id": "critique",
                    "type": "text",
                    "config": {"prompt": "Critique this poem in three sentences: ${poem}"},
                },
            ],
        }
    ],
}


def build(root: Path) -> dict[str, str]:
    from genarun_studio.core.formats import load_tree, loads_tree
    from genarun_studio.engine import Engine, RunOptions
    from genarun_studio.engine.estimate import estimate_run
    from genarun_studio.store import Project
    from tests.providers.openai_server import OpenAIServer
    from tests.qt.image_runs import image_tree

    examples = ROOT / "resources" / "examples"
    project = Project(root)
    ids: dict[str, str] = {}
    server = OpenAIServer().start()
    verse = (
        "The tide keeps its counsel; salt on the window, a gull's long vowel, "
        "and the harbour lights that answer the dark. "
    )
    server.chat_answer = lambda request: verse * (40 + len(request.last_user()) % 30)
    os.environ["OPENAI_API_KEY"] = "sk-local-demo-not-a-real-key"
    poems = json.loads(json.dumps(POEMS).replace("BASE", server.base_url))

    async def go() -> None:
        engine = Engine(project=project)
        blog = load_tree(examples / "lizard-blog.genarun.json")
        ids["blog1"] = (await engine.run(blog, {}, RunOptions(mock=True, seed=1))).run_id
        ids["blog2"] = (await engine.run(blog, {}, RunOptions(mock=True, seed=2))).run_id
        city = load_tree(examples / "city-guide.genarun.json")
        ids["city"] = (await engine.run(city, {}, RunOptions(mock=True, seed=3))).run_id
        gallery = loads_tree(json.dumps(image_tree(24, size="320x240")).encode(), file="g")
        ids["gallery"] = (await engine.run(gallery, {}, RunOptions(mock=True, seed=4))).run_id
        broken = {
            "id": "partly",
            "nodes": [
                {"id": "fine", "type": "template", "config": {"template": "ok"}},
                {
                    "id": "broken",
                    "type": "template",
                    "config": {"template": "{bad", "parse_json": True},
                },
            ],
        }
        partly = loads_tree(json.dumps(broken).encode(), file="p")
        ids["partly"] = (await engine.run(partly, {}, RunOptions(mock=True, seed=5))).run_id
        tree = loads_tree(json.dumps(poems).encode(), file="poems")
        for seed, topic in enumerate(("the sea", "a lighthouse", "winter rain"), start=6):
            summary = await engine.run(tree, {"topic": topic}, RunOptions(seed=seed))
            ids[f"poem-{seed}"] = summary.run_id

    try:
        asyncio.run(go())
    finally:
        server.stop()
    index = project.index
    assert index is not None
    for run in index.runs():
        estimate = estimate_run(Path(run["run_dir"]), root)
        index.set_estimate(run["run_id"], estimate.total_usd, estimate.per_node)
    project.close()
    return ids


def shoot(project: Path, name: str, view: str, size: str = "1600x950") -> None:
    out = OUT / name
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("OPENAI_API_KEY", None)
    command = [sys.executable, "-m", "genarun_studio.qt.app", "--project", str(project)]
    subprocess.run(
        [*command, "--screenshot", str(out), "--view", view, "--size", size],
        env=env,
        check=True,
        capture_output=True,
    )
    sys.stdout.write(f"wrote {out.relative_to(ROOT)}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the demo project here and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="genarun-shots-"))
    if args.keep and root.exists():
        shutil.rmtree(root)
    try:
        ids = build(root)
        shoot(root, "history.png", "history")
        shoot(root, "run-detail.png", f"run:{ids['blog1']}")
        shoot(root, "run-logs.png", f"logs:{ids['blog1']},article")
        shoot(root, "assets.png", f"assets:{ids['gallery']}")
        shoot(root, "compare.png", f"compare:{ids['blog2']},{ids['blog1']},article")
        shoot(root, "compare-images.png", f"compare:{ids['blog2']},{ids['blog1']},hero")
        shoot(root, "costs.png", "costs")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
