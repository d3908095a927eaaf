"""A run killed with SIGKILL mid-way, then resumed: nothing finished is called again, and
the output equals an uninterrupted run with the same seed. Real processes, a real HTTP
server speaking the OpenAI API, the real SDK."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.providers.openai_server import FAKE_KEY, OpenAIServer

TREE = {
    "id": "essays",
    "nodes": [
        {
            "id": "topics",
            "type": "template",
            "config": {"value": ["a", "b", "c", "d", "e"]},
            "children": [
                {
                    "id": "draft",
                    "type": "text",
                    "config": {"prompt": "Draft a [short | long] piece on ${topics}"},
                    "children": [
                        {"id": "polish", "type": "text", "config": {"prompt": "Polish: ${draft}"}}
                    ],
                }
            ],
        }
    ],
    "limits": {"concurrency": {"text": 1}},
}


def genarun(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "genarun_studio", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_then_resume_repeats_no_finished_call(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    tree = tmp_path / "essays.genarun.json"
    tree.write_text(json.dumps(TREE))
    env = {
        **os.environ,
        "OPENAI_BASE_URL": openai_server.base_url,
        "OPENAI_API_KEY": FAKE_KEY,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    project = tmp_path / "project"
    openai_server.latency = 0.25
    proc = genarun("run", str(tree), "--seed", "7", "--project", str(project), "-q", env=env)
    journal = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(project.glob("trees/essays/2*/journal.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 4:
            journal = found[0]
            break
        time.sleep(0.02)
    assert journal is not None, "the run never got going"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    finished = [json.loads(line) for line in journal.read_text().splitlines() if line.endswith("}")]
    finished_prompts = [r["plan"]["turns"][0]["user"] for r in finished if r["type"] == "text"]
    assert finished_prompts, "no model call had finished before the kill"
    run_dir = journal.parent
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "genarun_studio",
            "runs",
            "list",
            "--project",
            str(project),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert json.loads(listed.stdout)[0]["status"] == "interrupted"

    openai_server.latency = 0.0
    run_id = f"essays/{run_dir.name}"
    resumed = genarun("resume", run_id, "--project", str(project), "--json", "-q", env=env)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["status"] == "finished"

    asked = Counter(
        r.last_user() for r in openai_server.requests if r.path == "/v1/chat/completions"
    )
    for prompt in finished_prompts:
        assert asked[prompt] == 1, f"a finished call was made again: {prompt!r}"
    assert sum(asked.values()) <= 10 + 1  # at most the one call in flight at the kill

    baseline = genarun(
        "run",
        str(tree),
        "--seed",
        "7",
        "--project",
        str(tmp_path / "other"),
        "--json",
        "-q",
        env=env,
    )
    out, err = baseline.communicate(timeout=120)
    assert baseline.returncode == 0, err
    baseline_dir = Path(json.loads(out.splitlines()[-1])["run_dir"])
    assert json.loads((run_dir / "output.json").read_text()) == json.loads(
        (baseline_dir / "output.json").read_text()
    )
