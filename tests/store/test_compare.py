"""Comparing one node's output between two real mock runs, without Qt."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from genarun_studio.core.formats import load_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.store import Project
from genarun_studio.store.compare import compare_node
from genarun_studio.store.index import RunIndex

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


class Runs:
    def __init__(self, project: Project, ids: list[str]) -> None:
        self.project = project
        self.first, self.second, self.again = ids

    @property
    def index(self) -> RunIndex:
        assert self.project.index is not None
        return self.project.index


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[Runs]:
    project = Project(tmp_path)
    tree = load_tree(EXAMPLES / "lizard-blog.genarun.json")

    async def go() -> list[str]:
        ids = []
        for seed in (1, 2, 1):
            engine = Engine(project=project)
            summary = await engine.run(tree, {}, RunOptions(mock=True, seed=seed))
            ids.append(summary.run_id)
        return ids

    yield Runs(project, asyncio.run(go()))
    project.close()


def test_two_seeds_differ_and_a_rerun_is_identical(runs: Runs) -> None:
    different = compare_node(runs.index, runs.first, runs.second, "site")
    assert [c.kind for c in different] == ["differ"]
    diff = different[0].diff()
    assert any(line.startswith("-") and not line.startswith("---") for line in diff)
    assert any(line.startswith("+") and not line.startswith("+++") for line in diff)
    same = compare_node(runs.index, runs.first, runs.again, "article")
    assert len(same) == 3
    assert {c.kind for c in same} == {"same"}
    assert all(c.diff() == [] for c in same)
