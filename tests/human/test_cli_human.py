"""Questions to people from the command line: a real `genarun` process that waits, exits 4
and resumes once answered; a live process answered from another one; a SIGKILL while
waiting; the interactive prompt."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genarun_studio.cli_human import attach, describe, parse_value
from genarun_studio.cli_progress import Progress
from genarun_studio.engine import Engine
from genarun_studio.human import AnswerInvalid, HumanRequest, RunInbox
from genarun_studio.store import Project
from tests.engine.conftest import make_tree

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"
STORY = str(EXAMPLES / "story-choice.genarun.json")
KEY = "opening/paths/choice"


def genarun(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "genarun_studio", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def last_json(out: str) -> dict[str, object]:
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_run_waits_exits_4_then_answer_and_resume_finish(tmp_path: Path) -> None:
    project = str(tmp_path)
    first = genarun("run", STORY, "--mock", "--project", project, "--json", "-q")
    assert first.returncode == 4, first.stderr
    summary = last_json(first.stdout)
    assert summary["status"] == "waiting"
    run_id = str(summary["run_id"])
    assert "What does a leopard gecko named Pip do next?" in first.stderr
    assert f"genarun answer {run_id} '{KEY}' VALUE" in first.stderr
    assert f"genarun resume {run_id}" in first.stderr

    listed = genarun("requests", "--project", project, "--json")
    requests = json.loads(listed.stdout)
    assert [(r["runId"], r["key"], r["type"]) for r in requests] == [
        (run_id, KEY, "multipleChoice")
    ]
    options = requests[0]["options"]
    assert len(options) == 3
    runs = genarun("runs", "list", "--project", project, "--json")
    assert json.loads(runs.stdout)[0]["status"] == "waiting"

    bad = genarun("answer", run_id, KEY, "9", "--project", project)
    assert bad.returncode == 2
    assert "no option 9: give a number from 1 to 3" in bad.stderr
    unknown = genarun("answer", run_id, "opening/nothing", "1", "--project", project)
    assert unknown.returncode == 2
    assert KEY in unknown.stderr  # it names the open questions
    ok = genarun("answer", run_id, KEY, "2", "--project", project, "--who", "reader")
    assert ok.returncode == 0, ok.stderr
    assert f"genarun resume {run_id}" in ok.stdout
    again = genarun("answer", run_id, KEY, "1", "--project", project)
    assert again.returncode == 3
    assert "already answered by reader (cli)" in again.stderr
    assert json.loads(genarun("requests", "--project", project, "--json").stdout) == []

    resumed = genarun("resume", run_id, "--project", project, "--json", "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert last_json(resumed.stdout)["status"] == "finished"
    output = json.loads((Path(str(summary["run_dir"])) / "output.json").read_text())
    assert output["choice"] == options[1]
    assert output["chapter"]


def test_auto_answer_runs_through(tmp_path: Path) -> None:
    result = genarun("run", STORY, "--mock", "--auto-answer", "--project", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    run_dir = Path(str(last_json(result.stdout)["run_dir"]))
    answer = RunInbox(run_dir).answer(KEY)
    assert answer is not None
    assert answer.channel == "auto"


def test_a_dry_run_answers_by_itself_and_prices_only_model_calls(tmp_path: Path) -> None:
    result = genarun(
        "run", str(EXAMPLES / "best-of-four.genarun.json"), "--dry-run", "--json",
        "--project", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = last_json(result.stdout)
    kinds = sorted(c["kind"] for c in report["calls"])  # type: ignore[attr-defined]
    assert kinds == ["chat", "image", "image", "image", "image"]


def test_lizard_blog_on_mock_is_unchanged(tmp_path: Path) -> None:
    result = genarun(
        "run", str(EXAMPLES / "lizard-blog.genarun.json"), "--mock", "--project", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert "finished" in result.stderr
    assert not list((tmp_path / "trees" / "lizard-blog").glob("*/human"))


WAIT_TREE = {
    "format": "genarun/1",
    "id": "poll",
    "nodes": [
        {
            "id": "q",
            "type": "human",
            "config": {
                "kind": "rating",
                "question": "How was it?",
                "min": 1,
                "max": 5,
                "timeout_s": 600,
                "default": 3,
            },
        }
    ],
}


def start_waiting(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """A `genarun run` that stays live while its question waits (it has a long timeout)."""
    tree = tmp_path / "poll.genarun.json"
    tree.write_text(json.dumps(WAIT_TREE))
    proc = subprocess.Popen(
        [sys.executable, "-m", "genarun_studio", "run", str(tree), "--project", str(tmp_path),
         "--json", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(tmp_path.glob("trees/poll/2*/human/requests/*.json"))
        runs = list(tmp_path.glob("trees/poll/2*/run.json"))
        if found and runs and json.loads(runs[0].read_text())["status"] == "waiting":
            return proc, runs[0].parent
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("the run never started waiting")


def test_a_live_run_takes_an_answer_given_by_another_process(tmp_path: Path) -> None:
    proc, run_dir = start_waiting(tmp_path)
    run_id = f"poll/{run_dir.name}"
    resume = genarun("resume", run_id, "--project", str(tmp_path))
    assert resume.returncode == 2
    assert "is live in process" in resume.stderr
    answered = genarun("answer", run_id, "q", "5", "--project", str(tmp_path))
    assert answered.returncode == 0, answered.stderr
    assert "goes on by itself" in answered.stdout
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert last_json(out)["status"] == "finished"
    assert json.loads((run_dir / "output.json").read_text())["q"] == 5


def test_killed_while_waiting_then_answered_and_resumed(tmp_path: Path) -> None:
    proc, run_dir = start_waiting(tmp_path)
    run_id = f"poll/{run_dir.name}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    listed = json.loads(genarun("requests", "--project", str(tmp_path), "--json").stdout)
    assert [r["key"] for r in listed] == ["q"]
    answered = genarun("answer", run_id, "q", "4", "--project", str(tmp_path))
    assert answered.returncode == 0, answered.stderr
    assert "genarun resume" in answered.stdout
    resumed = genarun("resume", run_id, "--project", str(tmp_path), "--json", "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run_dir / "output.json").read_text())["q"] == 4


async def test_the_terminal_prompt_asks_again_until_the_answer_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = make_tree(
        {
            "id": "q",
            "type": "human",
            "config": {"kind": "multipleChoice", "question": "Tea?", "options": ["yes", "no"]},
        }
    )
    run = Engine(project=Project(tmp_path)).prepare(tree)
    monkeypatch.setattr(sys, "stdin", io.StringIO("7\n2\n"))
    attach(run, Progress(run, enabled=False), interactive=True)
    summary = await run.wait()
    assert summary.status == "finished"
    assert run.instances["q"].output == "no"
    answer = RunInbox(run.folder.path).answer("q")
    assert answer is not None
    assert answer.channel == "cli"


async def test_the_terminal_prompt_gives_way_to_an_answer_given_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nobody types at the terminal, someone answers from the editor or a webhook: the
    prompt says so and the run finishes (it used to sit on the prompt, then print a stale
    'waiting' table over the finished run). The next question takes the pending line."""
    import os

    tree = make_tree(
        {
            "id": "q",
            "type": "human",
            "config": {"kind": "multipleChoice", "question": "Tea?", "options": ["yes", "no"]},
            "children": [
                {
                    "id": "r",
                    "type": "human",
                    "config": {"kind": "rating", "question": "How good?", "min": 1, "max": 5},
                }
            ],
        }
    )
    read_end, write_end = os.pipe()
    run = Engine(project=Project(tmp_path)).prepare(tree)

    class Terminal:
        """stdin of a person who does not type: while the prompt waits for a line, the
        question is answered in "the editor"."""

        def __init__(self) -> None:
            self.pipe = open(read_end, encoding="utf-8")  # noqa: SIM115
            self.reads = 0

        def readline(self) -> str:
            self.reads += 1
            if self.reads == 1:
                RunInbox(run.folder.path).submit("q", "yes", who="ed", channel="editor")
            return self.pipe.readline()

    terminal = Terminal()
    monkeypatch.setattr(sys, "stdin", terminal)
    with terminal.pipe:
        asked: list[str] = []

        def on_event(event: object) -> None:
            from genarun_studio.engine import events as ev

            if isinstance(event, ev.RunWaiting):
                asked.extend(event.keys)
                if event.keys == ["q/r"]:  # the second question: the pending read gets a line
                    os.write(write_end, b"4\n")

        run.subscribe(on_event)
        attach(run, Progress(run, enabled=False), interactive=True)
        summary = await run.wait()
        os.close(write_end)
    assert summary.status == "finished"
    assert asked == ["q", "q/r"]
    assert run.instances["q"].output == "yes"
    assert run.instances["q/r"].output == 4
    assert "q was answered by ed (editor)" in capsys.readouterr().err
    assert terminal.reads == 1  # one reader for both questions: no typed line is lost


async def test_a_line_read_as_the_question_is_answered_elsewhere_goes_to_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The race CI once hung on: the question is answered in "the editor" and, before the
    prompt wakes up, the terminal's reader already holds the next line. That line is the next
    question's answer; it used to be taken as the answered question's (refused), and the next
    question then waited on a second reader forever."""
    import os

    tree = make_tree(
        {
            "id": "q",
            "type": "human",
            "config": {"kind": "multipleChoice", "question": "Tea?", "options": ["yes", "no"]},
            "children": [
                {
                    "id": "r",
                    "type": "human",
                    "config": {"kind": "rating", "question": "How good?", "min": 1, "max": 5},
                }
            ],
        }
    )
    read_end, write_end = os.pipe()
    run = Engine(project=Project(tmp_path)).prepare(tree)
    pipe = open(read_end, encoding="utf-8")  # noqa: SIM115, ASYNC230 (a pipe)
    reads: list[str] = []

    class Terminal:
        def readline(self) -> str:
            if not reads:
                RunInbox(run.folder.path).submit("q", "yes", who="ed", channel="editor")
            reads.append(pipe.readline())
            return reads[-1]

    monkeypatch.setattr(sys, "stdin", Terminal())

    def on_event(event: object) -> None:
        from genarun_studio.engine import events as ev

        if isinstance(event, ev.HumanAnswered) and event.key == "q":
            # the line arrives now; the reader hands it over before the prompt wakes up
            os.write(write_end, b"4\n")
            deadline = time.monotonic() + 5
            while not reads and time.monotonic() < deadline:
                time.sleep(0.01)

    run.subscribe(on_event)
    with pipe:
        attach(run, Progress(run, enabled=False), interactive=True)
        try:
            summary = await asyncio.wait_for(run.wait(), 60)
        finally:
            os.close(write_end)
    assert summary.status == "finished"
    assert run.instances["q"].output == "yes"
    assert run.instances["q/r"].output == 4
    assert reads == ["4\n"]
    assert "q was answered by ed (editor)" in capsys.readouterr().err


async def test_an_empty_line_in_the_prompt_leaves_the_question_for_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = make_tree({"id": "q", "type": "human", "config": {"question": "Anything?"}})
    run = Engine(project=Project(tmp_path)).prepare(tree)
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    attach(run, Progress(run, enabled=False), interactive=True)
    summary = await run.wait()
    assert summary.status == "waiting"
    assert "genarun answer" in capsys.readouterr().err


def test_parse_value_reads_what_people_type() -> None:
    def req(**fields: object) -> HumanRequest:
        return HumanRequest.model_validate({"run_id": "t/1", "key": "k", "node_id": "k", **fields})

    choice = req(kind="multipleChoice", question="?", options=["red", "blue"])
    assert parse_value(choice, "2") == "blue"
    assert parse_value(choice, "red") == "red"
    with pytest.raises(AnswerInvalid, match="no option 7: give a number from 1 to 2"):
        parse_value(choice, "7")
    years = req(kind="multipleChoice", question="?", options=["1999", "2024"])
    assert parse_value(years, "2024") == "2024"  # an option that is a number is itself
    images = req(kind="pickImage", question="?", options=["assets/a.png", "assets/b.png"])
    run_dir = Path("/p/trees/t/1")
    assert parse_value(images, "/p/trees/t/1/assets/b.png", run_dir) == "assets/b.png"
    assert parse_value(images, "1", run_dir) == "assets/a.png"
    assert parse_value(req(kind="rating", question="?"), " 4 ") == 4
    assert parse_value(req(kind="freeText", question="?"), "42") == "42"
    approve = req(kind="approve", question="?", text="t")
    assert parse_value(approve, "a") == "accept"
    assert parse_value(approve, '{"decision": "edit", "text": "x"}') == {
        "decision": "edit",
        "text": "x",
    }


def test_hooks_serve_answers_a_waiting_run(tmp_path: Path) -> None:
    import re

    import httpx

    project = str(tmp_path)
    first = genarun("run", STORY, "--mock", "--project", project, "--json", "-q")
    run_id = str(last_json(first.stdout)["run_id"])
    token = genarun("hooks", "token", run_id, "--project", project).stdout.strip()
    assert len(token) >= 40
    server = subprocess.Popen(
        [sys.executable, "-m", "genarun_studio", "hooks", "serve", "--project", project,
         "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        url = None
        assert server.stderr is not None
        for line in server.stderr:
            found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
                break
        assert url is not None, "the server never said where it listens"
        auth = {"Authorization": f"Bearer {token}"}
        shown = httpx.get(f"{url}/runs/{run_id}/choice/hook", headers=auth, timeout=30).json()
        assert shown["type"] == "multipleChoice"
        answer = {"answer": shown["options"][0], "who": "reader"}
        posted = httpx.post(shown["postUrl"], json=answer, headers=auth, timeout=30)
        assert posted.status_code == 200, posted.text
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert token not in err  # the access log shows paths, never the token
    resumed = genarun("resume", run_id, "--project", project, "--json", "-q")
    assert resumed.returncode == 0, resumed.stderr
    output = json.loads(
        (Path(str(last_json(resumed.stdout)["run_dir"])) / "output.json").read_text()
    )
    assert output["choice"] == shown["options"][0]


def test_a_question_of_several_lines_stays_indented_under_its_key() -> None:
    request = HumanRequest(
        run_id="t/1",
        key="story/choice",
        node_id="choice",
        kind="multipleChoice",
        question="Pip looks up.\n\nWhat does Pip do next?",
        options=["run", "hide"],
    )
    assert describe(request) == [
        "[story/choice] Pip looks up.",
        "",
        "  What does Pip do next?",
        "    1. run",
        "    2. hide",
    ]


def test_hooks_serve_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = genarun("hooks", "serve", "--project", str(tmp_path), "--port", str(port))
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr
    assert "startup complete" not in result.stderr
