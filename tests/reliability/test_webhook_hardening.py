"""Issue 13 items 11 and 18: the webhook authenticates before it says what exists, and a
``who`` cannot put escape codes or forged lines into the operator's terminal.

A real hook server (uvicorn on 127.0.0.1) and a real ``genarun answer`` subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from genarun_studio.engine import Engine, Run
from genarun_studio.human import RunInbox, printable
from genarun_studio.server.hooks import HookServer
from genarun_studio.store import Project
from tests.engine.conftest import make_tree, until

TREE = make_tree(
    {
        "id": "colour",
        "type": "human",
        "config": {"kind": "multipleChoice", "question": "Which?", "options": ["red", "blue"]},
    }
)
HOSTILE_WHO = "mallory\x1b[2J\x1b[31m\nRUN FINISHED OK\r\x07\x1b]0;pwned\x07\u202eevil\x9b1m"


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
    run.human.suspend()
    assert (await run.wait()).status == "waiting"
    return run


def genarun(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "genarun_studio", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_printable_removes_escapes_controls_and_line_breaks() -> None:
    shown = printable(HOSTILE_WHO)
    assert shown == "mallory RUN FINISHED OK evil1m"
    assert printable("Ana María  O'Neil") == "Ana María O'Neil"


async def test_no_token_is_401_whether_or_not_the_run_exists(
    project: Path, server: HookServer
) -> None:
    run = await waiting_run(project)
    token = RunInbox(run.folder.path).token()
    auth = {"Authorization": f"Bearer {token}"}
    bogus = {"Authorization": "Bearer not-a-token"}
    known = f"{server.url}/runs/{run.id}/colour/hook"
    unknown = f"{server.url}/runs/t/19990101-000000-aaaa/colour/hook"
    hostile = f"{server.url}/runs/.../passwd/colour/hook"  # an id no run can have
    async with httpx.AsyncClient(timeout=30) as http:
        for url in (known, unknown, hostile):
            for headers in ({}, bogus, auth if url != known else bogus):
                got = await http.get(url, headers=headers)
                assert got.status_code == 401, (url, headers, got.text)
                assert got.headers["www-authenticate"] == "Bearer"
                posted = await http.post(url, json={"answer": "red"}, headers=headers)
                assert posted.status_code == 401, (url, headers)
        asset = await http.get(f"{server.url}/runs/t/19990101-000000-aaaa/assets/x.png")
        assert asset.status_code == 401
        # with the run's token: then what exists is told
        assert (await http.get(known, headers=auth)).status_code == 200
        nothing = f"{server.url}/runs/{run.id}/nothing/hook"
        assert (await http.get(nothing, headers=auth)).status_code == 404


async def test_a_hostile_who_is_cleaned_on_input_and_never_printed_raw(
    project: Path, server: HookServer
) -> None:
    run = await waiting_run(project)
    inbox = RunInbox(run.folder.path)
    auth = {"Authorization": f"Bearer {inbox.token()}"}
    url = f"{server.url}/runs/{run.id}/colour/hook"
    async with httpx.AsyncClient(timeout=30) as http:
        only_escapes = await http.post(
            url, json={"answer": "red", "who": "\x1b[2J\n\r"}, headers=auth
        )
        assert only_escapes.status_code == 422
        ok = await http.post(url, json={"answer": "red", "who": HOSTILE_WHO}, headers=auth)
    assert ok.status_code == 200, ok.text
    assert ok.json()["who"] == "mallory RUN FINISHED OK evil1m"
    stored = inbox.answer("colour")
    assert stored is not None
    assert stored.who == "mallory RUN FINISHED OK evil1m"

    again = genarun("answer", run.id, "colour", "blue", "--project", str(project))
    assert again.returncode == 3, again.stderr
    assert "already answered by mallory RUN FINISHED OK evil1m" in again.stderr
    assert "\x1b" not in again.stderr
    assert "\x9b" not in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


async def test_an_answer_file_from_before_is_shown_clean(project: Path, server: HookServer) -> None:
    run = await waiting_run(project)
    files = list((run.folder.path / "human").rglob("*.json"))
    assert files, "the run keeps its request in a file"
    # an answer written raw (by an older version, or by hand) next to the request
    inbox = RunInbox(run.folder.path)
    inbox.submit("colour", "red", who="placeholder", channel="webhook")
    (written,) = [f for f in (run.folder.path / "human").rglob("*.json") if f not in files]
    data = json.loads(written.read_text(encoding="utf-8"))
    data["who"] = HOSTILE_WHO
    written.write_text(json.dumps(data), encoding="utf-8")

    again = genarun("answer", run.id, "colour", "blue", "--project", str(project))
    assert again.returncode == 3, again.stderr
    assert "already answered by mallory RUN FINISHED OK evil1m" in again.stderr
    assert "\x1b" not in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
