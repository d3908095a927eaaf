"""An editable tree: the model behind the editor, Qt-free.

Views subscribe with :meth:`TreeDocument.subscribe` and change the tree only through the
document's methods; each method records how to undo itself, so undo / redo work the same in
the editor, in tests and in scripts. Every change says which node it touched, so a canvas
can update one item instead of redrawing a thousand.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from genarun_studio.core.formats import load_tree, save_tree
from genarun_studio.core.registry import Registry, default_registry
from genarun_studio.core.tree import Node, Tree
from genarun_studio.core.validate import Problem, check_tree
from genarun_studio.errors import GenarunError

__all__ = ["Change", "EditError", "TreeDocument"]

_SUFFIX = re.compile(r"^(.*?)(?:_(\d+))?$")


class EditError(GenarunError):
    """An edit the tree cannot take (a second parent, a cycle, an unknown node)."""


@dataclass(frozen=True)
class Change:
    """What changed: ``kind`` is ``added``, ``removed``, ``moved`` (new parent), ``edited``
    (fields or config), ``ui`` (position, colour), ``reset`` (everything) or ``saved``."""

    kind: str
    node_id: str | None = None
    fields: tuple[str, ...] = ()
    more: bool = False
    """More changes of the same edit follow (a batch delivers one per step): a subscriber
    that redraws or checks the whole tree can wait for the last one."""


@dataclass
class _Step:
    label: str
    undo: Callable[[], None]
    redo: Callable[[], None]
    merge_key: tuple[Any, ...] | None = None


@dataclass
class _History:
    done: list[_Step] = field(default_factory=list)
    undone: list[_Step] = field(default_factory=list)
    clean_index: int | None = 0


class TreeDocument:
    """A tree, where it lives on disk, whether it has unsaved changes, and its history."""

    def __init__(
        self,
        tree: Tree | None = None,
        path: str | os.PathLike[str] | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.tree = tree if tree is not None else Tree(name="Untitled")
        self.path = Path(path) if path is not None else None
        self.registry = registry or default_registry()
        self._subscribers: list[Callable[[Change], None]] = []
        self._history = _History()
        self._problems: list[Problem] | None = None
        self._by_id: dict[str, Node] | None = None
        self._parent_of: dict[str, str | None] = {}
        """Node and parent by id, made on demand and dropped on every change of the tree
        (a lookup walked the whole tree: an edit of many nodes took quadratic time)."""
        self._ui_dirty = False
        self._batch: list[_Step] | None = None
        self._held: list[Change] | None = None
        self._merge_barrier = False

    # -- files -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        registry: Registry | None = None,
    ) -> TreeDocument:
        """Load a native or legacy file; a legacy file keeps no path (saving asks where)."""
        tree = load_tree(path, registry)
        doc = cls(tree, path if tree.source_format == "native" else None, registry)
        doc.source_path = Path(path)
        return doc

    source_path: Path | None = None
    """The file the document was read from (a legacy file is saved elsewhere, as native)."""

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise EditError("the tree has no file yet: choose where to save it")
        save_tree(self.tree, target)
        self.path = target
        self._history.clean_index = len(self._history.done)
        self._ui_dirty = False
        self._emit(Change("saved"))
        return target

    @property
    def dirty(self) -> bool:
        return self._ui_dirty or self._history.clean_index != len(self._history.done)

    @property
    def title(self) -> str:
        name = self.tree.name or (self.path.stem if self.path else "Untitled")
        return f"{name}{' *' if self.dirty else ''}"

    # -- observing ---------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _emit(self, change: Change) -> None:
        if change.kind not in ("saved", "ui"):  # positions and colours are never a problem
            self._problems = None
        kept = ("saved", "ui", "added", "removed", "moved")  # those keep it up to date
        if change.kind not in kept and (change.kind != "edited" or change.node_id is None):
            self._by_id = None  # a rename, the tree's own fields: made again when needed
        if self._held is not None:
            self._held.append(change)
            return
        for callback in list(self._subscribers):
            callback(change)

    @contextmanager
    def _hold(self) -> Iterator[None]:
        """Deliver changes only once the history is up to date, so that subscribers see
        the right ``dirty``, ``can_undo`` and ``can_redo``."""
        if self._held is not None:
            yield
            return
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            for i, change in enumerate(held):
                self._emit(replace(change, more=i < len(held) - 1))

    def problems(self) -> list[Problem]:
        """Errors and warnings of the current tree (cached until the next change)."""
        if self._problems is None:
            self._problems = check_tree(self.tree, self.registry)
        return self._problems

    # -- queries -----------------------------------------------------------------------------

    def _index(self) -> dict[str, Node]:
        if self._by_id is None:
            by_id: dict[str, Node] = {}
            parent_of: dict[str, str | None] = {}
            stack: list[tuple[Node, str | None]] = [(n, None) for n in self.tree.nodes]
            while stack:
                node, parent = stack.pop()
                by_id[node.id] = node
                parent_of[node.id] = parent
                stack.extend((c, node.id) for c in node.children)
            self._by_id, self._parent_of = by_id, parent_of
        return self._by_id

    def _indexed(self, node: Node, parent: str | None) -> None:
        """Keep the index up to date for a subtree put into the tree under ``parent``."""
        if self._by_id is None:
            return
        stack: list[tuple[Node, str | None]] = [(node, parent)]
        while stack:
            item, above = stack.pop()
            self._by_id[item.id] = item
            self._parent_of[item.id] = above
            stack.extend((c, item.id) for c in item.children)

    def _unindexed(self, node: Node) -> None:
        """Keep the index up to date for a subtree taken out of the tree."""
        if self._by_id is None:
            return
        for item in node.walk():
            self._by_id.pop(item.id, None)
            self._parent_of.pop(item.id, None)

    def node(self, node_id: str) -> Node:
        node = self._index().get(node_id)
        if node is None or node.id != node_id:
            raise EditError(f"no node {node_id!r} in the tree")
        return node

    def parent_id(self, node_id: str) -> str | None:
        self._index()
        return self._parent_of.get(node_id)

    def _siblings(self, parent_id: str | None) -> list[Node]:
        return self.tree.nodes if parent_id is None else self.node(parent_id).children

    def new_id(self, base: str, taken: set[str] | None = None) -> str:
        """An unused id from ``base`` (``article``, ``article_2``, ...), also avoiding
        ``taken`` (ids chosen for a paste that is not in the tree yet)."""
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_") or "node"
        if not re.match(r"[A-Za-z_]", base):
            base = f"n_{base}"
        used = {n.id for n in self.tree.walk()} | (taken or set())
        stem = _SUFFIX.match(base).group(1) or base  # type: ignore[union-attr]
        if base not in used:
            return base[:64]
        n = 2
        while f"{stem}_{n}" in used:
            n += 1
        return f"{stem[:58]}_{n}"

    # -- history -----------------------------------------------------------------------------

    @contextmanager
    def batch(self, label: str) -> Iterator[None]:
        """Group the edits made inside into one undo step."""
        if self._batch is not None:
            yield
            return
        with self._hold():
            self._batch = []
            try:
                yield
            finally:
                steps, self._batch = self._batch, None
                if steps:

                    def undo() -> None:
                        for step in reversed(steps):
                            step.undo()

                    def redo() -> None:
                        for step in steps:
                            step.redo()

                    self._record(_Step(label, undo, redo))

    def _do(self, step: _Step) -> None:
        if self._batch is not None:
            step.redo()
            self._batch.append(step)
            return
        with self._hold():
            step.redo()
            self._record(step)

    def _record(self, step: _Step) -> None:
        """Put an already applied step on the history."""
        history = self._history
        if (
            history.undone
            and history.clean_index is not None
            and (history.clean_index > len(history.done))
        ):
            history.clean_index = None  # the saved state was undone and is now unreachable
        last = history.done[-1] if history.done else None
        mergeable = (
            not self._merge_barrier
            and step.merge_key is not None
            and last is not None
            and last.merge_key == step.merge_key
            and history.clean_index != len(history.done)
        )
        if mergeable and last is not None:
            history.done[-1] = _Step(step.label, last.undo, step.redo, step.merge_key)
        else:
            history.done.append(step)
        history.undone.clear()
        self._merge_barrier = False

    def undo(self) -> str | None:
        """Undo the last edit; returns its label (None when there is nothing to undo)."""
        if not self._history.done:
            return None
        with self._hold():
            step = self._history.done.pop()
            step.undo()
            self._history.undone.append(step)
        return step.label

    def redo(self) -> str | None:
        if not self._history.undone:
            return None
        with self._hold():
            step = self._history.undone.pop()
            step.redo()
            self._history.done.append(step)
        return step.label

    def break_merge(self) -> None:
        """The next edit starts its own undo step (e.g. after the user selected another
        node), even if it edits the same field as the last one."""
        self._merge_barrier = True

    @property
    def can_undo(self) -> bool:
        return bool(self._history.done)

    @property
    def can_redo(self) -> bool:
        return bool(self._history.undone)

    # -- edits -------------------------------------------------------------------------------

    def add_node(
        self,
        type_id: str,
        parent_id: str | None = None,
        *,
        node_id: str | None = None,
        config: dict[str, Any] | None = None,
        title: str = "",
        ui: dict[str, Any] | None = None,
        index: int | None = None,
    ) -> Node:
        """A new node of ``type_id`` under ``parent_id`` (a root when None)."""
        node_type = self.registry.get(type_id)
        if parent_id is not None:
            self.node(parent_id)
        node = Node(
            id=node_id or self.new_id(type_id.replace("-", "_")),
            type=type_id,
            title=title or node_type.title,
            config=config or _starter_config(type_id),
            ui=ui or {},
        )
        self.insert(copy.deepcopy(node), parent_id, index, label=f"add {node.id}")
        return self.node(node.id)

    def insert(
        self,
        node: Node,
        parent_id: str | None = None,
        index: int | None = None,
        *,
        label: str | None = None,
    ) -> None:
        """Insert a node with its subtree (paste); ids that clash are renamed."""
        taken = {n.id for n in self.tree.walk()}
        for item in node.walk():
            if item.id in taken:
                item.id = self.new_id(item.id, taken)
            taken.add(item.id)
        snapshot = copy.deepcopy(node)

        def redo() -> None:
            siblings = self._siblings(parent_id)
            at = len(siblings) if index is None else max(0, min(index, len(siblings)))
            added = copy.deepcopy(snapshot)
            siblings.insert(at, added)
            self._indexed(added, parent_id)
            self._emit(Change("added", snapshot.id))

        def undo() -> None:
            gone, _, _ = self._detach(snapshot.id)
            self._unindexed(gone)
            self._emit(Change("removed", snapshot.id))

        self._do(_Step(label or f"insert {snapshot.id}", undo, redo))

    def _detach(self, node_id: str) -> tuple[Node, str | None, int]:
        parent = self.parent_id(node_id)
        siblings = self._siblings(parent)
        index = next(i for i, n in enumerate(siblings) if n.id == node_id)
        return siblings.pop(index), parent, index

    def remove_node(self, node_id: str) -> Node:
        """Remove a node and its subtree; returns a copy of what was removed."""
        node = self.node(node_id)
        parent = self.parent_id(node_id)
        index = next(i for i, n in enumerate(self._siblings(parent)) if n.id == node_id)
        snapshot = copy.deepcopy(node)

        def redo() -> None:
            gone, _, _ = self._detach(node_id)
            self._unindexed(gone)
            self._emit(Change("removed", node_id))

        def undo() -> None:
            back = copy.deepcopy(snapshot)
            self._siblings(parent).insert(index, back)
            self._indexed(back, parent)
            self._emit(Change("added", node_id))

        self._do(_Step(f"delete {node_id}", undo, redo))
        return snapshot

    def delete_nodes(self, node_ids: list[str]) -> None:
        """Delete nodes but keep their other children, which become roots (one undo step).

        This is what deleting on the canvas means: the wires go, the rest stays.
        """
        doomed = set(node_ids)
        # the deepest first: a doomed node's children are saved before an ancestor goes
        order = [n for n in reversed(list(self.tree.walk())) if n.id in doomed]
        with self.batch(f"delete {len(order)} node(s)"):
            for node in order:
                for child in list(node.children):
                    if child.id not in doomed:
                        self.set_parent(child.id, None)
                self.remove_node(node.id)

    def set_parent(self, node_id: str, parent_id: str | None, index: int | None = None) -> None:
        """Make ``node_id`` a child of ``parent_id`` (a root when None).

        Raises EditError for a cycle (a node under its own descendant).
        """
        node = self.node(node_id)
        if parent_id is not None:
            target = self.node(parent_id)
            if any(n.id == target.id for n in node.walk()):
                raise EditError(
                    f"{node_id!r} cannot go under {parent_id!r}: that is inside "
                    "its own subtree, and a tree has no cycles"
                )
        old_parent = self.parent_id(node_id)
        old_index = next(i for i, n in enumerate(self._siblings(old_parent)) if n.id == node_id)
        if old_parent == parent_id and index is None:
            return

        def move(to_parent: str | None, at: int | None) -> Callable[[], None]:
            def run() -> None:
                moved, _, _ = self._detach(node_id)
                siblings = self._siblings(to_parent)
                siblings.insert(len(siblings) if at is None else min(at, len(siblings)), moved)
                if self._by_id is not None:
                    self._parent_of[node_id] = to_parent
                self._emit(Change("moved", node_id))

            return run

        self._do(_Step(f"move {node_id}", move(old_parent, old_index), move(parent_id, index)))

    def set_fields(self, node_id: str, **values: Any) -> None:
        """Set node fields (``title``, ``enabled``, ``output_key``, ``cache``, ``fan_out``,
        ``on_error``, ``required_inputs``, ``after``, ``index_output``, ``id``); consecutive
        edits of one field merge."""
        node = self.node(node_id)
        allowed = {
            "title",
            "enabled",
            "output_key",
            "cache",
            "fan_out",
            "on_error",
            "required_inputs",
            "after",
            "index_output",
            "id",
        }
        unknown = set(values) - allowed
        if unknown:
            raise EditError(f"cannot set {', '.join(sorted(unknown))} on a node")
        if "id" in values and values["id"] != node_id:
            new = values["id"]
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,63}", str(new)):
                raise EditError(f"{new!r} is not a valid node id")
            if any(n.id == new for n in self.tree.walk()):
                raise EditError(f"the id {new!r} is already used")
        before = {k: copy.deepcopy(getattr(node, k)) for k in values}
        after = copy.deepcopy(values)
        ids = {"now": node_id}

        def apply(state: dict[str, Any]) -> Callable[[], None]:
            def run() -> None:
                target = self.node(ids["now"])
                for key, value in state.items():
                    setattr(target, key, copy.deepcopy(value))
                old = ids["now"]
                ids["now"] = target.id
                waiting = []
                if old != target.id:  # nodes that wait for it (``after:``) follow the new id
                    for other in self.tree.walk():
                        if old in other.after:
                            other.after = [target.id if a == old else a for a in other.after]
                            waiting.append(other.id)
                    # first, so views move their item instead of remaking it
                    self._emit(Change("renamed", old, (target.id,)))
                self._emit(Change("edited", target.id, tuple(state)))
                for other_id in waiting:
                    self._emit(Change("edited", other_id, ("after",)))

            return run

        self._do(
            _Step(
                f"edit {node_id}",
                apply(before),
                apply(after),
                merge_key=("fields", node_id, tuple(sorted(values)))
                if "id" not in values
                else None,
            )
        )

    def set_config(self, node_id: str, config: dict[str, Any]) -> None:
        """Replace a node's config (the properties form sends the whole form each time);
        consecutive edits of one node merge into one undo step."""
        node = self.node(node_id)
        before = copy.deepcopy(node.config)
        after = copy.deepcopy(config)

        def apply(state: dict[str, Any]) -> Callable[[], None]:
            def run() -> None:
                self.node(node_id).config = copy.deepcopy(state)
                self._emit(Change("edited", node_id, ("config",)))

            return run

        self._do(
            _Step(f"edit {node_id}", apply(before), apply(after), merge_key=("config", node_id))
        )

    def set_ui_many(self, values: dict[str, dict[str, Any]]) -> None:
        """``set_ui`` for many nodes at once (a layout, a group moved): one walk of the tree,
        and the changes delivered together (all but the last marked ``more``)."""
        by_id = {n.id: n for n in self.tree.walk()}
        missing = sorted(set(values) - set(by_id))
        if missing:
            raise EditError(f"no node {missing[0]!r} in the tree")
        with self._hold():
            for node_id, fields in values.items():
                node = by_id[node_id]
                if all(node.ui.get(k) == v for k, v in fields.items()):
                    continue
                node.ui = {**node.ui, **fields}
                self._ui_dirty = True
                self._emit(Change("ui", node_id, tuple(fields)))

    def set_ui(self, node_id: str, **values: Any) -> None:
        """Editor data (``pos``, ``color``, ``collapsed``): saved, but no undo step each."""
        node = self.node(node_id)
        if all(node.ui.get(k) == v for k, v in values.items()):
            return
        node.ui = {**node.ui, **values}
        self._ui_dirty = True
        self._emit(Change("ui", node_id, tuple(values)))

    def set_tree_fields(self, **values: Any) -> None:
        """Tree-level fields: ``name``, ``description``, ``inputs``, ``models``, ``limits``,
        ``seed``."""
        before = {k: copy.deepcopy(getattr(self.tree, k)) for k in values}
        validated = Tree.model_validate({**self.tree.model_dump(), **values})
        after = {k: copy.deepcopy(getattr(validated, k)) for k in values}

        def apply(state: dict[str, Any]) -> Callable[[], None]:
            def run() -> None:
                for key, value in state.items():
                    setattr(self.tree, key, copy.deepcopy(value))
                self._emit(Change("edited", None, tuple(state)))

            return run

        self._do(_Step("edit tree", apply(before), apply(after)))


def _starter_config(type_id: str) -> dict[str, Any]:
    """A config a new node of a built-in type validates with."""
    starters: dict[str, dict[str, Any]] = {
        "text": {"prompt": "Write about ${topic}"},
        "text-array": {
            "prompt": "List 3 ideas about ${topic} as a JSON array of strings",
            "validation": {"min_items": 3, "max_items": 3},
        },
        "object": {
            "prompt": "Describe ${topic} as JSON with a title and a summary",
            "validation": {"required": ["title", "summary"]},
        },
        "image": {"prompt": "An illustration of ${topic}"},
        "template": {"template": "${topic}"},
    }
    return copy.deepcopy(starters.get(type_id, {}))
