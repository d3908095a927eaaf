"""The collect node: a fan-in of another node's instances, waiting for all of them."""

from __future__ import annotations

from pathlib import Path

from genarun_studio.engine import Engine
from genarun_studio.store import Project
from tests.engine.conftest import ScriptedProvider, make_tree, text, values


def collect(node_id: str, source: str, *children: dict, **config: object) -> dict:
    return {
        "id": node_id,
        "type": "collect",
        "after": [source],
        "config": {"node": source, **config},
        "children": list(children),
    }


async def test_collect_gathers_every_instance_in_fan_out_order(tmp_path: Path) -> None:
    provider = ScriptedProvider()
    engine = Engine(project=Project(tmp_path), providers={"openai": lambda _p: provider})
    n = 12  # two digits: [10] and [11] come after [2]
    tree = make_tree(
        values(
            "site",
            {"name": "Geckos"},
            values("topics", [f"t{i}" for i in range(n)], text("blurb", "blurb for ${topics}")),
            collect(
                "all",
                "blurb",
                text("brief", "one brief from:\n${all}"),
                numbered=True,
            ),
        )
    )
    run = engine.prepare(tree)
    summary = await run.wait()
    assert summary.status == "finished", [i.error for i in run.instances.values()]
    blurbs = [run.instances[f"site/topics[{i}]/blurb"].output for i in range(n)]
    gathered = run.instances["site/all"].output
    assert gathered == "\n".join(f"{i}. {b}" for i, b in enumerate(blurbs, 1))
    # the brief ran once, after every blurb, and its prompt held all of them
    brief_prompts = [p for p in provider.prompts() if p.startswith("one brief")]
    assert len(brief_prompts) == 1
    assert all(b in brief_prompts[0] for b in blurbs)


async def test_collect_as_a_list_of_one_field(tmp_path: Path) -> None:
    provider = ScriptedProvider()
    engine = Engine(project=Project(tmp_path), providers={"openai": lambda _p: provider})
    tree = make_tree(
        values(
            "root",
            "r",
            values(
                "rows", [{"title": "a", "n": 1}, {"title": "b", "n": 2}], values("row", "${rows}")
            ),
            {**collect("titles", "row", as_list=True, field="title"), "fan_out": False},
        )
    )
    run = engine.prepare(tree)
    summary = await run.wait()
    assert summary.status == "finished", [i.error for i in run.instances.values()]
    assert run.instances["root/titles"].output == ["a", "b"]


async def test_collect_without_after_says_how_to_fix_it(tmp_path: Path) -> None:
    provider = ScriptedProvider()
    engine = Engine(project=Project(tmp_path), providers={"openai": lambda _p: provider})
    node = collect("all", "blurb")
    node["after"] = []
    tree = make_tree(values("xs", ["a", "b"], text("blurb", "b ${xs}")), node)
    run = engine.prepare(tree)
    await run.wait()
    error = run.instances["all"].error or ""
    assert "add after: ['blurb']" in error
