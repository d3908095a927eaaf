"""What a past run would cost at the real models' prices: a dry run of its snapshot.

:func:`estimate_run` replays a run folder's ``tree.json`` with the run's inputs and seed as a
dry run (every call planned on the mock provider and priced with the project's pricing
table, nothing called, no cache, a scratch folder that is deleted afterwards) and returns
the estimate per node and in total. The history's cost view shows it beside what the run
actually cost, and records the total in the index (``runs.est_cost_usd``).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

from genarun_studio.core.formats import loads_tree
from genarun_studio.engine.cost import Pricing
from genarun_studio.engine.engine import Engine
from genarun_studio.engine.run import RunOptions
from genarun_studio.errors import RunError

__all__ = ["RunEstimate", "estimate_run"]


@dataclass
class RunEstimate:
    total_usd: float
    per_node: dict[str, float] = field(default_factory=dict)
    unpriced: list[str] = field(default_factory=list)
    """Models the pricing table does not know (estimated at 0)."""


def estimate_run(run_dir: Path, project_root: Path | None = None) -> RunEstimate:
    """A dry run of the run in ``run_dir`` (see the module docstring). Blocking: it runs its
    own event loop, so call it from a worker thread (or a script), never from a running
    loop. Raises RunError when the folder has no readable ``run.json`` / ``tree.json``."""
    try:
        meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        tree = loads_tree((run_dir / "tree.json").read_bytes(), file=str(run_dir / "tree.json"))
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot estimate the run in {run_dir}: {exc}") from None
    engine = Engine(pricing=Pricing.load(project_root))
    options = RunOptions(seed=meta.get("seed"), mock=True, dry_run=True)
    try:
        run = engine.prepare(tree, meta.get("inputs") or {}, options, tree_id=meta.get("tree_id"))
        asyncio.run(run.wait())
    finally:
        engine.discard_scratch()
    per_node: dict[str, float] = {}
    for inst in run.instances.values():
        if inst.calls:
            cost = sum(float(c.get("cost_usd") or 0.0) for c in inst.calls)
            per_node[inst.node_id] = per_node.get(inst.node_id, 0.0) + cost
    return RunEstimate(sum(per_node.values()), per_node, sorted(run.pricing.unpriced))
