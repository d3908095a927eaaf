"""Store benchmark: the project cache on reruns, targeted reruns, listing runs from the index.

Run it from the repository root::

    .venv/bin/python benchmarks/store.py               # 50x20 tree, 10,000 runs, median of 5
    .venv/bin/python benchmarks/store.py --quick       # 10x10 tree, 1,000 runs
    .venv/bin/python benchmarks/store.py --repeat 9
    .venv/bin/python benchmarks/store.py --profile     # + cProfile of a cached rerun and a listing

The tree (every node is one chat call on the ``text`` lane; the mock answers a ``text-array``
with exactly ``validation.min_items == max_items`` items)::

    AxB:  root  text-array, A items
          └─ sub   text-array, B items   (one instance per root item)
             └─ leaf  text               (one instance per sub item)

    instances = 1 + A + A*B     (10x10: 111, 50x20: 1051)

The tree's ``openai`` profile is answered by a counting provider (it delegates to
:class:`MockProvider` for shaped answers and counts calls per node); runs are *not* mock runs,
so every call the engine makes shows up in the count. All runs use one seed and one
temporary project folder:

1. a first run fills the project (every instance is a call);
2. the unchanged tree is run again ``--repeat`` times, each on a new ``Engine`` and a new
   ``Project`` object (a fresh SQLite connection), so any hit comes from the project's index
   and not from memory. Target: zero calls and ``RunSummary.wall_s`` < 0.5 s (median);
3. ``targets=["leaf"]``: calls must be exactly the leaf's A*B instances (root and sub come
   from the cache); ``targets=["sub"]`` (without children): exactly the A sub instances.

Then a separate project index gets N fabricated runs (``RunIndex.record_run`` inside one
``transaction()``; N = 10,000, or 1,000 with ``--quick``) and ``RunIndex.runs()`` is timed,
median of ``--repeat``: the whole list newest first (target < 100 ms), the newest 50, and the
newest 50 of one tree. The same query through a bare ``sqlite3`` connection is shown as a
baseline, once as plain tuples and once as ``dict(zip(names, row))`` (``runs()`` builds its
dicts from ``sqlite3.Row``). The index file size is printed.

Each check ends with a ``PASS`` / ``MISS`` line; the exit status is 1 when anything misses.
The temporary folder is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import pstats
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genarun_studio.core.tree import Node, Tree
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.providers.base import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    ImageResponse,
    Provider,
)
from genarun_studio.providers.mock import MockProvider
from genarun_studio.store.project import Project

RERUN_WALL_TARGET_S = 0.5
"""``wall_s`` of a rerun of the unchanged tree (everything from the cache) must stay below."""
LIST_TARGET_MS = 100.0
"""``RunIndex.runs()`` of every run in the index must stay below this (milliseconds)."""
SEED = 7
TREE_IDS = 20
"""Fabricated runs are spread over this many tree ids (``t0`` .. ``t19``)."""


# -- the tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """root ``text-array`` of ``a`` items → sub ``text-array`` of ``b`` items → ``text`` leaf."""

    a: int
    b: int

    @property
    def name(self) -> str:
        return f"{self.a}x{self.b}"

    @property
    def instances(self) -> int:
        return 1 + self.a + self.a * self.b

    def per_node(self) -> dict[str, int]:
        return {"root": 1, "sub": self.a, "leaf": self.a * self.b}


SMALL = Shape(10, 10)
LARGE = Shape(50, 20)


def build_tree(shape: Shape) -> Tree:
    leaf = Node(
        id="leaf",
        type="text",
        config={"prompt": "Write one sentence about ${item} (item ${index})."},
    )
    sub = Node(
        id="sub",
        type="text-array",
        config={
            "prompt": f"List {shape.b} short titles of stories about ${{item}}.",
            "validation": {"min_items": shape.b, "max_items": shape.b},
        },
        children=[leaf],
    )
    root = Node(
        id="root",
        type="text-array",
        config={
            "prompt": f"List {shape.a} short titles of stories about ${{topic}}.",
            "validation": {"min_items": shape.a, "max_items": shape.a},
        },
        children=[sub],
    )
    return Tree(
        id=f"store_{shape.name}",
        name=f"store benchmark {shape.name}",
        inputs={"topic": {"type": "string", "default": "lighthouses"}},
        seed=1,
        nodes=[root],
    )


# -- the counting provider ---------------------------------------------------------------


class CountingProvider(Provider):
    """Answers through the mock provider and counts chat calls per node id."""

    name = "counting"

    def __init__(self) -> None:
        self.mock = MockProvider()
        self.calls: Counter[str] = Counter()

    async def chat(self, request: ChatRequest) -> ChatResponse:
        # seed_key is "<seed>:<instance key>:<part>"; the key ends in the node id.
        key = request.seed_key.split(":", 1)[-1].rsplit(":", 1)[0]
        self.calls[key.rsplit("/", 1)[-1]] += 1
        return await self.mock.chat(request)

    async def image(self, request: ImageRequest) -> ImageResponse:
        self.calls["<image>"] += 1
        return await self.mock.image(request)


# -- engine runs -------------------------------------------------------------------------


def _timed(method: Callable[..., Any], totals: dict[str, float], key: str) -> Any:
    """``method``, adding its duration to ``totals[key]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - started

    return wrapper


@dataclass
class Sample:
    label: str
    counts: dict[str, int]
    calls: dict[str, int]
    wall_s: float
    """``RunSummary.wall_s``: start of execution until the last instance ended."""
    total_s: float
    """``Engine.prepare`` + ``Run.wait``: final writes and ``latest/`` included."""
    cache_s: float
    """``ResultCache.get`` (a SELECT on the index's ``results`` table)."""
    journal_s: float
    """``RunFolder.append_journal``, the index insert included."""
    index_s: float
    """``RunIndex.record_instance`` (the part of the journal time spent in SQLite)."""

    @property
    def n_calls(self) -> int:
        return sum(self.calls.values())


async def run_tree(
    label: str,
    shape: Shape,
    root: Path,
    options: RunOptions,
    profiler: cProfile.Profile | None = None,
) -> Sample:
    """One run on a new Engine over a new Project object (a fresh index connection)."""
    provider = CountingProvider()
    project = Project(root)
    try:
        engine = Engine(project=project, providers={"openai": lambda profile: provider})
        totals = {"cache": 0.0, "journal": 0.0, "index": 0.0}
        # Instance attributes shadow the methods: only this engine's objects are timed.
        cache: Any = engine.cache
        cache.get = _timed(cache.get, totals, "cache")
        index: Any = project.index
        index.record_instance = _timed(index.record_instance, totals, "index")
        gc.collect()
        started = time.perf_counter()
        run = engine.prepare(build_tree(shape), {}, options)
        folder: Any = run.folder
        folder.append_journal = _timed(folder.append_journal, totals, "journal")
        if profiler is not None:
            profiler.enable()
        try:
            summary = await run.wait()
        finally:
            if profiler is not None:
                profiler.disable()
        total_s = time.perf_counter() - started
    finally:
        project.close()
    if summary.status != "finished":
        raise SystemExit(
            f"{label}: run ended {summary.status} with {summary.counts}; see {summary.run_dir}"
        )
    return Sample(
        label=label,
        counts=summary.counts,
        calls=dict(provider.calls),
        wall_s=summary.wall_s,
        total_s=total_s,
        cache_s=totals["cache"],
        journal_s=totals["journal"],
        index_s=totals["index"],
    )


def median_sample(samples: list[Sample]) -> Sample:
    """The sample with the median wall time (its other fields belong to the same run)."""
    ordered = sorted(samples, key=lambda s: s.wall_s)
    return ordered[(len(ordered) - 1) // 2]


# -- the index ---------------------------------------------------------------------------


def fake_meta(n: int, base: float) -> dict[str, Any]:
    """A ``run.json``-like dict for fabricated run ``n`` (started ``n`` minutes after base)."""
    status = "finished" if n % 10 else ("failed" if n % 20 else "stopped")
    done = 100 + n % 900
    cached = n % 50
    return {
        "run_id": f"t{n % TREE_IDS}/2026-01-01_00-00-{n}",
        "tree_id": f"t{n % TREE_IDS}",
        "tree_name": f"Tree number {n % TREE_IDS}",
        "status": status,
        "mock": n % 3 == 0,
        "seed": n,
        "started_at": base + n * 60.0,
        "ended_at": base + n * 60.0 + 30.0 + n % 17,
        "wall_s": 30.0 + n % 17,
        "instances": {"done": done, "cached": cached, "failed": 1 if status == "failed" else 0},
        "usage": {"input_tokens": done * 120, "output_tokens": done * 45, "images": n % 4},
        "cost_usd": round(done * 0.00021, 6),
        "est_cost_usd": round(done * 0.0002, 6),
        "inputs": {"topic": f"topic {n}", "count": n % 7, "style": "plain"},
    }


def timed_ms(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times), result


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass
class IndexResult:
    n: int
    insert_ms: float
    full_ms: list[float]
    full_rows: int
    first_ms: float
    raw_ms: list[float]
    zip_ms: list[float]
    newest_ms: list[float]
    tree_ms: list[float]
    tree_rows: int
    db_bytes: int
    wal_bytes: int
    plan: str


def bench_index(root: Path, n: int, repeat: int, profiler: cProfile.Profile | None) -> IndexResult:
    project_dir = root / "index-project"
    project = Project(project_dir)
    index = project.index
    assert index is not None
    base = 1_767_225_600.0  # 2026-01-01 00:00 UTC
    metas = [fake_meta(i, base) for i in range(n)]
    run_dirs = [str(project_dir / "trees" / m["run_id"]) for m in metas]
    gc.collect()
    started = time.perf_counter()
    with index.transaction():
        for meta, run_dir in zip(metas, run_dirs, strict=True):
            index.record_run(meta, run_dir)
    insert_ms = (time.perf_counter() - started) * 1000
    project.close()

    # A freshly opened index, as the app or `genarun runs` would see it.
    project = Project(project_dir)
    index = project.index
    assert index is not None
    started = time.perf_counter()
    first = index.runs()
    first_ms = (time.perf_counter() - started) * 1000
    if len(first) != n or first[0]["run_id"] != metas[-1]["run_id"]:
        raise SystemExit(f"runs() returned {len(first)} rows, expected {n}, newest first")

    full_ms, rows = timed_ms(index.runs, repeat)
    newest_ms, _ = timed_ms(lambda: index.runs(limit=50), repeat)
    tree_ms, tree_rows = timed_ms(lambda: index.runs(tree_id="t0", limit=50), repeat)

    sql = "SELECT * FROM runs ORDER BY started_at DESC, run_id DESC"
    raw = sqlite3.connect(index.path)
    try:
        raw_ms, _ = timed_ms(lambda: raw.execute(sql).fetchall(), repeat)

        def zipped() -> list[dict[str, Any]]:
            cursor = raw.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]

        zip_ms, _ = timed_ms(zipped, repeat)
        plan = "; ".join(row[-1] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}"))
    finally:
        raw.close()

    if profiler is not None:
        profiler.enable()
        index.runs()
        profiler.disable()
    project.close()  # the last connection: SQLite checkpoints the WAL into the file
    db = index.path
    wal = db.with_name(db.name + "-wal")
    return IndexResult(
        n=n,
        insert_ms=insert_ms,
        full_ms=full_ms,
        full_rows=len(rows),
        first_ms=first_ms,
        raw_ms=raw_ms,
        zip_ms=zip_ms,
        newest_ms=newest_ms,
        tree_ms=tree_ms,
        tree_rows=len(tree_rows),
        db_bytes=db.stat().st_size,
        wal_bytes=wal.stat().st_size if wal.exists() else 0,
        plan=plan,
    )


# -- reporting ---------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def fmt_counts(counts: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "-"


def mib(size: int) -> str:
    return f"{size / 1024 / 1024:.2f} MiB"


def profile_report(profiler: cProfile.Profile, title: str) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(30)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(20)
    return f"\ncProfile of {title}:\n{out.getvalue()}"


async def bench(args: argparse.Namespace, root: Path) -> int:
    shape = SMALL if args.quick else LARGE
    n_runs = 1_000 if args.quick else 10_000
    repeat = args.repeat
    expected = shape.per_node()
    print(
        f"Genarun store benchmark: python {sys.version.split()[0]}, sqlite "
        f"{sqlite3.sqlite_version}, median of {repeat}"
    )
    print(
        f"  {shape.name}: root text-array({shape.a}) -> sub text-array({shape.b}) -> leaf "
        f"text; {shape.instances} instances; seed {SEED}; counting provider (not mock)"
    )
    print()

    fill = await run_tree("first run", shape, root, RunOptions(seed=SEED))
    if fill.calls != expected:
        raise SystemExit(f"first run made calls {fill.calls}, expected {expected}")
    rerun = median_sample(
        [
            await run_tree("rerun unchanged", shape, root, RunOptions(seed=SEED))
            for _ in range(repeat)
        ]
    )
    leaf = await run_tree("targets=[leaf]", shape, root, RunOptions(seed=SEED, targets=["leaf"]))
    sub = await run_tree("targets=[sub]", shape, root, RunOptions(seed=SEED, targets=["sub"]))
    checks = [
        (rerun, {}),
        (leaf, {"leaf": expected["leaf"]}),
        (sub, {"sub": expected["sub"]}),
    ]
    project_db = root / ".genarun" / "index.sqlite"

    rows = []
    for s, want in [(fill, expected), *checks]:
        n = sum(s.counts.values())
        rows.append(
            [
                s.label,
                str(sum(want.values())),
                str(s.n_calls),
                fmt_counts(s.counts),
                f"{s.wall_s:.3f}",
                f"{s.total_s:.3f}",
                f"{s.wall_s / n * 1000:.3f}",
                f"{s.cache_s / n * 1000:.3f}",
                f"{s.journal_s / n * 1000:.3f}",
                f"{s.index_s / n * 1000:.3f}",
            ]
        )
    print("Runs of the tree in one project (each on a new Engine and Project):")
    print(
        table(
            [
                "run",
                "want calls",
                "calls",
                "instances",
                "wall s",
                "total s",
                "wall ms/inst",
                "cache ms/inst",
                "journal ms/inst",
                "index ms/inst",
            ],
            rows,
        )
    )
    print(
        f"  rerun unchanged: the median of {repeat} reruns by wall; wall: RunSummary.wall_s; "
        "total: Engine.prepare + Run.wait\n"
        "  (final writes and latest/ included); cache: ResultCache.get; journal: "
        "RunFolder.append_journal, of which\n"
        "  index: RunIndex.record_instance. Per instance = divided by all instances of the run "
        "(skipped included)."
    )
    print(f"  project index after {repeat + 3} runs: {mib(project_db.stat().st_size)}")
    print()

    index_profiler = cProfile.Profile() if args.profile else None
    ix = bench_index(root, n_runs, repeat, index_profiler)
    rows = [
        [f"record_run x {ix.n} in one transaction()", str(ix.n), f"{ix.insert_ms:.1f}", "-", "-"],
        ["runs(), first call on a fresh connection", str(ix.n), f"{ix.first_ms:.1f}", "-", "-"],
        [
            "runs() (all, newest first)",
            str(ix.full_rows),
            f"{median(ix.full_ms):.1f}",
            f"{ix.full_ms[0]:.1f}",
            f"< {LIST_TARGET_MS:g}",
        ],
        [
            "  same SQL, bare sqlite3: tuples, fetchall()",
            str(ix.n),
            f"{median(ix.raw_ms):.1f}",
            f"{ix.raw_ms[0]:.1f}",
            "-",
        ],
        [
            "  same SQL, bare sqlite3: dict(zip(names, row))",
            str(ix.n),
            f"{median(ix.zip_ms):.1f}",
            f"{ix.zip_ms[0]:.1f}",
            "-",
        ],
        ["runs(limit=50)", "50", f"{median(ix.newest_ms):.2f}", f"{ix.newest_ms[0]:.2f}", "-"],
        [
            "runs(tree_id='t0', limit=50)",
            str(ix.tree_rows),
            f"{median(ix.tree_ms):.2f}",
            f"{ix.tree_ms[0]:.2f}",
            "-",
        ],
    ]
    print(f"Run index with {ix.n} fabricated runs over {TREE_IDS} trees (ms):")
    print(table(["operation", "rows", "median", "min", "target"], rows))
    print(
        "  the bare sqlite3 rows: a second connection without RunIndex (no sqlite3.Row, no "
        "lock): what SQLite\n  itself costs, and the same dicts built from plain tuples."
    )
    print(
        f"  index file {mib(ix.db_bytes)} ({ix.db_bytes / ix.n:.0f} bytes/run), WAL "
        f"{mib(ix.wal_bytes)} after close; query plan: {ix.plan}"
    )
    print()

    misses = 0
    calls_ok = rerun.n_calls == 0
    wall_ok = rerun.wall_s < RERUN_WALL_TARGET_S
    misses += (not calls_ok) + (not wall_ok)
    print(
        f"rerun unchanged {shape.instances} instances: "
        f"{'PASS' if calls_ok and wall_ok else 'MISS'} - {rerun.n_calls} calls "
        f"({'ok' if calls_ok else 'MISS'}, target 0); wall {rerun.wall_s:.3f} s "
        f"({'ok' if wall_ok else 'MISS'}, target < {RERUN_WALL_TARGET_S:g}; "
        f"{rerun.total_s:.3f} s with prepare and final writes)"
    )
    for s, want in checks[1:]:
        ok = s.calls == want
        misses += not ok
        print(
            f"rerun {s.label}: {'PASS' if ok else 'MISS'} - calls {fmt_counts(s.calls)} "
            f"(target {fmt_counts(want)}, that node's instances only)"
        )
    list_ok = median(ix.full_ms) < LIST_TARGET_MS
    misses += not list_ok
    print(
        f"list {ix.n} runs: {'PASS' if list_ok else 'MISS'} - runs() {median(ix.full_ms):.1f} ms "
        f"(target < {LIST_TARGET_MS:g})"
    )

    if args.profile:
        profiler = cProfile.Profile()
        await run_tree("profiled rerun", shape, root, RunOptions(seed=SEED), profiler)
        print(profile_report(profiler, f"one unchanged rerun of {shape.name}"))
        assert index_profiler is not None
        print(profile_report(index_profiler, f"one runs() of {ix.n} runs"))
    elif misses:
        print("\nrerun with --profile for a cProfile of a cached rerun and of runs()")
    return 1 if misses else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; median (5)")
    parser.add_argument(
        "--quick", action="store_true", help="the 10x10 tree and 1,000 runs in the index"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile one cached rerun and one runs() of the whole index",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    root = Path(tempfile.mkdtemp(prefix="genarun-store-bench-"))
    try:
        return asyncio.run(bench(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
