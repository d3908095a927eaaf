"""Retrieval inside runs: rag-index / rag-query nodes, ``index_output`` and ``after:``, on the
mock provider (the local MiniLM embeds for real; ``openai:`` indexes get the mock provider's
deterministic embeddings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from genarun_studio.core.formats import load_tree
from genarun_studio.core.registry import default_registry
from genarun_studio.core.tree import Tree
from genarun_studio.core.validate import check_tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.errors import RunError, TreeError
from genarun_studio.providers.mock import MOCK_EMBED_DIM, MockProvider
from genarun_studio.rag import Chunk, IndexStore
from genarun_studio.store import Project
from tests.engine.conftest import items, make_tree, text

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


def _query(node_id: str, index: str, **config: Any) -> dict[str, Any]:
    extra = {k: config.pop(k) for k in ("after", "children") if k in config}
    return {"id": node_id, "type": "rag-query", "config": {"index": index, **config}, **extra}


def _index(node_id: str, index: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "rag-index", "config": {"index": index, **config}}


def _engine(tmp_path: Path, latency: float = 0.0) -> Engine:
    return Engine(project=Project(tmp_path), mock_provider=MockProvider(latency_s=latency))


async def test_a_later_branch_retrieves_what_an_earlier_branch_wrote(
    tmp_path: Path, minilm: object
) -> None:
    tree = make_tree(
        items(
            "ideas", "three ideas", 3, text("article", "write about ${ideas}", index_output="blog")
        ),
        _query("recall", "blog", mode="everything", after=["article"]),
        _query("nearest", "blog", query="${topic}", k=2, after=["article"]),
        inputs={"topic": {"type": "string", "default": "lizards"}},
    )
    engine = _engine(tmp_path, latency=0.05)  # the articles take longer than the queries
    run = engine.start(tree, {}, RunOptions(mock=True, seed=3))
    summary = await run.wait()
    assert summary.status == "finished"

    articles = [i for i in run.instances.values() if i.node_id == "article"]
    assert len(articles) == 3
    recall = run.instances["recall"]
    assert recall.started_at is not None
    assert all((a.ended_at or 0) <= recall.started_at for a in articles)
    assert sorted(h["text"] for h in recall.output["hits"]) == sorted(a.output for a in articles)
    assert {h["instance"] for h in recall.output["hits"]} == {a.key for a in articles}
    assert all(h["source"].startswith(f"run:{run.id}#") for h in recall.output["hits"])
    assert recall.output["text"].count("---") == 2
    nearest = run.instances["nearest"].output
    assert len(nearest["hits"]) == 2
    assert nearest["query"] == "lizards"
    assert nearest["hits"][0]["score"] >= nearest["hits"][1]["score"]

    # the index stays in the project for later runs, the CLI and the editor
    assert IndexStore(tmp_path).info("blog").count == 3
    logs = json.loads((Path(summary.run_dir) / "logs.json").read_text())
    recall_logs = next(i for i in logs["instances"] if i["key"] == "recall")["logs"]
    assert any("waiting for article" in entry["message"] for entry in recall_logs)


async def test_rerunning_adds_nothing_twice_and_queries_see_the_new_index(
    tmp_path: Path, minilm: object
) -> None:
    tree = make_tree(
        _index("notes", "facts", texts=["Geckos lick their eyes.", "Iguanas eat leaves."]),
        _query("ask", "facts", query="what do iguanas eat", k=1, after=["notes"]),
    )
    engine = _engine(tmp_path)
    first = engine.start(tree, {}, RunOptions(mock=True, seed=1))
    await first.wait()
    assert first.instances["notes"].output == {"index": "facts", "added": 2, "count": 2}
    assert first.instances["ask"].output["hits"][0]["text"] == "Iguanas eat leaves."
    second = engine.start(tree, {}, RunOptions(mock=True, seed=1))
    await second.wait()
    # the index changed since the first plan, so the nodes ran again, adding nothing new
    assert second.instances["notes"].state == "done"
    assert second.instances["notes"].output == {"index": "facts", "added": 0, "count": 2}
    assert second.instances["ask"].output["hits"][0]["text"] == "Iguanas eat leaves."


async def test_a_removed_index_is_filled_again_by_the_next_run(
    tmp_path: Path, minilm: object
) -> None:
    # rag-index is never taken from the cache: a cached result would not put back what the
    # removed index held, and the query below it would find nothing
    tree = make_tree(
        _index("notes", "facts", texts=["Geckos lick their eyes.", "Iguanas eat leaves."]),
        _query("ask", "facts", query="what do iguanas eat", k=1, after=["notes"]),
    )
    engine = _engine(tmp_path)
    assert (await engine.start(tree, {}, RunOptions(mock=True, seed=1)).wait()).status == (
        "finished"
    )
    IndexStore(tmp_path).remove("facts")
    again = engine.start(tree, {}, RunOptions(mock=True, seed=1))
    await again.wait()
    assert again.instances["notes"].state == "done"
    assert again.instances["notes"].output == {"index": "facts", "added": 2, "count": 2}
    assert again.instances["ask"].output["hits"][0]["text"] == "Iguanas eat leaves."


async def test_a_query_is_not_cached_across_an_index_made_again(
    tmp_path: Path, minilm: object
) -> None:
    # the same number of saves gives the same revision number: the plan must still differ
    store = IndexStore(tmp_path)
    await store.add_chunks("facts", [Chunk(text="Iguanas eat leaves.", source="a")])
    tree = make_tree(_query("ask", "facts", query="what do iguanas eat", k=1))
    engine = _engine(tmp_path)
    first = engine.start(tree, {}, RunOptions(mock=True, seed=1))
    await first.wait()
    assert first.instances["ask"].output["hits"][0]["text"] == "Iguanas eat leaves."
    store.remove("facts")
    await store.add_chunks("facts", [Chunk(text="Iguanas eat flowers too.", source="b")])
    second = engine.start(tree, {}, RunOptions(mock=True, seed=1))
    await second.wait()
    assert second.instances["ask"].state == "done"
    assert second.instances["ask"].output["hits"][0]["text"] == "Iguanas eat flowers too."


async def test_a_query_on_a_missing_index_gives_no_hits_and_a_warning(tmp_path: Path) -> None:
    tree = make_tree(_query("ask", "nothing-yet", query="anything"))
    run = _engine(tmp_path).start(tree, {}, RunOptions(mock=True))
    summary = await run.wait()
    assert summary.status == "finished"
    assert run.instances["ask"].output == {
        "query": "anything",
        "hits": [],
        "text": "",
        "images": [],
    }
    assert any("does not exist yet" in e["message"] for e in run.instances["ask"].logs)


async def test_everything_mode_falls_back_to_top_k_over_the_size_limit(
    tmp_path: Path, minilm: object
) -> None:
    texts = [f"Note number {i} about reptiles and their habits." for i in range(6)]
    tree = make_tree(
        _index("notes", "big", texts=texts),
        _query("all", "big", mode="everything", max_chars=1_000_000, after=["notes"]),
        _query(
            "capped",
            "big",
            mode="everything",
            max_chars=100,
            k=2,
            query="reptiles",
            after=["notes"],
        ),
    )
    run = _engine(tmp_path).start(tree, {}, RunOptions(mock=True))
    await run.wait()
    assert [h["text"] for h in run.instances["all"].output["hits"]] == texts
    assert len(run.instances["capped"].output["hits"]) == 2
    assert any("over max_chars" in e["message"] for e in run.instances["capped"].logs)


async def test_mock_runs_embed_openai_indexes_with_deterministic_fakes(tmp_path: Path) -> None:
    tree = make_tree(
        _index(
            "notes",
            "remote",
            model="openai:text-embedding-3-small",
            texts=["red apples", "blue whales swim"],
        ),
        _query("ask", "remote", query="whales", k=1, after=["notes"]),
    )
    run = _engine(tmp_path).start(tree, {}, RunOptions(mock=True))
    assert (await run.wait()).status == "finished"
    info = IndexStore(tmp_path).info("remote")
    assert (info.embedder, info.dim) == ("openai:text-embedding-3-small", MOCK_EMBED_DIM)
    assert run.instances["ask"].output["hits"][0]["text"] == "blue whales swim"
    again = await MockProvider().embed(["blue whales swim"], "m")
    assert again == await MockProvider().embed(["blue whales swim"], "other")


@pytest.mark.parametrize(
    ("after", "message"),
    [
        (["nope"], "no node with id 'nope'"),
        (["a"], "cannot wait for itself"),
        (["a_child"], "inside this node's subtree"),
        (["b"], "cycle of waits"),
    ],
)
async def test_waits_that_could_never_end_are_refused(
    tmp_path: Path, after: list[str], message: str
) -> None:
    nodes = [
        text("a", "x", text("a_child", "y"), after=after),
        text("b", "z", after=["a_child"]) if after == ["b"] else text("b", "z"),
    ]
    with pytest.raises(TreeError, match=message) as caught:  # loading names the problem
        make_tree(*nodes)
    assert ".after" in str(caught.value)
    tree = Tree.model_validate({"format": "genarun/1", "nodes": nodes})  # built in code
    assert any(message in p.message for p in check_tree(tree, default_registry()))
    with pytest.raises(RunError, match=message):
        _engine(tmp_path).prepare(tree, {}, RunOptions(mock=True))


async def test_waiting_for_an_ancestor_waits_for_all_its_instances(tmp_path: Path) -> None:
    tree = make_tree(
        items(
            "ideas", "ideas", 3, text("draft", "draft ${ideas}"), text("late", "x", after=["draft"])
        ),
    )
    run = _engine(tmp_path, latency=0.02).start(tree, {}, RunOptions(mock=True))
    assert (await run.wait()).status == "finished"
    drafts = [i for i in run.instances.values() if i.node_id == "draft"]
    lates = [i for i in run.instances.values() if i.node_id == "late"]
    assert len(drafts) == len(lates) == 3
    last_draft = max(d.ended_at or 0 for d in drafts)
    assert all((i.started_at or 0) >= last_draft for i in lates)


async def test_the_example_tree_runs_offline(tmp_path: Path, minilm: object) -> None:
    tree = load_tree(EXAMPLES / "research-notes.genarun.json")
    assert [p for p in check_tree(tree, default_registry()) if p.severity == "error"] == []
    run = _engine(tmp_path).start(tree, {}, RunOptions(mock=True))
    assert (await run.wait()).status == "finished"
    articles = [i.output for i in run.instances.values() if i.node_id == "articles"]
    seen = [h["text"] for h in run.instances["followup_context"].output["hits"]]
    assert sorted(seen) == sorted(articles)
    assert len(run.instances["notes/background"].output["hits"]) == 3


def test_after_and_index_output_are_node_fields_the_editor_can_set() -> None:
    from genarun_studio.core.document import TreeDocument

    doc = TreeDocument(make_tree(text("a", "x"), text("b", "y")))
    doc.set_fields("b", after=["a"], index_output="memory")
    assert (doc.tree.node("b").after, doc.tree.node("b").index_output) == (["a"], "memory")
    assert doc.tree.to_json()["nodes"][1]["after"] == ["a"]
    doc.set_fields("b", after=["nope"])
    assert any(
        p.path == "nodes[1].after" and "no node with id 'nope'" in p.message for p in doc.problems()
    )
    doc.undo()
    doc.undo()
    assert (doc.tree.node("b").after, doc.tree.node("b").index_output) == ([], None)


async def test_a_wait_for_a_question_makes_the_run_wait_for_people(tmp_path: Path) -> None:
    from tests.engine.conftest import until

    tree = make_tree(
        text(
            "story",
            "Begin a story",
            {
                "id": "choice",
                "type": "human",
                "config": {"kind": "freeText", "question": "What happens next?"},
            },
        ),
        text("summary", "Sum the story up", after=["choice"]),
    )
    run = _engine(tmp_path).start(tree, {}, RunOptions(mock=True))
    await until(lambda: run.status == "waiting", "the run to wait for the answer")
    assert run.instances["summary"].state == "queued"  # it waits for the question too
    run.human.answer("story/choice", "the lizard sleeps")
    summary = await run.wait()
    assert summary.status == "finished"
    answered = run.instances["story/choice"]
    assert (run.instances["summary"].started_at or 0) >= (answered.ended_at or 0)
