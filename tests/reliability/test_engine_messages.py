"""Error messages stay short and never carry a secret (issue 13, item 20): a non-ASCII
secret in a header, a variable path of 200 KB."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest

from genarun_studio import secrets
from genarun_studio.core import template as tpl
from genarun_studio.core.formats import tree_from_data
from genarun_studio.core.registry import default_registry
from genarun_studio.core.tree import Tree
from genarun_studio.core.validate import check_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.engine.inputs import resolve_inputs
from genarun_studio.errors import InputError, TemplateError
from genarun_studio.store import Project
from tests.keyring_memory import MemoryKeyring
from tests.providers.openai_server import CHAT_PATH, OpenAIServer, Reply, running_server

SECRET = "clé-secrète-ÄÖÜ-0123456789"


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


def run_files(run_dir: Path) -> str:
    return "".join(p.read_text("utf-8") for p in run_dir.iterdir() if p.is_file())


async def test_a_non_ascii_secret_in_a_header_is_a_clear_error_without_the_secret(
    tmp_path: Path, server: OpenAIServer
) -> None:
    server.routes["/x"] = lambda request: Reply(body={"ok": True})
    secrets.set_key("weird", SECRET)
    data: dict[str, Any] = {
        "format": "genarun/1",
        "id": "hdr",
        "limits": {"retries": 2, "backoff_s": 0, "backoff_max_s": 0},
        "nodes": [
            {
                "id": "call",
                "type": "api",
                "config": {"url": f"{server.url}/x", "headers": {"X-Api-Key": "${secret:weird}"}},
            }
        ],
    }
    engine = Engine(project=Project(tmp_path))
    run = engine.start(tree_from_data(data), {}, RunOptions(seed=1))
    summary = await run.wait()
    (inst,) = run.instances.values()
    assert inst.state == "failed"
    error = inst.error or ""
    assert "internal error" not in error
    assert "X-Api-Key" in error
    assert "non-ASCII" in error
    assert SECRET not in error
    assert "secrète" not in error
    assert server.count("/x") == 0  # nothing sent, and not retried
    assert SECRET not in run_files(Path(summary.run_dir))


async def test_a_non_ascii_api_key_is_a_clear_error_without_the_key(
    tmp_path: Path, server: OpenAIServer
) -> None:
    secrets.set_key("openai", SECRET)
    data = {
        "format": "genarun/1",
        "id": "key",
        "models": {"text": {"provider": "openai", "model": "m", "base_url": server.base_url}},
        "nodes": [{"id": "t", "type": "text", "config": {"prompt": "hi"}}],
    }
    run = Engine(project=Project(tmp_path)).start(tree_from_data(data), {}, RunOptions(seed=1))
    await run.wait()
    (inst,) = run.instances.values()
    error = inst.error or ""
    assert "internal error" not in error
    assert "non-ASCII" in error
    assert SECRET not in error
    assert server.count(CHAT_PATH) == 0


LONG = ".".join(["segment"] * 25_000)  # a 200 KB variable path


def test_an_unknown_200kb_variable_path_is_cut_in_the_message() -> None:
    with pytest.raises(TemplateError) as caught:
        tpl.render("${" + LONG + "}", {"x": 1})
    message = str(caught.value)
    assert len(message) < 600
    assert f"({len(LONG):,} characters)" in message


def test_validate_cuts_a_200kb_variable_path() -> None:
    tree = Tree.model_validate(
        {
            "id": "t",
            "nodes": [{"id": "a", "type": "template", "config": {"template": "${" + LONG + "}"}}],
        }
    )
    (problem,) = check_tree(tree, default_registry())
    assert problem.severity == "warning"
    assert len(problem.message) < 600


async def test_a_run_failing_on_a_200kb_path_keeps_its_error_short(tmp_path: Path) -> None:
    tree = tree_from_data(
        {
            "id": "t",
            "nodes": [{"id": "a", "type": "template", "config": {"template": "${" + LONG + "}"}}],
        }
    )
    run = Engine(project=Project(tmp_path)).start(tree, {}, RunOptions(mock=True, seed=1))
    await run.wait()
    (inst,) = run.instances.values()
    assert inst.state == "failed"
    assert len(inst.error or "") < 600


def test_a_huge_wrong_input_is_cut_in_the_message() -> None:
    tree = tree_from_data({"id": "t", "inputs": {"n": {"type": "integer"}}, "nodes": []})
    with pytest.raises(InputError) as caught:
        resolve_inputs(tree, {"n": "x" * 200_000})
    assert len(str(caught.value)) < 600
    assert json.dumps("x" * 300) not in str(caught.value)
