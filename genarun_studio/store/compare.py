"""Compare one node's outputs between two runs, without widgets.

:func:`compare_node` matches the node's instances of two runs by instance key (runs of one
tree give their instances the same keys), reading each run's journal (the last record per
instance). A :class:`Comparison` says whether a key is in one run only, the same in both
(output and image bytes) or different, and gives a unified diff of the outputs. The editor's
compare dialog (:mod:`genarun_studio.qt.dialogs.compare`) draws the same comparison.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genarun_studio.store.index import RunIndex
from genarun_studio.store.rebuild import latest_records
from genarun_studio.store.runfolder import RunFolder
from genarun_studio.store.runlogs import IMAGE_SUFFIXES

__all__ = ["Comparison", "compare_node", "compared_value", "output_text"]


def output_text(value: Any) -> str:
    """An output as text: strings as they are, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@dataclass
class Comparison:
    """One instance key of a node in two runs."""

    key: str
    a: dict[str, Any] | None
    b: dict[str, Any] | None
    images_a: list[Path] = field(default_factory=list)
    images_b: list[Path] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``only_a``, ``only_b``, ``same`` or ``differ``."""
        if self.b is None:
            return "only_a"
        if self.a is None:
            return "only_b"
        same_value = compared_value(self.a) == compared_value(self.b)
        same = same_value and _sizes(self.images_a) == _sizes(self.images_b)
        return "same" if same else "differ"

    def diff(self) -> list[str]:
        """A unified diff of the two outputs (empty when they are equal)."""
        a = output_text(compared_value(self.a)).splitlines() if self.a is not None else []
        b = output_text(compared_value(self.b)).splitlines() if self.b is not None else []
        return list(difflib.unified_diff(a, b, "a", "b", lineterm=""))


def compared_value(record: dict[str, Any] | None) -> Any:
    """What is compared of an instance record: its output, or its error when it failed."""
    if record is None:
        return None
    if record.get("state") == "failed":
        return {"error": record.get("error")}
    return record.get("output")


def _sizes(paths: list[Path]) -> list[bytes]:
    return [p.read_bytes() if p.is_file() else b"" for p in paths]


def _records(index: RunIndex, run_id: str) -> tuple[Path | None, list[dict[str, Any]]]:
    run = index.run(run_id)
    if run is None:
        return None, []
    run_dir = Path(str(run["run_dir"]))
    return run_dir, latest_records(RunFolder(run_dir, run_id))


def _images(run_dir: Path | None, record: dict[str, Any] | None) -> list[Path]:
    if run_dir is None or record is None:
        return []
    return [
        run_dir / str(rel)
        for rel in record.get("assets") or []
        if Path(str(rel)).suffix.lower() in IMAGE_SUFFIXES
    ]


def compare_node(index: RunIndex, run_a: str, run_b: str, node_id: str) -> list[Comparison]:
    """The instances of ``node_id`` in two runs, matched by key (``run_a``'s order first)."""
    dir_a, records_a = _records(index, run_a)
    dir_b, records_b = _records(index, run_b)
    by_a = {r["key"]: r for r in records_a if r.get("node_id") == node_id}
    by_b = {r["key"]: r for r in records_b if r.get("node_id") == node_id}
    keys = list(dict.fromkeys([*by_a, *by_b]))
    return [
        Comparison(
            key,
            by_a.get(key),
            by_b.get(key),
            _images(dir_a, by_a.get(key)),
            _images(dir_b, by_b.get(key)),
        )
        for key in keys
    ]
