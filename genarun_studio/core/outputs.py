"""The shape of ``output.json``: the tree's outputs nested as the tree is.

Each instance writes its output under its node's ``output_key`` into the object its parent
gave it (the root object for root nodes):

* A node whose output is not an array, or that has no enabled children: ``{key: output}``,
  and its children write into the same object, beside it.
* A node whose array output fans out over its children: ``{key: [item, item, ...]}`` in
  item order, where each item becomes an object that its children write into: an object
  item keeps its own fields (``{"title": ..., "image": "assets/..."}``), any other item is
  wrapped as ``{"value": item, ...}``.

Failed and skipped instances write nothing; their errors are in ``logs.json``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["InstanceView", "build_output", "output_from_records"]


class InstanceView(Protocol):
    @property
    def output_key(self) -> str: ...

    @property
    def has_output(self) -> bool: ...

    @property
    def output(self) -> Any: ...

    @property
    def fanned_out(self) -> bool: ...

    @property
    def item_index(self) -> int | None: ...

    @property
    def children(self) -> Iterable[InstanceView]: ...


def build_output(roots: Iterable[InstanceView]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for root in roots:
        _write(root, result)
    return result


def _write(instance: InstanceView, scope: dict[str, Any]) -> None:
    if not instance.has_output:
        return
    value = instance.output
    if instance.fanned_out and isinstance(value, list):
        items: list[dict[str, Any]] = [
            dict(item) if isinstance(item, dict) else {"value": item} for item in value
        ]
        for child in instance.children:
            if child.item_index is not None and 0 <= child.item_index < len(items):
                _write(child, items[child.item_index])
        scope[instance.output_key] = items
    else:
        scope[instance.output_key] = value
        for child in instance.children:
            _write(child, scope)


class _RecordView:
    """An instance as its journal record tells it."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.children: list[_RecordView] = []

    @property
    def output_key(self) -> str:
        return str(self.record.get("output_key") or self.record["node_id"])

    @property
    def has_output(self) -> bool:
        return self.record.get("state") in ("done", "cached")

    @property
    def output(self) -> Any:
        return self.record.get("output")

    @property
    def fanned_out(self) -> bool:
        return bool(self.record.get("fanned_out"))

    @property
    def item_index(self) -> int | None:
        index = self.record.get("item_index")
        return index if isinstance(index, int) else None


def output_from_records(records: Iterable[dict[str, Any]], node_order: list[str]) -> dict[str, Any]:
    """``output.json`` rebuilt from journal records (the last record of a key wins).

    ``node_order`` lists node ids in tree order, so keys come out as a live run writes them.
    """
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        latest[record["key"]] = record
    views = {key: _RecordView(record) for key, record in latest.items()}
    rank = {node_id: i for i, node_id in enumerate(node_order)}
    roots: list[_RecordView] = []
    for view in views.values():
        parent = view.record.get("parent")
        if parent is None:
            roots.append(view)
        elif parent in views:
            views[parent].children.append(view)

    def order(view: _RecordView) -> tuple[int, int]:
        return (
            view.item_index if view.item_index is not None else -1,
            rank.get(view.record["node_id"], len(rank)),
        )

    for view in views.values():
        view.children.sort(key=order)
    roots.sort(key=order)
    return build_output(roots)
