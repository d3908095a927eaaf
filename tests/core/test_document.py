"""The editor's Qt-free edit model: edits, undo / redo, dirty state, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from genarun_studio.core.document import Change, EditError, TreeDocument
from genarun_studio.core.formats import load_tree

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


@pytest.fixture
def doc() -> TreeDocument:
    return TreeDocument.open(EXAMPLES / "lizard-blog.genarun.json")


def test_edits_undo_and_redo(doc: TreeDocument) -> None:
    changes: list[Change] = []
    doc.subscribe(changes.append)
    assert not doc.dirty
    node = doc.add_node("text", "topics")
    assert node.id == "text"
    assert doc.parent_id("text") == "topics"
    assert node.config["prompt"]
    assert doc.dirty
    doc.set_config("text", {"prompt": "a"})
    doc.set_config("text", {"prompt": "ab"})  # merged with the edit before
    doc.set_fields("text", enabled=False)
    assert doc.node("text").enabled is False
    assert doc.undo() == "edit text"
    assert doc.node("text").enabled is True
    assert doc.undo() == "edit text"
    assert doc.node("text").config["prompt"] == "Write about ${topic}"
    assert doc.undo() == "add text"
    with pytest.raises(EditError):
        doc.node("text")
    assert not doc.dirty
    assert doc.redo() == "add text"
    assert doc.node("text").type == "text"
    assert [c.kind for c in changes][:2] == ["added", "edited"]


def test_delete_removes_the_subtree_and_undo_puts_it_back(doc: TreeDocument) -> None:
    removed = doc.remove_node("topics")
    assert [n.id for n in removed.walk()] == ["topics", "article", "hero"]
    assert [n.id for n in doc.tree.walk()] == ["site"]
    doc.undo()
    assert [n.id for n in doc.tree.walk()] == ["site", "topics", "article", "hero"]


def test_reparenting_refuses_cycles(doc: TreeDocument) -> None:
    with pytest.raises(EditError, match="no cycles"):
        doc.set_parent("site", "article")
    doc.set_parent("hero", "site")
    assert doc.parent_id("hero") == "site"
    doc.undo()
    assert doc.parent_id("hero") == "topics"
    doc.set_parent("hero", None)
    assert [n.id for n in doc.tree.nodes] == ["site", "hero"]


def test_paste_renames_clashing_ids(doc: TreeDocument) -> None:
    copy = doc.node("topics").model_copy(deep=True)
    doc.insert(copy, "site")
    ids = [n.id for n in doc.tree.walk()]
    assert len(ids) == len(set(ids)) == 7
    assert "topics_2" in ids


def test_renaming_a_node_and_refusing_bad_ids(doc: TreeDocument) -> None:
    with pytest.raises(EditError, match="already used"):
        doc.set_fields("hero", id="article")
    with pytest.raises(EditError, match="not a valid node id"):
        doc.set_fields("hero", id="../x")
    doc.set_fields("hero", id="cover")
    assert doc.node("cover").type == "image"
    doc.undo()
    assert doc.node("hero").type == "image"


def test_renaming_a_node_carries_the_after_lists_that_name_it(doc: TreeDocument) -> None:
    doc.set_fields("hero", after=["article"])
    changes: list[Change] = []
    doc.subscribe(changes.append)
    doc.set_fields("article", id="body")
    assert doc.node("hero").after == ["body"]
    assert Change("edited", "hero", ("after",)) in changes
    assert not [p for p in doc.problems() if "after" in p.message]
    doc.undo()
    assert doc.node("hero").after == ["article"]
    doc.redo()
    assert doc.node("hero").after == ["body"]


def test_save_round_trips_and_clears_dirty(doc: TreeDocument, tmp_path: Path) -> None:
    doc.set_ui("site", pos=[10, 20])
    doc.set_fields("article", title="Article body")
    target = doc.save(tmp_path / "out.genarun.json")
    assert not doc.dirty
    again = load_tree(target)
    assert again.node("site").ui == {"pos": [10, 20]}
    assert again.node("article").title == "Article body"
    assert again == doc.tree


def test_a_legacy_file_opens_and_saves_as_native(tmp_path: Path) -> None:
    doc = TreeDocument.open(EXAMPLES / "photo-exhibition.legacy.json")
    assert doc.path is None  # saving asks where: the legacy file is not overwritten
    with pytest.raises(EditError, match="choose where"):
        doc.save()
    saved = doc.save(tmp_path / "photo.genarun.json")
    assert '"format": "genarun/1"' in saved.read_text()


def test_problems_follow_edits(doc: TreeDocument) -> None:
    assert [p for p in doc.problems() if p.severity == "error"] == []
    doc.set_config("article", {"prompt": "about ${nowhere}"})
    assert any("unknown variable 'nowhere'" in p.message for p in doc.problems())
    doc.set_config("article", {"prompt": "broken ${"})
    assert any(p.severity == "error" for p in doc.problems())


def test_moving_a_node_on_the_canvas_makes_the_tree_dirty(
    doc: TreeDocument,
    tmp_path: Path,
) -> None:
    doc.set_ui("site", pos=[1, 2])
    assert doc.dirty
    doc.save(tmp_path / "t.genarun.json")
    assert not doc.dirty
    doc.set_ui("site", pos=[1, 2])
    assert not doc.dirty


def test_deleting_on_the_canvas_keeps_the_children_as_roots(doc: TreeDocument) -> None:
    doc.delete_nodes(["topics"])
    assert [n.id for n in doc.tree.nodes] == ["site", "article", "hero"]
    assert doc.undo() == "delete 1 node(s)"
    assert [n.id for n in doc.tree.walk()] == ["site", "topics", "article", "hero"]
    doc.delete_nodes(["topics", "article"])
    assert [n.id for n in doc.tree.walk()] == ["site", "hero"]


def test_subscribers_see_the_state_after_the_edit(doc: TreeDocument) -> None:
    seen: list[tuple[bool, bool, bool]] = []
    doc.subscribe(lambda change: seen.append((doc.dirty, doc.can_undo, doc.can_redo)))
    doc.set_fields("site", title="x")
    doc.undo()
    doc.redo()
    assert seen == [(True, True, False), (False, False, True), (True, True, False)]


def test_an_edit_after_undoing_past_the_save_leaves_the_tree_dirty(
    doc: TreeDocument, tmp_path: Path
) -> None:
    doc.set_fields("site", title="one")
    doc.save(tmp_path / "t.genarun.json")
    doc.undo()
    doc.set_fields("topics", title="two")
    assert doc.dirty


def test_pasting_a_subtree_twice_keeps_every_id_unique(doc: TreeDocument) -> None:
    subtree = doc.node("topics").model_copy(deep=True)
    doc.insert(subtree.model_copy(deep=True), "site")
    doc.insert(subtree.model_copy(deep=True), "site")
    ids = [n.id for n in doc.tree.walk()]
    assert len(ids) == len(set(ids)) == 10


def test_a_merge_barrier_keeps_separate_edits_apart(doc: TreeDocument) -> None:
    doc.set_fields("article", title="one")
    doc.break_merge()
    doc.set_fields("article", title="two")
    doc.undo()
    assert doc.node("article").title == "one"


@pytest.mark.parametrize("order", [["site", "topics"], ["topics", "site"]])
def test_deleting_a_parent_with_its_child_keeps_the_grandchildren(
    doc: TreeDocument, order: list[str]
) -> None:
    """The canvas passes its selection in any order; it once lost the grandchildren when the
    parent came first."""
    doc.delete_nodes(order)
    assert [n.id for n in doc.tree.nodes] == ["article", "hero"]
    doc.undo()
    assert [n.id for n in doc.tree.walk()] == ["site", "topics", "article", "hero"]


def test_the_changes_of_one_batch_say_more_follow_but_the_last(doc: TreeDocument) -> None:
    changes: list[Change] = []
    doc.subscribe(changes.append)
    doc.delete_nodes(["article", "hero"])
    assert len(changes) > 1
    assert [c.more for c in changes] == [True] * (len(changes) - 1) + [False]
    changes.clear()
    doc.undo()
    assert changes[-1].more is False
    assert all(c.more for c in changes[:-1])
    changes.clear()
    doc.set_fields("site", title="One")
    assert [c.more for c in changes] == [False]


def test_positions_of_many_nodes_in_one_call(doc: TreeDocument) -> None:
    changes: list[Change] = []
    doc.subscribe(changes.append)
    problems = doc.problems()
    doc.set_ui_many({"site": {"pos": [1, 2]}, "hero": {"pos": [3, 4]}})
    assert doc.node("site").ui["pos"] == [1, 2]
    assert doc.node("hero").ui["pos"] == [3, 4]
    assert [(c.kind, c.node_id, c.more) for c in changes] == [
        ("ui", "site", True),
        ("ui", "hero", False),
    ]
    assert doc.dirty
    assert not doc.can_undo  # positions are saved, not undone
    assert doc.problems() is problems  # a position is never a problem: not checked again
    with pytest.raises(EditError, match="nowhere"):
        doc.set_ui_many({"nowhere": {"pos": [0, 0]}})


@pytest.mark.parametrize("seed", range(6))
def test_the_lookup_index_always_matches_the_tree(seed: int) -> None:
    """Random edits, undos and redos: ``node`` and ``parent_id`` (served from an index kept
    up to date edit by edit) always say what a walk of the tree says."""
    import random

    rng = random.Random(seed)
    doc = TreeDocument.open(EXAMPLES / "lizard-blog.genarun.json")
    for _ in range(150):
        ids = [n.id for n in doc.tree.walk()]
        action = rng.choice(["add", "delete", "move", "rename", "paste", "undo", "redo"])
        try:
            if action == "add":
                doc.add_node("template", rng.choice([None, *ids]))
            elif action == "delete" and ids:
                doc.delete_nodes(rng.sample(ids, min(len(ids), rng.randint(1, 3))))
            elif action == "move" and ids:
                doc.set_parent(rng.choice(ids), rng.choice([None, *ids]))
            elif action == "rename" and ids:
                doc.set_fields(rng.choice(ids), id=f"n{rng.randint(0, 10**6)}")
            elif action == "paste" and ids:
                doc.insert(doc.node(rng.choice(ids)).model_copy(deep=True), rng.choice(ids))
            elif action == "undo":
                doc.undo()
            elif action == "redo":
                doc.redo()
        except EditError:
            pass  # a cycle, a taken id: refused, and the tree unchanged
        truth = doc.tree.parents()
        for node_id, parent in truth.items():
            assert doc.node(node_id).id == node_id
            assert doc.parent_id(node_id) == parent
        assert set(doc._index()) == set(truth)
