"""``genarun run`` as a user runs it: a real process, its output, its exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


def genarun(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "genarun_studio", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )  # type: ignore[call-overload]


def test_run_example_on_mock_prints_the_run_folder_and_a_json_line(tmp_path: Path) -> None:
    result = genarun(
        "run",
        str(EXAMPLES / "lizard-blog.genarun.json"),
        "--mock",
        "--project",
        str(tmp_path),
        "--json",
        "--seed",
        "4",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished"
    assert summary["mock"] is True
    assert summary["instances"]["done"] >= 8
    assert summary["wall_s"] >= 0
    run_dir = Path(summary["run_dir"])
    assert run_dir.parent == tmp_path / "trees" / "lizard-blog"
    assert summary["run_id"] == f"lizard-blog/{run_dir.name}"
    assert f"run folder: {run_dir}" in result.stderr.replace("\n", "")
    for name in ("output.json", "logs.json", "run.json", "journal.jsonl", "tree.json"):
        assert (run_dir / name).is_file(), name


def test_same_seed_same_output(tmp_path: Path) -> None:
    outputs = []
    for project in ("a", "b"):
        result = genarun(
            "run",
            str(EXAMPLES / "city-guide.genarun.json"),
            "--mock",
            "--seed",
            "9",
            "--project",
            str(tmp_path / project),
            "--json",
        )
        run_dir = Path(json.loads(result.stdout.splitlines()[-1])["run_dir"])
        outputs.append(json.loads((run_dir / "output.json").read_text()))
    assert outputs[0] == outputs[1]


def test_legacy_tree_runs_with_inputs(tmp_path: Path) -> None:
    result = genarun(
        "run",
        str(EXAMPLES / "photo-exhibition.legacy.json"),
        "--mock",
        "--input",
        "theme=the sea at night",
        "--project",
        str(tmp_path),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["instances"] == {"done": 18}


def test_missing_input_is_a_usage_error(tmp_path: Path) -> None:
    result = genarun(
        "run", str(EXAMPLES / "photo-exhibition.legacy.json"), "--mock", "--project", str(tmp_path)
    )
    assert result.returncode == 2
    assert "missing required input(s): theme" in result.stderr
    assert "Traceback" not in result.stderr


def test_failed_nodes_exit_3(tmp_path: Path) -> None:
    tree = tmp_path / "t.genarun.json"
    tree.write_text(
        json.dumps(
            {
                "nodes": [
                    {"id": "ok", "type": "template", "config": {"template": "fine"}},
                    {
                        "id": "bad",
                        "type": "template",
                        "config": {"template": "{not json", "parse_json": True},
                    },
                ]
            }
        )
    )
    result = genarun("run", str(tree), "--mock", "--project", str(tmp_path / "p"), "--json")
    assert result.returncode == 3
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["status"] == "failed"
    assert summary["instances"] == {"done": 1, "failed": 1}
    assert "failed bad: the rendered template is not JSON" in result.stderr


def test_interrupt_stops_the_run_and_exits_4(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "genarun_studio",
            "run",
            str(EXAMPLES / "lizard-blog.genarun.json"),
            "--mock",
            "--mock-latency",
            "2",
            "--project",
            str(tmp_path),
            "--json",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    journal = None
    deadline = time.monotonic() + 60
    while journal is None and time.monotonic() < deadline:
        found = list(tmp_path.glob("trees/lizard-blog/*/journal.jsonl"))
        if found and found[0].read_text().strip():
            journal = found[0]
        time.sleep(0.05)
    assert journal is not None, "the first node never finished"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err
    summary = json.loads(out.splitlines()[-1])
    assert summary["status"] == "stopped"
    run_json = json.loads((journal.parent / "run.json").read_text())
    assert run_json["status"] == "stopped"
    finished = [json.loads(line)["key"] for line in journal.read_text().splitlines()]
    assert finished[0] == "site"
    assert "site" in json.loads((journal.parent / "output.json").read_text())


def test_concurrency_option_is_checked(tmp_path: Path) -> None:
    result = genarun(
        "run",
        str(EXAMPLES / "lizard-blog.genarun.json"),
        "--mock",
        "--concurrency",
        "text=0",
        "--project",
        str(tmp_path),
    )
    assert result.returncode == 2
    assert "at least 1" in result.stderr


def test_only_runs_the_selected_node(tmp_path: Path) -> None:
    args = [
        "run",
        str(EXAMPLES / "lizard-blog.genarun.json"),
        "--mock",
        "--seed",
        "3",
        "--project",
        str(tmp_path),
        "--json",
        "--only",
        "hero",
    ]
    result = genarun(*args)
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout.splitlines()[-1])["instances"]
    run_dir = Path(json.loads(result.stdout.splitlines()[-1])["run_dir"])
    output = json.loads((run_dir / "output.json").read_text())
    n = len(output["topics"])
    # a fresh process has an empty cache: the ancestors (site, topics) run, then one hero
    # per topic; the articles are not selected
    assert counts == {"done": 2 + n, "skipped": n}
    assert all("hero" in t and "article" not in t for t in output["topics"])
