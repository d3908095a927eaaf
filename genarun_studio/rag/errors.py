"""Errors of the retrieval layer.

GenarunError
└── RagError            an index or embedder problem (names the index, file or model)
    └── MissingExtra    an optional dependency is not installed (names the pip command)
"""

from __future__ import annotations

from genarun_studio.errors import GenarunError, install_hint

__all__ = ["MissingExtra", "RagError", "require", "require_retrieval"]


class RagError(GenarunError):
    """An index, document or embedder problem; the message names what is wrong."""


class MissingExtra(RagError):
    """A feature needs an optional extra that is not installed."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        self.extra = extra
        self.module = module
        super().__init__(
            f"{feature}: the {module!r} package is not installed; add the [{extra}] extra "
            f"with {install_hint(extra)}"
        )


def require(module: str, extra: str, feature: str) -> object:
    """Import ``module`` or raise :class:`MissingExtra` naming the extra that brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != module.split(".")[0]:
            raise  # the package is there but broken: show the real cause
        raise MissingExtra(feature, extra, module) from None


def require_retrieval() -> None:
    """Raise :class:`MissingExtra` unless the ``[rag]`` extra's index libraries are there:
    checked before an index is touched, so a base install gets the pip command, not a
    ``ModuleNotFoundError`` from deep inside."""
    require("numpy", "rag", "Retrieval indexes")
    require("faiss", "rag", "Retrieval indexes")
