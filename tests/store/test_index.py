"""The project's SQLite index and the journal it can be rebuilt from: real files, real runs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.store import Project
from genarun_studio.store.index import MIGRATIONS, SCHEMA_VERSION, RunIndex
from genarun_studio.store.rebuild import rebuild_index, rebuild_run

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


@pytest.fixture
async def project_with_runs(tmp_path: Path) -> Project:
    project = Project(tmp_path)
    engine = Engine(project=project)
    tree = load_tree(EXAMPLES / "lizard-blog.genarun.json")
    await engine.run(tree, {}, RunOptions(mock=True, seed=1))
    await engine.run(
        load_tree(EXAMPLES / "city-guide.genarun.json"), {}, RunOptions(mock=True, seed=2)
    )
    await engine.run(tree, {}, RunOptions(mock=True, seed=3, targets=["hero"]))
    return project


async def test_the_index_holds_every_run_and_instance(project_with_runs: Project) -> None:
    index = project_with_runs.index
    assert index is not None
    runs = index.runs()
    assert [r["tree_id"] for r in runs] == ["lizard-blog", "city-guide", "lizard-blog"]
    first = runs[-1]
    assert first["status"] == "finished"
    assert first["mock"] == 1
    assert first["seed"] == 1
    assert first["total"] == first["done"] == 2 + 2 * 3
    instances = index.instances(first["run_id"])
    assert len(instances) == first["total"]
    assert {i["node_id"] for i in instances} == {"site", "topics", "article", "hero"}
    stats = {n["node_id"]: n for n in index.node_stats(first["run_id"])}
    assert stats["article"]["instances"] == 3
    assert stats["article"]["input_tokens"] > 0
    assert index.runs(tree_id="city-guide")[0]["total"] == 10


async def test_output_and_logs_rebuild_from_the_journal(project_with_runs: Project) -> None:
    index = project_with_runs.index
    assert index is not None
    for row in index.runs():
        folder = project_with_runs.run_folder(row["run_id"])
        original = json.loads((folder.path / "output.json").read_text())
        (folder.path / "output.json").unlink()
        (folder.path / "logs.json").unlink()
        assert rebuild_run(folder) == original
        assert json.loads((folder.path / "output.json").read_text()) == original
        logs = json.loads((folder.path / "logs.json").read_text())
        assert {r["key"] for r in logs["instances"]} == {
            i["key"] for i in index.instances(row["run_id"])
        }


async def test_the_index_rebuilds_from_the_run_folders(project_with_runs: Project) -> None:
    index = project_with_runs.index
    assert index is not None
    before = index.runs()
    before_instances = {r["run_id"]: index.instances(r["run_id"]) for r in before}
    project_with_runs.close()
    (project_with_runs.root / ".genarun" / "index.sqlite").unlink()
    fresh = Project(project_with_runs.root)
    assert fresh.index is not None
    assert fresh.index.runs() == []
    assert rebuild_index(fresh) == 3
    assert fresh.index.runs() == before
    for run_id, rows in before_instances.items():
        assert fresh.index.instances(run_id) == rows


def test_an_old_index_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO runs (run_id, tree_id, status, run_dir) VALUES ('t/1', 't', 'finished', '/x')"
    )
    db.commit()
    db.close()
    index = RunIndex(path)
    assert index.version == SCHEMA_VERSION
    (row,) = index.runs()
    assert row["run_id"] == "t/1"
    assert row["est_cost_usd"] is None


def test_an_index_from_a_newer_genarun_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer Genarun"):
        RunIndex(path)


async def test_latest_is_a_copy_of_the_newest_whole_run(project_with_runs: Project) -> None:
    latest = project_with_runs.root / "trees" / "lizard-blog" / "latest"
    index = project_with_runs.index
    assert index is not None
    # the newest lizard-blog run only reran "hero": a partial run does not replace latest/
    partial, newest = index.runs(tree_id="lizard-blog")
    assert index.run(partial["run_id"]) is not None
    partial_meta = json.loads((Path(partial["run_dir"]) / "run.json").read_text())
    assert partial_meta["options"]["targets"] == ["hero"]
    run_json = json.loads((latest / "run.json").read_text())
    assert run_json["run_id"] == newest["run_id"]
    assert (latest / "output.json").read_text() == (
        Path(newest["run_dir"]) / "output.json"
    ).read_text()
