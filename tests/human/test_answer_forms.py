"""The webhook and ``genarun answer`` accept the same answer forms (issue 15): an option's
number, a rating as text, ``a`` / ``r`` for an approval."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from genarun_studio.cli import cli
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.human import RunInbox
from genarun_studio.human.request import AnswerInvalid, HumanRequest, read_answer
from genarun_studio.server.hooks import HookServer
from genarun_studio.store import Project
from tests.engine.conftest import make_tree, until

TREE = make_tree(
    {
        "id": "colour",
        "type": "human",
        "config": {
            "kind": "multipleChoice",
            "question": "Which colour?",
            "options": ["red", "blue", "green"],
        },
    },
    {
        "id": "score",
        "type": "human",
        "config": {"kind": "rating", "question": "How good?", "min": 1, "max": 5},
    },
    {
        "id": "ok",
        "type": "human",
        "config": {"kind": "approve", "question": "Publish?", "text": "draft"},
    },
)


def request(**fields: object) -> HumanRequest:
    return HumanRequest.model_validate(
        {"run_id": "t/1", "key": "k", "node_id": "k", "question": "?", **fields}
    )


def test_one_reader_for_every_channel() -> None:
    choice = request(kind="multipleChoice", options=["red", "blue"])
    assert read_answer(choice, 2) == "blue"
    assert read_answer(choice, "2") == "blue"
    assert read_answer(choice, " 1 ") == "red"
    assert read_answer(choice, True) is True  # not a number: check_answer refuses it
    with pytest.raises(AnswerInvalid, match="from 1 to 2"):
        read_answer(choice, 3)
    years = request(kind="multipleChoice", options=["2023", "2024"])
    assert read_answer(years, 2024) == "2024"  # an option that is a number is itself
    assert read_answer(request(kind="rating"), "4") == 4
    assert read_answer(request(kind="rating"), 4) == 4
    assert read_answer(request(kind="approve", text="t"), "r") == "reject"
    assert read_answer(request(kind="freeText"), "42") == "42"


async def test_the_webhook_takes_what_genarun_answer_takes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    run = Engine(project=Project(project)).start(TREE, {}, RunOptions(mock=True))
    await until(lambda: run.status == "waiting", "the run to wait")
    run.human.suspend()
    assert (await run.wait()).status == "waiting"
    inbox = RunInbox(run.folder.path)
    auth = {"Authorization": f"Bearer {inbox.token()}"}
    base = f"{(hooks := HookServer(project).start()).url}/runs/{run.id}"
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            chosen = await http.post(f"{base}/colour/hook", json={"answer": 2}, headers=auth)
            assert chosen.status_code == 200, chosen.text
            assert chosen.json()["answer"] == "blue"
            rated = await http.post(f"{base}/score/hook", json={"answer": "4"}, headers=auth)
            assert rated.status_code == 200, rated.text
            assert rated.json()["answer"] == 4
    finally:
        hooks.stop()
    answered = CliRunner().invoke(
        cli, ["answer", run.id, "ok", "a", "--project", str(project)], catch_exceptions=False
    )
    assert answered.exit_code == 0, answered.output
    colour, score, ok = (inbox.answer(k) for k in ("colour", "score", "ok"))
    assert colour is not None
    assert colour.value == "blue"
    assert score is not None
    assert score.value == 4
    assert ok is not None
    assert ok.value == {"decision": "accept", "text": "draft"}
