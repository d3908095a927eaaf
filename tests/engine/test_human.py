"""Human nodes in the engine: a run waits for a person, other branches go on, answers come
in-process or through the run folder, a run ended while waiting resumes from its journal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from genarun_studio.engine import Engine, RunOptions
from genarun_studio.engine import events as ev
from genarun_studio.human import (
    AlreadyAnswered,
    AnswerInvalid,
    RequestNotFound,
    RunInbox,
)
from genarun_studio.store import Project
from tests.engine.conftest import ScriptedProvider, make_tree, text, until, values


def human(node_id: str, kind: str, question: str, *children: dict[str, Any], **config: Any):
    return {
        "id": node_id,
        "type": "human",
        "config": {"kind": kind, "question": question, **config},
        "children": list(children),
    }


STORY = make_tree(
    text(
        "story",
        "Begin a story about a lizard",
        human(
            "choice",
            "multipleChoice",
            "What does the lizard do next?",
            text("next", "Continue the story: the lizard decides to ${choice}"),
            options=["climb the wall", "take a nap"],
        ),
        text("title", "A title for ${story}"),
    )
)


async def test_a_run_waits_for_an_answer_given_in_process(
    engine: Engine, provider: ScriptedProvider
) -> None:
    run = engine.start(STORY)
    seen: list[ev.Event] = []
    run.subscribe(seen.append)
    await until(lambda: run.status == "waiting", "the run to wait")
    # the other branch went on while the question waits
    assert run.instances["story/title"].state == "done"
    assert run.instances["story/choice"].state == "waiting"
    assert json.loads((run.folder.path / "run.json").read_text())["status"] == "waiting"
    waiting = [e for e in seen if isinstance(e, ev.RunWaiting)]
    assert waiting
    assert waiting[-1].keys == ["story/choice"]
    requested = next(e for e in seen if isinstance(e, ev.HumanRequested))
    assert requested.request["options"] == ["climb the wall", "take a nap"]
    journal = [json.loads(line) for line in (run.folder.path / "journal.jsonl").open()]
    assert any(
        r["state"] == "waiting" and r["request"]["kind"] == "multipleChoice" for r in journal
    )

    with pytest.raises(AnswerInvalid, match="one option of"):
        run.human.answer("story/choice", "fly away")
    with pytest.raises(RequestNotFound):
        run.human.answer("story/nothing", "take a nap")
    run.human.answer("story/choice", "take a nap", who="ana", channel="api")
    with pytest.raises(AlreadyAnswered, match="ana"):
        run.human.answer("story/choice", "climb the wall")
    summary = await run.wait()

    assert summary.status == "finished"
    assert run.instances["story/choice"].output == "take a nap"
    assert provider.count("the lizard decides to take a nap") == 1
    answered = next(e for e in seen if isinstance(e, ev.HumanAnswered))
    assert (answered.who, answered.channel, answered.value) == ("ana", "api", "take a nap")
    record = RunInbox(run.folder.path).answer("story/choice")
    assert record is not None
    assert record.who == "ana"
    assert record.at > 0
    assert run.instances["story/choice"].calls == []  # no model call
    logged = [e["human"] for e in run.instances["story/choice"].logs if "human" in e]
    assert [(h["who"], h["channel"], h["answer"]) for h in logged] == [("ana", "api", "take a nap")]
    logs = json.loads((run.folder.path / "logs.json").read_text())
    assert "ana" in json.dumps([i["logs"] for i in logs["instances"]])


async def test_a_waiting_run_counts_its_instances_in_run_json_and_the_index(
    engine: Engine,
) -> None:
    """A run killed while waiting keeps its last run.json: the history must not show it as a
    run of no instances."""
    run = engine.start(STORY)
    await until(lambda: run.status == "waiting", "the run to wait")
    meta = json.loads((run.folder.path / "run.json").read_text())
    assert meta["instances"] == {"done": 2, "waiting": 1}
    index = engine.project.index
    assert index is not None
    row = index.run(run.id)
    assert row is not None
    assert (row["status"], row["total"], row["done"]) == ("waiting", 3, 2)
    run.human.answer("story/choice", "take a nap")
    assert (await run.wait()).status == "finished"


async def test_an_answer_written_by_another_process_reaches_the_live_run(engine: Engine) -> None:
    run = engine.start(STORY)
    await until(lambda: run.status == "waiting", "the run to wait")
    # what `genarun answer` or the hook server does: write into the run folder
    RunInbox(run.folder.path).submit("story/choice", "climb the wall", who="bo", channel="cli")
    summary = await run.wait()
    assert summary.status == "finished"
    assert run.instances["story/choice"].output == "climb the wall"


async def test_suspended_run_resumes_once_answered_without_calling_again(
    engine: Engine, provider: ScriptedProvider
) -> None:
    run = engine.start(STORY)
    await until(lambda: run.status == "waiting", "the run to wait")
    run.human.suspend()
    summary = await run.wait()
    assert summary.status == "waiting"
    assert summary.counts["waiting"] == 1
    meta = json.loads((run.folder.path / "run.json").read_text())
    assert meta["status"] == "waiting"
    assert meta["pid"] is None
    calls_before = len(provider.calls)

    RunInbox(run.folder.path).submit("story/choice", "take a nap", who="cy", channel="cli")
    resumed = engine.prepare_resume(run.id)
    summary = await resumed.wait()
    assert summary.status == "finished"
    assert resumed.instances["story/choice"].output == "take a nap"
    # only the node after the question was called; the story and title came from the journal
    assert len(provider.calls) == calls_before + 1
    output = json.loads((run.folder.path / "output.json").read_text())
    assert "take a nap" in json.dumps(output)


async def test_resume_before_the_answer_waits_again(engine: Engine) -> None:
    run = engine.start(STORY)
    await until(lambda: run.status == "waiting", "the run to wait")
    run.human.suspend()
    await run.wait()
    created = RunInbox(run.folder.path).request("story/choice")
    again = engine.prepare_resume(run.id)
    again.start()
    await until(lambda: again.status == "waiting", "the resumed run to wait")
    assert again.human.open_requests()[0].created_at == created.created_at  # same request
    again.human.answer("story/choice", "climb the wall", who="di", channel="editor")
    assert (await again.wait()).status == "finished"


async def test_many_waiting_instances_of_one_fan_out(engine: Engine) -> None:
    tree = make_tree(
        values(
            "dishes",
            [f"dish {n}" for n in range(40)],
            human("score", "rating", "How good is ${dishes}?", min=1, max=10),
        )
    )
    run = engine.start(tree)
    await until(lambda: run.status == "waiting", "the run to wait")
    assert len(run.human.open_requests()) == 40
    with pytest.raises(AnswerInvalid, match="out of range"):
        run.human.answer("dishes[0]/score", 11)
    with pytest.raises(AnswerInvalid, match="whole number"):
        run.human.answer("dishes[0]/score", "good")
    for n in range(40):
        run.human.answer(f"dishes[{n}]/score", n % 10 + 1, who="judge", channel="api")
    summary = await run.wait()
    assert summary.status == "finished"
    assert [run.instances[f"dishes[{n}]/score"].output for n in range(40)] == [
        n % 10 + 1 for n in range(40)
    ]


async def test_instances_whose_keys_look_alike_keep_their_own_questions(engine: Engine) -> None:
    """``a/b_c`` and ``a_b/c`` (or ``m[0]/q_r`` and ``m-0_q/r``) are different instances:
    each keeps its own request and answer file."""
    tree = make_tree(
        values("a", "x", human("b_c", "freeText", "first?")),
        values("a_b", "y", human("c", "freeText", "second?")),
        values("m", ["z"], human("q_r", "freeText", "third?")),
        values("m-0_q", "w", human("r", "freeText", "fourth?")),
    )
    run = engine.start(tree)
    await until(lambda: run.status == "waiting", "the run to wait")
    asked = {r.key: r.question for r in run.human.open_requests()}
    assert asked == {
        "a/b_c": "first?",
        "a_b/c": "second?",
        "m[0]/q_r": "third?",
        "m-0_q/r": "fourth?",
    }
    for key in asked:
        run.human.answer(key, f"answer to {key}")
    summary = await run.wait()
    assert summary.status == "finished"
    assert {key: run.instances[key].output for key in asked} == {
        key: f"answer to {key}" for key in asked
    }


async def test_timeout_takes_the_default_answer(engine: Engine) -> None:
    tree = make_tree(
        human("q", "freeText", "Anything to add?", timeout_s=0.05, default="nothing"),
    )
    summary = await engine.run(tree)
    assert summary.status == "finished"
    answer = RunInbox(Path(summary.run_dir)).answer("q")
    assert answer is not None
    assert (answer.value, answer.channel) == ("nothing", "timeout")


async def test_timeout_without_default_fails_the_instance(engine: Engine) -> None:
    tree = make_tree(human("q", "freeText", "Anything to add?", timeout_s=0.05))
    run = engine.start(tree)
    summary = await run.wait()
    assert summary.status == "failed"
    assert "no answer within" in (run.instances["q"].error or "")


async def test_auto_answer_answers_every_kind(engine: Engine) -> None:
    tree = make_tree(
        values(
            "draft",
            "a draft",
            human("mc", "multipleChoice", "Pick", options=["a", "b"]),
            human("free", "freeText", "Say"),
            human("rate", "rating", "Rate", min=1, max=9),
            human("ok", "approve", "Fine?", text="${draft}"),
            human("def", "multipleChoice", "Pick", options=["a", "b"], default="b"),
        )
    )
    run = engine.start(tree, options=RunOptions(auto_answer=True))
    summary = await run.wait()
    assert summary.status == "finished"
    outputs = {i.node_id: i.output for i in run.instances.values()}
    assert outputs["mc"] == "a"
    assert outputs["rate"] == 5
    assert outputs["ok"] == "a draft"
    assert outputs["def"] == "b"
    assert outputs["free"].startswith("(automatic answer")


async def test_approve_edit_and_reject(engine: Engine, provider: ScriptedProvider) -> None:
    tree = make_tree(
        values(
            "drafts",
            ["first draft", "second draft"],
            human(
                "review",
                "approve",
                "Publish this?",
                text("publish", "Publish: ${review}"),
                text="${drafts}",
            ),
        )
    )
    run = engine.start(tree)
    await until(lambda: run.status == "waiting", "the run to wait")
    with pytest.raises(AnswerInvalid, match="accept"):
        run.human.answer("drafts[0]/review", "maybe")
    run.human.answer("drafts[0]/review", {"decision": "edit", "text": "better draft"})
    run.human.answer("drafts[1]/review", "reject", who="ed")
    summary = await run.wait()
    assert summary.status == "failed"
    assert run.instances["drafts[0]/review/publish"].state == "done"
    assert provider.count("Publish: better draft") == 1
    assert run.instances["drafts[1]/review"].error == "rejected by ed (api)"
    assert run.instances["drafts[1]/review/publish"].state == "skipped"


async def test_pick_the_best_of_four_images(tmp_path: Path) -> None:
    engine = Engine(project=Project(tmp_path / "p"))
    tree = make_tree(
        {
            "id": "photos",
            "type": "image",
            "config": {"prompt": "a lizard on a wall", "n": 4},
            "fan_out": False,
            "children": [human("best", "pickImage", "Which one?", images_from="photos")],
        }
    )
    run = engine.start(tree, options=RunOptions(mock=True))
    await until(lambda: run.status == "waiting", "the run to wait")
    request = run.human.open_requests()[0]
    assert len(request.options) == 4
    assert all((run.folder.path / p).is_file() for p in request.options)
    with pytest.raises(AnswerInvalid, match="one image of"):
        run.human.answer("photos/best", "assets/elsewhere.png")
    run.human.answer("photos/best", request.options[2])
    assert (await run.wait()).status == "finished"
    assert run.instances["photos/best"].output == request.options[2]


def test_a_bad_default_is_refused_before_anyone_is_asked(tmp_path: Path) -> None:
    import asyncio

    engine = Engine(project=Project(tmp_path / "p"))
    tree = make_tree(human("q", "rating", "Rate", min=1, max=5, default=9))
    run = engine.prepare(tree)
    summary = asyncio.run(run.wait())
    assert summary.status == "failed"
    assert "out of range" in (run.instances["q"].error or "")


async def test_the_human_lane_limits_open_questions(engine: Engine) -> None:
    tree = make_tree(
        values("items", list(range(8)), human("ok", "rating", "Rate ${items}")),
        limits={"concurrency": {"human": 3}, "backoff_s": 0, "backoff_max_s": 0},
    )
    run = engine.start(tree)
    asked: list[str] = []
    while len(asked) < 8:
        await until(lambda: run.status == "waiting", "the run to wait")
        open_now = run.human.open_requests()
        assert 1 <= len(open_now) <= 3  # at most the lane's limit of questions at once
        for request in open_now:
            run.human.answer(request.key, 4)
            asked.append(request.key)
        await until(lambda: run.status != "waiting", "the answers to be taken")
    assert (await run.wait()).status == "finished"
    assert sorted(asked) == sorted(f"items[{n}]/ok" for n in range(8))
