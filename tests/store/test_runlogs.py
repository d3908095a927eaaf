"""Reading a run's instance records for display, without Qt: ``logs.json`` when the run
wrote one, else the journal (a run still going or interrupted), else a one-line reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.store import Project
from genarun_studio.store.runlogs import read_log_records

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def test_logs_json_first_then_the_journal_then_a_reason(tmp_path: Path) -> None:
    project = Project(tmp_path / "project")
    tree = load_tree(EXAMPLES / "lizard-blog.genarun.json")
    try:
        engine = Engine(project=project)
        summary = asyncio.run(engine.run(tree, {}, RunOptions(mock=True, seed=1)))
        assert project.index is not None
        run = project.index.run(summary.run_id)
        assert run is not None
        run_dir = Path(str(run["run_dir"]))
    finally:
        project.close()

    from_logs, source = read_log_records(run_dir, summary.run_id)
    assert source == "logs.json"
    assert {r["node_id"] for r in from_logs} >= {"site", "article", "hero"}

    (run_dir / "logs.json").write_text("{not json", encoding="utf-8")  # unreadable: the journal
    from_journal, source = read_log_records(run_dir, summary.run_id)
    assert source == "journal.jsonl"
    assert sorted(r["key"] for r in from_journal) == sorted(r["key"] for r in from_logs)

    empty = tmp_path / "empty"
    empty.mkdir()
    records, reason = read_log_records(empty)
    assert records == []
    assert "no logs.json and no journal" in reason
