"""The hook server on 127.0.0.1 (real uvicorn, real HTTP): the request in the seed's shape,
answers by POST, every refusal with its status code, and a live run finishing on a POST."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from genarun_studio.engine import Engine, Run, RunOptions
from genarun_studio.human import RunInbox
from genarun_studio.server.hooks import MAX_BODY, HookServer, is_loopback
from genarun_studio.store import Project
from tests.engine.conftest import make_tree, until, values

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"

TREE = make_tree(
    values(
        "menu",
        ["soup", "stew", "pie"],
        {
            "id": "score",
            "type": "human",
            "config": {"kind": "rating", "question": "Rate the ${menu}", "min": 1, "max": 5},
        },
    ),
    {
        "id": "colour",
        "type": "human",
        "config": {
            "kind": "multipleChoice",
            "question": "Which colour?",
            "options": ["red", "blue"],
        },
    },
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path / "project"


@pytest.fixture
def server(project: Path) -> Iterator[HookServer]:
    project.mkdir()
    hooks = HookServer(project).start()
    yield hooks
    hooks.stop()


async def waiting_run(project: Path) -> Run:
    run = Engine(project=Project(project)).start(TREE)
    await until(lambda: run.status == "waiting", "the run to wait")
    return run


async def test_every_refusal_has_its_status(project: Path, server: HookServer) -> None:
    run = await waiting_run(project)
    run.human.suspend()
    assert (await run.wait()).status == "waiting"
    token = RunInbox(run.folder.path).token()
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{server.url}/runs/{run.id}"
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.get(f"{base}/colour/hook")).status_code == 401
        wrong = await http.get(f"{base}/colour/hook", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == "Bearer"
        # another run's token is no token for an unknown run: 401 before any 404
        assert (
            await http.get(f"{server.url}/runs/t/1999/colour/hook", headers=auth)
        ).status_code == 401
        assert (await http.get(f"{base}/nothing/hook", headers=auth)).status_code == 404
        unknown_key = await http.get(
            f"{base}/score/hook", params={"key": "menu[9]/score"}, headers=auth
        )
        assert unknown_key.status_code == 404

        got = await http.get(f"{base}/colour/hook", headers=auth)
        assert got.status_code == 200
        shown = got.json()
        assert shown["type"] == "multipleChoice"
        assert shown["question"] == "Which colour?"
        assert shown["options"] == ["red", "blue"]
        assert shown["postUrl"] == f"{base}/colour/hook?key=colour"
        assert shown["answered"] is False
        assert token not in got.text

        post = shown["postUrl"]
        assert (await http.post(post, json={"answer": "green"}, headers=auth)).status_code == 422
        assert (await http.post(post, content=b"not json", headers=auth)).status_code == 422
        assert (await http.post(post, json={"who": "x"}, headers=auth)).status_code == 422
        big = {"answer": "red", "who": "x" * (MAX_BODY + 10)}
        assert (await http.post(post, json=big, headers=auth)).status_code == 413
        assert (await http.post(post, json={"answer": "red"})).status_code == 401
        ok = await http.post(post, json={"answer": "blue", "who": "crowd-17"}, headers=auth)
        assert ok.status_code == 200, ok.text
        assert ok.json()["answer"] == "blue"
        again = await http.post(post, json={"answer": "red"}, headers=auth)
        assert again.status_code == 409
        assert "crowd-17" in again.json()["error"]

        # a fan-out node: several instances, each named by its key
        listed = await http.get(f"{base}/score/hook", headers=auth)
        assert [r["key"] for r in listed.json()] == [
            "menu[0]/score",
            "menu[1]/score",
            "menu[2]/score",
        ]
        no_key = await http.post(f"{base}/score/hook", json={"answer": 3}, headers=auth)
        assert no_key.status_code == 422
        assert "?key=" in no_key.json()["error"]
        for n, request in enumerate(listed.json()):
            out = await http.post(request["postUrl"], json={"answer": 10}, headers=auth)
            assert out.status_code == 422  # out of range
            out = await http.post(request["postUrl"], json={"answer": n + 1}, headers=auth)
            assert out.status_code == 200

    answer = RunInbox(run.folder.path).answer("colour")
    assert answer is not None
    assert (answer.who, answer.channel) == ("crowd-17", "webhook")
    resumed = Engine(project=Project(project)).prepare_resume(run.id)
    summary = await resumed.wait()
    assert summary.status == "finished"
    outputs: dict[str, Any] = {i.key: i.output for i in resumed.instances.values()}
    assert outputs["colour"] == "blue"
    assert [outputs[f"menu[{n}]/score"] for n in range(3)] == [1, 2, 3]
    # the token never reaches the run's logs, journal or events
    for name in ("logs.json", "journal.jsonl", "run.json", "output.json"):
        assert token not in (run.folder.path / name).read_text()


async def test_a_post_reaches_a_live_run(project: Path, server: HookServer) -> None:
    run = await waiting_run(project)
    auth = {"Authorization": f"Bearer {RunInbox(run.folder.path).token()}"}
    async with httpx.AsyncClient(timeout=30, headers=auth) as http:
        listed = (await http.get(f"{server.url}/runs/{run.id}/score/hook")).json()
        posts = [r["postUrl"] for r in listed]
        posts.append(f"{server.url}/runs/{run.id}/colour/hook")  # one open instance: no key
        answers: list[Any] = [5, 4, 3, "red"]
        for url, value in zip(posts, answers, strict=True):
            response = await http.post(url, json={"answer": value})
            assert response.status_code == 200, response.text
    summary = await asyncio.wait_for(run.wait(), 30)
    assert summary.status == "finished"
    assert run.instances["colour"].output == "red"
    # the token stays in the run folder; latest/ (what gets published) never holds it
    latest = run.folder.path.parent / "latest"
    assert (run.folder.path / "human" / "token").is_file()
    assert (latest / "output.json").is_file()
    assert (latest / "human").is_dir()
    assert not (latest / "human" / "token").exists()


def test_loopback_is_the_default() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("localhost")
    assert is_loopback("::1")
    assert not is_loopback("0.0.0.0")


async def test_a_remote_person_can_see_the_images_to_pick_from(
    project: Path, server: HookServer
) -> None:
    """pickImage over HTTP: the request lists an ``imageUrls`` entry per image, served with
    the run's token; nothing else of the run folder is served."""
    from genarun_studio.core.formats import load_tree

    run = Engine(project=Project(project)).start(
        load_tree(EXAMPLES / "best-of-four.genarun.json"), options=RunOptions(mock=True)
    )
    await until(lambda: run.status == "waiting", "the run to wait")
    auth = {"Authorization": f"Bearer {RunInbox(run.folder.path).token()}"}
    async with httpx.AsyncClient(timeout=30) as http:
        shown = (await http.get(f"{server.url}/runs/{run.id}/best/hook", headers=auth)).json()
        assert len(shown["imageUrls"]) == 4
        for option, url in zip(shown["options"], shown["imageUrls"], strict=True):
            got = await http.get(url, headers=auth)
            assert got.status_code == 200
            assert got.content == (run.folder.path / option).read_bytes()
            assert got.headers["content-type"] == "image/png"
            assert (await http.get(url)).status_code == 401
        base = f"{server.url}/runs/{run.id}/assets"
        for name in ("run.json", "..", "%2e%2e", "nothing.png"):
            assert (await http.get(f"{base}/{name}", headers=auth)).status_code == 404
        answer = {"answer": shown["options"][2], "who": "remote"}
        assert (await http.post(shown["postUrl"], json=answer, headers=auth)).status_code == 200
    summary = await asyncio.wait_for(run.wait(), 30)
    assert summary.status == "finished"
    assert run.instances["candidates/best"].output == shown["options"][2]
