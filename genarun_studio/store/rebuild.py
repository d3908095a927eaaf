"""Rebuilding derived files from the journal: a run's ``output.json`` and ``logs.json``, and
the project's index. The journal is the truth; everything else can be made again from it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from genarun_studio.core.formats import loads_tree
from genarun_studio.core.outputs import output_from_records
from genarun_studio.store.index import IndexDamaged
from genarun_studio.store.project import Project
from genarun_studio.store.runfolder import RunFolder, write_json_atomic

__all__ = ["latest_records", "load_estimate", "rebuild_index", "rebuild_run", "save_estimate"]

ESTIMATE_FILE = "estimate.json"
"""A run's dry-run cost estimate, kept in its folder so that a rebuilt index has it too."""


def save_estimate(run_dir: Path, total_usd: float, per_node: dict[str, float]) -> None:
    """Keep a run's estimate (total and per node) in its folder."""
    write_json_atomic(
        run_dir / ESTIMATE_FILE,
        {"total_usd": float(total_usd), "per_node": {k: float(v) for k, v in per_node.items()}},
    )


def load_estimate(run_dir: Path) -> tuple[float, dict[str, float]] | None:
    """A run's kept estimate, or ``None`` (none, or a damaged file)."""
    try:
        data = json.loads((run_dir / ESTIMATE_FILE).read_text(encoding="utf-8"))
        per_node = {str(k): float(v) for k, v in dict(data.get("per_node") or {}).items()}
        return float(data["total_usd"]), per_node
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def latest_records(folder: RunFolder) -> list[dict[str, Any]]:
    """The journal's records, the last one per instance key, in journal order."""
    latest: dict[str, dict[str, Any]] = {}
    for record in folder.read_journal():
        latest.pop(record["key"], None)
        latest[record["key"]] = record
    return list(latest.values())


def _node_order(folder: RunFolder) -> list[str]:
    try:
        tree = loads_tree((folder.path / "tree.json").read_bytes(), file=str(folder.path))
    except Exception:  # a damaged snapshot must not stop a rebuild; order is cosmetic
        return []
    return [node.id for node in tree.walk()]


def rebuild_run(folder: RunFolder) -> dict[str, Any]:
    """Write ``output.json`` and ``logs.json`` from the journal; returns the output."""
    records = latest_records(folder)
    output = output_from_records(records, _node_order(folder))
    folder.write("output.json", output)
    meta = _read_meta(folder.path)
    folder.write(
        "logs.json", {"run_id": folder.run_id, "seed": meta.get("seed"), "instances": records}
    )
    return output


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        value = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def rebuild_index(project: Project) -> int:
    """Recreate every run's rows in the index from the run folders; returns the run count."""
    path = project.root / ".genarun" / "index.sqlite"
    try:
        index = project.index
    except IndexDamaged:
        path.replace(path.with_name(f"index.damaged-{int(time.time())}.sqlite"))
        for extra in (path.with_name("index.sqlite-wal"), path.with_name("index.sqlite-shm")):
            extra.unlink(missing_ok=True)
        index = project.index
    if index is None:
        return 0
    with index.transaction() as db:  # start empty: runs whose folders are gone disappear
        db.execute("DELETE FROM instances")
        db.execute("DELETE FROM results")
        db.execute("DELETE FROM node_estimates")
        db.execute("DELETE FROM runs")
    count = 0
    trees = project.root / "trees"
    for run_json in sorted(trees.glob("*/*/run.json")):
        run_dir = run_json.parent
        if run_dir.name == "latest" or run_dir.name.startswith("."):
            continue
        meta = _read_meta(run_dir)
        if "run_id" not in meta:
            continue
        folder = RunFolder(run_dir, meta["run_id"])
        records = latest_records(folder)
        index.record_run(meta, str(run_dir))
        for record in records:
            index.record_instance(meta["run_id"], record, str(run_dir))
        estimate = load_estimate(run_dir)
        if estimate is not None:
            index.set_estimate(meta["run_id"], *estimate)
        count += 1
    return count
