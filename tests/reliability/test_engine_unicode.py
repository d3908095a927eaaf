"""Unpaired surrogates (issue 13, item 8): a model answer cut in the middle of an emoji must
not cost the run; a tree holding one is refused when it is read."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from genarun_studio.core.formats import load_tree, tree_from_data
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.errors import TreeError
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


def tree_for(server: OpenAIServer) -> dict[str, object]:
    return {
        "format": "genarun/1",
        "id": "cut",
        "models": {"text": {"provider": "openai", "model": "m", "base_url": server.base_url}},
        "nodes": [
            {
                "id": "story",
                "type": "text",
                "config": {"prompt": "a story"},
                "children": [
                    {"id": "echo", "type": "template", "config": {"template": "<${story}>"}}
                ],
            }
        ],
    }


async def test_an_answer_cut_inside_an_emoji_is_kept_and_journaled(
    tmp_path: Path, server: OpenAIServer
) -> None:
    # the server sends JSON with a lone "\ud83d" escape, as a model cut at max_tokens does
    server.chat_answer = "lizards are great \ud83d"
    engine = Engine(project=Project(tmp_path))
    summary = await engine.run(tree_from_data(tree_for(server)), options=RunOptions(seed=1))
    assert summary.status == "finished"
    assert summary.counts == {"done": 2}
    assert server.count(CHAT_PATH) == 1
    run_dir = Path(summary.run_dir)
    journal = [
        json.loads(line) for line in (run_dir / "journal.jsonl").read_text("utf-8").splitlines()
    ]
    story = next(r for r in journal if r["key"] == "story")
    assert story["output"] == "lizards are great \ufffd"
    assert story["calls"][0]["answer"] == "lizards are great \ufffd"
    assert any("U+FFFD" in entry["message"] for entry in story["logs"])
    output = json.loads((run_dir / "output.json").read_text("utf-8"))
    assert output["story"] == "lizards are great \ufffd"
    # the paid answer is in the cache: a rerun does not buy it again
    again = await engine.run(tree_from_data(tree_for(server)), options=RunOptions(seed=1))
    assert again.status == "finished"
    assert server.count(CHAT_PATH) == 1


async def test_a_json_answer_with_an_escaped_lone_surrogate_is_kept(
    tmp_path: Path, server: OpenAIServer
) -> None:
    server.chat_answer = '{"title": "half an emoji \\ud83d", "n": 1}'
    data = tree_for(server)
    data["nodes"][0]["type"] = "object"  # type: ignore[index]
    data["nodes"][0]["children"] = []  # type: ignore[index]
    summary = await Engine(project=Project(tmp_path)).run(
        tree_from_data(data), options=RunOptions(seed=1)
    )
    assert summary.status == "finished", summary
    output = json.loads((Path(summary.run_dir) / "output.json").read_text("utf-8"))
    assert output["story"]["title"] == "half an emoji \ufffd"


def test_a_tree_with_a_lone_surrogate_is_refused_with_file_and_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.genarun.json"
    path.write_text(
        '{"format": "genarun/1", "id": "bad", "nodes": [{"id": "a", "type": "template",'
        ' "config": {"template": "x \\ud800 y"}}]}',
        encoding="utf-8",
    )
    with pytest.raises(TreeError) as caught:
        load_tree(path)
    assert caught.value.problems[0][0] == "nodes[0].config.template"
    assert "unpaired surrogate" in str(caught.value)
    result = subprocess.run(
        [sys.executable, "-m", "genarun_studio", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "nodes[0].config.template" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
