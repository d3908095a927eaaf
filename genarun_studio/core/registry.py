"""Finding node types: the ``genarun.nodes`` entry-point group.

Built-in types register through the same group as third-party node packs, so the CLI, the
editor's palette and the engine see plugins with no change. A plugin that fails to import
is reported (``Registry.broken``) instead of breaking every tree.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from genarun_studio.core.nodetype import NodeType
from genarun_studio.errors import NodeTypeError

__all__ = ["ENTRY_POINT_GROUP", "Registry", "default_registry"]

ENTRY_POINT_GROUP = "genarun.nodes"


class Registry:
    """Node types by identifier."""

    def __init__(self) -> None:
        self._types: dict[str, NodeType] = {}  # type: ignore[type-arg]
        self.broken: dict[str, str] = {}
        """Entry points that failed to load: name → one-line reason."""

    def register(self, cls: type[NodeType]) -> None:  # type: ignore[type-arg]
        """Add a node type class (tests and embedding applications use this directly)."""
        type_id = getattr(cls, "type_id", None)
        if not isinstance(type_id, str) or not type_id:
            raise NodeTypeError(f"{cls.__qualname__} has no type_id")
        self._types[type_id] = cls()

    def get(self, type_id: str) -> NodeType:  # type: ignore[type-arg]
        try:
            return self._types[type_id]
        except KeyError:
            known = ", ".join(sorted(self._types)) or "none"
            raise NodeTypeError(f"unknown node type {type_id!r} (known: {known})") from None

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._types

    def ids(self) -> list[str]:
        return sorted(self._types)

    def types(self) -> list[NodeType]:  # type: ignore[type-arg]
        return [self._types[k] for k in self.ids()]

    @classmethod
    def from_entry_points(cls) -> Registry:
        registry = cls()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = ep.load()
                registry.register(loaded)
            except Exception as exc:  # a broken plugin must not break every tree
                registry.broken[ep.name] = f"{type(exc).__name__}: {exc}"
        return registry


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The node types installed in this environment (loaded once)."""
    return Registry.from_entry_points()
