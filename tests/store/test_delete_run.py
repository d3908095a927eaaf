"""Deleting a run: folder and index rows go together; a live run is refused."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.errors import RunError
from genarun_studio.store import Project

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _run(project: Project, seed: int) -> str:
    tree = load_tree(EXAMPLES / "lizard-blog.genarun.json")

    async def go() -> str:
        summary = await Engine(project=project).run(tree, {}, RunOptions(mock=True, seed=seed))
        return summary.run_id

    return asyncio.run(go())


def test_delete_removes_the_folder_and_every_index_row(tmp_path: Path) -> None:
    project = Project(tmp_path)
    keep, gone = _run(project, 1), _run(project, 2)
    index = project.index
    assert index is not None
    folder = Path(index.run(gone)["run_dir"])  # type: ignore[index]
    project.delete_run(gone)
    assert not folder.exists()
    assert not list(folder.parent.glob(".deleting-*"))
    assert index.run(gone) is None
    assert index.instances(gone) == []
    assert (
        index._db.execute("SELECT COUNT(*) FROM results WHERE run_id = ?", (gone,)).fetchone()[0]
        == 0
    )
    assert [r["run_id"] for r in index.runs()] == [keep]
    assert (folder.parent / "latest" / "output.json").is_file()  # latest/ is a copy: kept
    with pytest.raises(RunError, match="no run"):
        project.delete_run(gone)
    project.close()


def test_a_live_run_is_refused_and_kept(tmp_path: Path) -> None:
    project = Project(tmp_path)
    run_id = _run(project, 1)
    folder = project.run_folder(run_id)
    meta = folder.read("run.json")
    folder.write("run.json", {**meta, "status": "running", "pid": os.getpid()})
    with pytest.raises(RunError, match="still going"):
        project.delete_run(run_id)
    assert folder.path.is_dir()
    assert project.index is not None
    assert project.index.run(run_id) is not None
    folder.write("run.json", {**meta, "status": "running", "pid": None})  # a killed run
    project.delete_run(run_id)
    assert not folder.path.exists()
    project.close()


def test_a_run_whose_folder_is_gone_leaves_the_index(tmp_path: Path) -> None:
    project = Project(tmp_path)
    run_id = _run(project, 1)
    import shutil

    shutil.rmtree(project.run_folder(run_id).path)
    project.delete_run(run_id)
    assert project.index is not None
    assert project.index.run(run_id) is None
    with pytest.raises(RunError, match="should look like"):
        project.delete_run("lizard-blog/latest")
    assert json.dumps(project.index.runs()) == "[]"
    project.close()
