"""Engine benchmark: fan-out trees run against a mock provider that injects latency.

Run it from the repository root::

    .venv/bin/python benchmarks/engine.py                 # both trees, 50 ms, text lane 4
    .venv/bin/python benchmarks/engine.py --quick         # only the 10x10 tree
    .venv/bin/python benchmarks/engine.py --latency 0.1 --concurrency 8 --repeat 5
    .venv/bin/python benchmarks/engine.py --profile       # + cProfile of a 0-latency run

Trees (every node is one chat call on the ``text`` lane; the mock answers a ``text-array``
with exactly ``validation.min_items == max_items`` items)::

    AxB:  root  text-array, A items
          └─ sub   text-array, B items   (one instance per root item)
             └─ leaf  text               (one instance per sub item)

    instances = calls = 1 + A + A*B     (10x10: 111, 50x20: 1051), critical path = 3 calls

For each tree it prints, as the median of ``--repeat`` runs:

* wall: ``RunSummary.wall_s`` of a run at ``--latency`` with ``--concurrency`` text slots;
* ideal: the makespan of a perfect greedy list scheduler (an instance is ready when its
  parent finishes, ``--concurrency`` slots, FIFO, zero overhead), and the lower bound
  ``max(critical path x latency, calls x latency / concurrency)``;
* lane utilisation: ``calls x latency / (wall x concurrency)``;
* engine overhead per instance: wall of the same tree at latency 0 / instances, with the
  part spent in the mock provider's answer generation, the run folder's journal appends
  and its final file writes shown separately.

Targets (the issue): wall <= 1.05 x ideal, overhead < 0.5 ms per instance. Each tree ends
with a ``PASS`` / ``MISS`` line. Every run uses a fresh engine (so its in-memory result
cache never answers) and a temporary project folder that is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import heapq
import io
import pstats
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genarun_studio.core.tree import Node, Tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.providers.base import ChatRequest, ChatResponse
from genarun_studio.providers.mock import MockProvider
from genarun_studio.store.project import Project

WALL_TARGET = 1.05
"""wall / greedy ideal must not exceed this."""
OVERHEAD_TARGET_MS = 0.5
"""Engine wall per instance at latency 0 must stay below this (milliseconds)."""


# -- trees -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A fan-out tree: ``levels[d]`` items per instance at depth ``d``; one leaf below."""

    levels: tuple[int, ...]

    @property
    def name(self) -> str:
        return "x".join(map(str, self.levels))

    @property
    def depth(self) -> int:
        """Nodes on a root-to-leaf path: the critical path in calls."""
        return len(self.levels) + 1

    @property
    def instances(self) -> int:
        total, width = 1, 1
        for items in self.levels:
            width *= items
            total += width
        return total

    def children(self, depth: int) -> int:
        """Instances an instance at ``depth`` spawns when it finishes."""
        return self.levels[depth] if depth < len(self.levels) else 0


SMALL = Shape((10, 10))
LARGE = Shape((50, 20))


def build_tree(shape: Shape) -> Tree:
    """``text-array`` nodes fanning out per ``shape.levels``, ending in a ``text`` leaf."""
    leaf = Node(
        id="leaf",
        type="text",
        config={"prompt": "Write one sentence about ${item} (item ${index})."},
    )
    node = leaf
    for depth in reversed(range(len(shape.levels))):
        items = shape.levels[depth]
        topic = "${item}" if depth else "${topic}"
        node = Node(
            id=f"list{depth}",
            type="text-array",
            config={
                "prompt": f"List {items} short titles of stories about {topic}.",
                "validation": {"min_items": items, "max_items": items},
            },
            children=[node],
        )
    return Tree(
        id=f"bench_{shape.name}",
        name=f"engine benchmark {shape.name}",
        inputs={"topic": {"type": "string", "default": "lighthouses"}},
        seed=1,
        nodes=[node],
    )


# -- the ideal schedule ------------------------------------------------------------------


def greedy_makespan(shape: Shape, latency: float, slots: int) -> float:
    """Makespan of a zero-overhead FIFO list scheduler with ``slots`` slots.

    Every call takes exactly ``latency``; an instance joins the ready queue when its parent
    finishes (children in item order, parents in finishing order). Time is counted in
    whole calls, so simultaneous finishes are exact.
    """
    ready: deque[int] = deque([0])  # depths of ready instances
    running: list[tuple[int, int, int]] = []  # (end tick, seq, depth)
    now = seq = 0
    while ready or running:
        while ready and len(running) < slots:
            heapq.heappush(running, (now + 1, seq, ready.popleft()))
            seq += 1
        now = running[0][0]
        while running and running[0][0] == now:
            _, _, depth = heapq.heappop(running)
            ready.extend([depth + 1] * shape.children(depth))
    return now * latency


def lower_bound(shape: Shape, latency: float, slots: int) -> float:
    return max(shape.depth * latency, shape.instances * latency / slots)


async def asyncio_baseline(shape: Shape, latency: float, slots: int) -> float:
    """Wall time of the same schedule in bare asyncio: a semaphore, a task per instance,
    ``asyncio.sleep(latency)`` per call, children spawned when the parent finishes. What
    the event loop's timers allow with no engine at all."""
    semaphore = asyncio.Semaphore(slots)
    tasks: set[asyncio.Task[None]] = set()
    idle = asyncio.Event()

    def spawn(depth: int) -> None:
        task = asyncio.get_running_loop().create_task(instance(depth))
        tasks.add(task)
        task.add_done_callback(finished)

    def finished(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not tasks:
            idle.set()

    async def instance(depth: int) -> None:
        async with semaphore:
            await asyncio.sleep(latency)
        for _ in range(shape.children(depth)):
            spawn(depth + 1)

    gc.collect()
    started = time.perf_counter()
    spawn(0)
    await idle.wait()
    return time.perf_counter() - started


# -- measuring ---------------------------------------------------------------------------


class TimedMock(MockProvider):
    """The mock provider, counting calls and the time spent inside them."""

    def __init__(self, *, latency_s: float) -> None:
        super().__init__(latency_s=latency_s)
        self.calls = 0
        self.seconds = 0.0

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.calls += 1
        started = time.perf_counter()
        try:
            return await super().chat(request)
        finally:
            # At latency 0 the call never yields, so this is the mock's own CPU time.
            self.seconds += time.perf_counter() - started


def _timed(method: Callable[..., Any], totals: dict[str, float], key: Callable[[], str]) -> Any:
    """``method``, adding its duration to ``totals[key()]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            totals[key()] += time.perf_counter() - started

    return wrapper


@dataclass
class Sample:
    wall_s: float
    """``RunSummary.wall_s``: from the start of execution until the last instance ended
    (the run's final file writes come after it)."""
    total_s: float
    """``Engine.prepare`` + ``Run.wait``: everything, final writes included."""
    calls: int
    mock_s: float
    """Time inside the provider's ``chat`` (at latency 0: the mock's own CPU)."""
    journal_s: float
    """``RunFolder.append_journal``."""
    writes_in_s: float
    """``RunFolder.write`` while the run is running (``run.json`` at the start)."""
    writes_after_s: float
    """``RunFolder.write`` once it has ended: ``output.json``, ``logs.json``, ``run.json``."""


async def run_once(
    shape: Shape, latency: float, slots: int, root: Path, profiler: cProfile.Profile | None
) -> Sample:
    provider = TimedMock(latency_s=latency)
    engine = Engine(project=Project(root), mock_provider=provider)
    options = RunOptions(mock=True, no_cache=True, concurrency={"text": slots})  # every call made
    tree = build_tree(shape)
    gc.collect()
    started = time.perf_counter()
    run = engine.prepare(tree, {}, options)
    totals = {"journal": 0.0, "in": 0.0, "after": 0.0}
    # Instance attributes shadow the methods: only this run's folder is timed.
    folder: Any = run.folder
    folder.append_journal = _timed(folder.append_journal, totals, lambda: "journal")
    folder.write = _timed(
        folder.write, totals, lambda: "in" if run.status in ("running", "paused") else "after"
    )
    if profiler is not None:
        profiler.enable()
    try:
        summary = await run.wait()
    finally:
        if profiler is not None:
            profiler.disable()
    total_s = time.perf_counter() - started
    expected = {"done": shape.instances}
    if summary.status != "finished" or summary.counts != expected:
        raise SystemExit(
            f"{shape.name}: run ended {summary.status} with {summary.counts}, "
            f"expected {expected}; see {summary.run_dir}"
        )
    shutil.rmtree(summary.run_dir, ignore_errors=True)
    return Sample(
        wall_s=summary.wall_s,
        total_s=total_s,
        calls=provider.calls,
        mock_s=provider.seconds,
        journal_s=totals["journal"],
        writes_in_s=totals["in"],
        writes_after_s=totals["after"],
    )


def median_sample(samples: list[Sample]) -> Sample:
    """The sample with the median wall time (its other fields belong to the same run)."""
    ordered = sorted(samples, key=lambda s: s.wall_s)
    return ordered[(len(ordered) - 1) // 2]


# -- reporting ---------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


async def bench(args: argparse.Namespace, root: Path) -> int:
    shapes = [SMALL] if args.quick else [SMALL, LARGE]
    latency, slots, repeat = args.latency, args.concurrency, args.repeat
    print(
        f"Genarun engine benchmark: python {sys.version.split()[0]}, latency "
        f"{latency * 1000:g} ms, text lane concurrency {slots}, median of {repeat} run(s)"
    )
    for shape in shapes:
        print(
            f"  {shape.name}: root text-array({shape.levels[0]}) -> text-array"
            f"({shape.levels[1]}) -> text; {shape.instances} instances, "
            f"{shape.instances} calls, critical path {shape.depth} calls"
        )
    print()

    loaded: dict[str, Sample] = {}
    idle: dict[str, Sample] = {}
    baseline: dict[str, float] = {}
    for shape in shapes:
        loaded[shape.name] = median_sample(
            [await run_once(shape, latency, slots, root, None) for _ in range(repeat)]
        )
        idle[shape.name] = median_sample(
            [await run_once(shape, 0.0, slots, root, None) for _ in range(repeat)]
        )
        baseline[shape.name] = await asyncio_baseline(shape, latency, slots)

    rows = []
    for shape in shapes:
        s = loaded[shape.name]
        ideal = greedy_makespan(shape, latency, slots)
        bound = lower_bound(shape, latency, slots)
        utilisation = s.calls * latency / (s.wall_s * slots) if s.wall_s else 0.0
        rows.append(
            [
                shape.name,
                str(shape.instances),
                str(s.calls),
                f"{s.wall_s:.3f}",
                f"{ideal:.3f}",
                f"{bound:.3f}",
                f"{s.wall_s / ideal:.3f}" if ideal else "-",
                f"{s.wall_s / bound:.3f}" if bound else "-",
                f"{utilisation:.1%}",
                f"{(s.wall_s - ideal) / shape.instances * 1000:.3f}",
                f"{s.mock_s / s.calls * 1000:.2f}" if s.calls else "-",
                f"{baseline[shape.name]:.3f}",
                f"{s.wall_s / baseline[shape.name]:.3f}",
            ]
        )
    print(f"With latency {latency * 1000:g} ms (seconds unless marked):")
    print(
        table(
            [
                "tree",
                "inst",
                "calls",
                "wall",
                "ideal",
                "bound",
                "wall/ideal",
                "wall/bound",
                "lane util",
                "lost ms/inst",
                "call ms",
                "asyncio",
                "wall/asyncio",
            ],
            rows,
        )
    )
    print(
        "  ideal: greedy FIFO list schedule, zero overhead; bound: max(critical path, "
        "calls x latency / slots);\n"
        "  lost ms/inst: (wall - ideal) / instances; call ms: mean time inside the mock's chat "
        "(latency + timer\n"
        "  overshoot + waiting for the loop); asyncio: the same schedule in bare asyncio "
        "(semaphore + sleep), one run."
    )
    print()

    rows = []
    for shape in shapes:
        s = idle[shape.name]
        n = shape.instances
        rest_s = s.wall_s - s.mock_s - s.journal_s - s.writes_in_s

        def per(seconds: float, n: int = n) -> str:
            return f"{seconds / n * 1000:.3f}"

        rows.append(
            [
                shape.name,
                str(n),
                ms(s.wall_s),
                per(s.wall_s),
                per(s.mock_s),
                per(s.journal_s),
                per(rest_s),
                ms(s.writes_after_s),
                ms(s.total_s),
                per(s.total_s),
            ]
        )
    print("At latency 0 (ms):")
    print(
        table(
            [
                "tree",
                "inst",
                "wall",
                "wall/inst",
                "mock/inst",
                "journal/inst",
                "rest/inst",
                "final writes",
                "total",
                "total/inst",
            ],
            rows,
        )
    )
    print(
        "  wall: RunSummary.wall_s (ends before the final writes); mock: the mock's answer "
        "generation;\n"
        "  rest: wall - mock - journal (scheduling, plans, signatures, records, events); "
        "final writes: output.json,\n"
        "  logs.json, run.json after the wall; total: Engine.prepare + Run.wait, all included."
    )
    print()

    misses = 0
    for shape in shapes:
        ideal = greedy_makespan(shape, latency, slots)
        ratio = loaded[shape.name].wall_s / ideal
        per_ms = idle[shape.name].wall_s / shape.instances * 1000
        total_ms = idle[shape.name].total_s / shape.instances * 1000
        wall_ok = ratio <= WALL_TARGET
        over_ok = per_ms < OVERHEAD_TARGET_MS
        misses += (not wall_ok) + (not over_ok)
        verdict = "PASS" if wall_ok and over_ok else "MISS"
        print(
            f"{shape.name}: {verdict} vs target - wall/ideal {ratio:.3f} "
            f"({'ok' if wall_ok else 'MISS'}, target <= {WALL_TARGET}); overhead "
            f"{per_ms:.3f} ms/instance ({'ok' if over_ok else 'MISS'}, target < "
            f"{OVERHEAD_TARGET_MS}; {total_ms:.3f} with prepare and final writes)"
        )

    if args.profile:
        shape = shapes[-1]
        profiler = cProfile.Profile()
        await run_once(shape, 0.0, slots, root, profiler)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(40)
        stats.sort_stats(pstats.SortKey.TIME).print_stats(30)
        print(f"\ncProfile of one {shape.name} run at latency 0:")
        print(out.getvalue())
    return 1 if misses else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call (0.05)")
    parser.add_argument("--concurrency", type=int, default=4, help="text lane slots (4)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; median (3)")
    parser.add_argument("--quick", action="store_true", help="only the 10x10 tree")
    parser.add_argument(
        "--profile", action="store_true", help="also cProfile one 0-latency run of the last tree"
    )
    args = parser.parse_args(argv)
    if args.latency <= 0 or args.concurrency < 1 or args.repeat < 1:
        parser.error("--latency must be > 0, --concurrency and --repeat >= 1")
    root = Path(tempfile.mkdtemp(prefix="genarun-bench-"))
    try:
        return asyncio.run(bench(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
