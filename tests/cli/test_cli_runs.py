"""``genarun runs``, ``resume`` and ``run --dry-run`` as a user runs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"
LIZARD = str(EXAMPLES / "lizard-blog.genarun.json")


def genarun(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "genarun_studio", *args], capture_output=True, text=True, timeout=120
    )


def last_json(result: subprocess.CompletedProcess[str]) -> dict:  # type: ignore[type-arg]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_runs_list_and_show(tmp_path: Path) -> None:
    first = last_json(
        genarun("run", LIZARD, "--mock", "--seed", "1", "--project", str(tmp_path), "--json")
    )
    second = last_json(
        genarun(
            "run",
            str(EXAMPLES / "city-guide.genarun.json"),
            "--mock",
            "--project",
            str(tmp_path),
            "--json",
        )
    )
    listed = json.loads(genarun("runs", "list", "--project", str(tmp_path), "--json").stdout)
    assert [r["run_id"] for r in listed] == [second["run_id"], first["run_id"]]
    row = listed[1]
    assert row["tree"] == "lizard-blog"
    assert row["status"] == "finished"
    assert row["mock"] is True
    assert row["cost_usd"] == 0
    assert row["instances"]["total"] == first["instances"]["done"]
    assert row["duration_s"] >= 0
    assert row["started_at"] > 0
    only = json.loads(
        genarun("runs", "list", "--tree", "city-guide", "--project", str(tmp_path), "--json").stdout
    )
    assert [r["run_id"] for r in only] == [second["run_id"]]
    shown = json.loads(
        genarun("runs", "show", first["run_id"], "--project", str(tmp_path), "--json").stdout
    )
    nodes = {n["node_id"]: n for n in shown["nodes"]}
    assert set(nodes) == {"site", "topics", "article", "hero"}
    assert nodes["hero"]["instances"] == len(shown["assets"])
    assert all(a.startswith("assets/") for a in shown["assets"])
    table = genarun("runs", "list", "--project", str(tmp_path))
    assert first["run_id"] in table.stdout
    missing = genarun("runs", "show", "lizard-blog/nope", "--project", str(tmp_path))
    assert missing.returncode == 2
    assert "no run 'lizard-blog/nope'" in missing.stderr


def test_dry_run_prices_the_calls_and_writes_no_run(tmp_path: Path) -> None:
    tree = tmp_path / "t.genarun.json"
    tree.write_text(
        json.dumps(
            {
                "nodes": [
                    {
                        "id": "ideas",
                        "type": "text-array",
                        "config": {"prompt": "ideas about ${topic}"},
                        "children": [
                            {"id": "pic", "type": "image", "config": {"prompt": "draw ${ideas}"}}
                        ],
                    }
                ],
                "inputs": {"topic": {"default": "owls"}},
            }
        )
    )
    project = tmp_path / "project"
    result = genarun(
        "run", str(tree), "--dry-run", "--assume-items", "5", "--project", str(project), "--json"
    )
    assert result.returncode == 0, result.stderr
    bill = last_json(result)
    nodes = {n["node_id"]: n for n in bill["nodes"]}
    assert nodes["ideas"]["calls"] == 1
    assert nodes["pic"]["calls"] == 5
    # gpt-image-1, 1024x1024, default quality: $0.042 an image
    assert nodes["pic"]["cost_usd"] == 5 * 0.042
    assert bill["estimated_cost_usd"] > 5 * 0.042
    assert {c["prompt"] for c in bill["calls"] if c["kind"] == "image"} != set()
    assert not (project / "trees").exists()
    table = genarun("run", str(tree), "--dry-run", "--project", str(project))
    assert "nothing was called" in table.stdout


def test_resume_after_an_interrupt_finishes_the_run(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "genarun_studio",
            "run",
            LIZARD,
            "--mock",
            "--mock-latency",
            "1",
            "--seed",
            "5",
            "--project",
            str(tmp_path),
            "--json",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    journal: Path | None = None
    while journal is None and time.monotonic() < deadline:
        found = list(tmp_path.glob("trees/lizard-blog/2*/journal.jsonl"))
        if found and found[0].read_text().strip():
            journal = found[0]
        time.sleep(0.05)
    assert journal is not None
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    stopped = json.loads(out.splitlines()[-1])
    assert stopped["status"] == "stopped"
    listed = json.loads(genarun("runs", "list", "--project", str(tmp_path), "--json").stdout)
    assert listed[0]["status"] == "stopped"
    result = genarun("resume", stopped["run_id"], "--project", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    resumed = last_json(result)
    assert resumed["status"] == "finished"
    assert resumed["run_dir"] == stopped["run_dir"]
    fresh = last_json(
        genarun(
            "run", LIZARD, "--mock", "--seed", "5", "--project", str(tmp_path / "other"), "--json"
        )
    )
    output = json.loads((Path(resumed["run_dir"]) / "output.json").read_text())
    assert output == json.loads((Path(fresh["run_dir"]) / "output.json").read_text())
    bad = genarun("resume", "lizard-blog/2000-01-01_00-00-00", "--project", str(tmp_path))
    assert bad.returncode == 2
    assert "no run" in bad.stderr
