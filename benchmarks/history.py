"""History benchmark: listing 10,000 runs, opening a 1,000-instance run, a 500-image gallery.

Run it from the repository root (no display needed)::

    .venv/bin/python benchmarks/history.py              # 10,000 runs, 500 images, median of 5
    .venv/bin/python benchmarks/history.py --quick      # 1,000 runs, 100 images
    .venv/bin/python benchmarks/history.py --repeat 9 --keep /tmp/history-project

It makes a temporary project (deleted afterwards unless ``--keep``):

* a real mock run of a tree ``items`` (a template listing N subjects) → per item
  ``picture`` (an image, 256x256) and ``caption`` (a text): 1 + 2N instances (N = 500:
  1,001 instances, 500 images);
* the index then gets fabricated runs (``RunIndex.record_run`` in one transaction, over 20
  tree ids) up to 10,000 runs in all.

Timed, each as the median of ``--repeat`` (widgets shown offscreen at 1400x500):

1. **listing**: ``RunHistoryPanel.refresh()`` — the index query, the model reset, the
   filters' choices — for 10,000 runs. Target < 100 ms.
2. **opening a run**: ``RunDetail.show_run()`` of the 1,001-instance run (timeline of
   1,001 bars, node table, output tree), and the Logs tab's first load. Target < 300 ms for
   ``show_run``.
3. **gallery**: ``AssetGallery.show_run()`` plus the first paint of the grid (time to first
   paint), then the time until every thumbnail is made in the background, with an empty
   thumbnail cache (cold) and with the cache filled (warm). While the cold thumbnails are
   being made, the grid is scrolled a page at a time and each repaint is timed (the UI
   thread's frame time: smooth means well under 16 ms).

Each check ends with ``PASS`` / ``MISS``; the exit status is 1 when anything misses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def image_tree(count: int) -> dict[str, Any]:
    return {
        "format": "genarun/1",
        "id": "gallery",
        "name": "Benchmark gallery",
        "models": {
            "image": {"provider": "openai", "model": "gpt-image-1"},
            "text": {"provider": "openai", "model": "gpt-4o-mini"},
        },
        "nodes": [
            {
                "id": "items",
                "type": "template",
                "config": {"value": [f"subject {n}" for n in range(count)]},
                "children": [
                    {
                        "id": "picture",
                        "type": "image",
                        "config": {
                            "prompt": "A [red | blue] drawing of ${items}",
                            "size": "256x256",
                        },
                    },
                    {
                        "id": "caption",
                        "type": "text",
                        "config": {"prompt": "A one-line caption for a drawing of ${items}"},
                    },
                ],
            }
        ],
    }


def make_project(root: Path, images: int, runs: int) -> str:
    from genarun_studio.core.formats import loads_tree
    from genarun_studio.engine import Engine, RunOptions
    from genarun_studio.store import Project

    project = Project(root)
    tree = loads_tree(json.dumps(image_tree(images)).encode(), file="benchmark")
    started = time.perf_counter()
    summary = asyncio.run(Engine(project=project).run(tree, {}, RunOptions(mock=True, seed=1)))
    print(
        f"mock run: {sum(summary.counts.values())} instances, {images} images "
        f"in {time.perf_counter() - started:.1f} s ({summary.run_id})"
    )
    index = project.index
    assert index is not None
    started = time.perf_counter()
    with index.transaction():
        for n in range(runs - 1):
            tree_id = f"tree{n % 20}"
            index.record_run(
                {
                    "run_id": f"{tree_id}/2026-01-01_00-00-{n:05d}",
                    "tree_id": tree_id,
                    "status": "finished" if n % 10 else "failed",
                    "started_at": 1_760_000_000 + n * 60,
                    "wall_s": 12.5,
                    "instances": {"done": 40, "failed": n % 3},
                    "usage": {"input_tokens": 1000, "output_tokens": 500},
                    "cost_usd": 0.0123,
                    "inputs": {"topic": f"topic {n}"},
                },
                str(root / "trees" / tree_id / f"r{n}"),
            )
    print(f"index: {runs:,} runs recorded in {time.perf_counter() - started:.2f} s")
    project.close()
    return summary.run_id


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 runs and 100 images")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="make the project here and keep it")
    args = parser.parse_args()
    runs, images = (1_000, 100) if args.quick else (10_000, 500)

    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from genarun_studio.qt.panels.assets import AssetGallery, wait_for_thumbnails
    from genarun_studio.qt.panels.history import RunHistoryPanel
    from genarun_studio.qt.panels.rundetail import RunDetail
    from genarun_studio.store import Project

    app = QApplication.instance() or QApplication([])
    root = args.keep or Path(tempfile.mkdtemp(prefix="genarun-history-bench-"))
    if args.keep and args.keep.exists():
        shutil.rmtree(args.keep)
    results: list[tuple[str, bool]] = []
    try:
        run_id = make_project(root, images, runs)
        project = Project(root)
        index = project.index
        assert index is not None

        # 1. listing
        panel = RunHistoryPanel(None)
        panel.resize(1400, 500)
        panel.show()
        panel.set_index(index)
        samples = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            panel.refresh()
            samples.append(time.perf_counter() - started)
        query = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            index.runs()
            query.append(time.perf_counter() - started)
        listing = median_ms(samples)
        print(
            f"\nlisting {panel.model.rowCount():,} runs: refresh {listing:.1f} ms "
            f"(of which RunIndex.runs() {median_ms(query):.1f} ms)"
        )
        results.append((f"listing {runs:,} runs < 100 ms", listing < 100))
        panel.close()

        # 2. opening a run
        detail = RunDetail(index)
        detail.resize(1400, 500)
        detail.show()
        samples, logs = [], []
        for _ in range(args.repeat):
            detail.clear()
            QCoreApplication.processEvents()
            started = time.perf_counter()
            detail.show_run(run_id)
            samples.append(time.perf_counter() - started)
            started = time.perf_counter()
            detail.show_logs()
            logs.append(time.perf_counter() - started)
            detail.tabs.setCurrentIndex(0)
        opening = median_ms(samples)
        count = len(index.instances(run_id))
        print(
            f"opening a run of {count:,} instances: show_run {opening:.1f} ms "
            f"({len(detail.timeline_bars()):,} bars); Logs tab first load {median_ms(logs):.1f} ms"
        )
        results.append((f"opening a run of {count:,} instances < 300 ms", opening < 300))
        detail.close()

        # 3. gallery
        thumbs = root / ".genarun" / "thumbs"
        for label in ("cold", "warm"):
            if label == "cold":
                shutil.rmtree(thumbs, ignore_errors=True)
            gallery = AssetGallery(index)
            gallery.resize(1400, 500)
            gallery.show()
            QCoreApplication.processEvents()
            started = time.perf_counter()
            gallery.show_run(run_id)
            gallery.view.viewport().repaint()
            first_paint = time.perf_counter() - started
            frames: list[float] = []
            if label == "cold":
                bar = gallery.view.verticalScrollBar()
                while bar.value() < bar.maximum() and not gallery.model.complete:
                    QCoreApplication.processEvents()
                    bar.setValue(bar.value() + bar.pageStep() // 2)
                    tick = time.perf_counter()
                    gallery.view.viewport().repaint()
                    frames.append(time.perf_counter() - tick)
                    time.sleep(0.01)
            wait_for_thumbnails(gallery, timeout_s=600)
            all_made = time.perf_counter() - started
            print(
                f"gallery of {gallery.model.rowCount()} images ({label} cache): first paint "
                f"{first_paint * 1000:.1f} ms, all thumbnails made after {all_made:.2f} s "
                f"({gallery.model.made} made)"
            )
            if frames:
                print(
                    f"  scrolling while thumbnails are made: {len(frames)} repaints, median "
                    f"{median_ms(frames):.1f} ms, max {max(frames) * 1000:.1f} ms"
                )
                results.append(
                    ("gallery repaint while scrolling < 16 ms (median)", median_ms(frames) < 16)
                )
            results.append((f"gallery first paint < 300 ms ({label})", first_paint < 0.3))
            gallery.close()
        project.close()
        del app
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print()
    for name, ok in results:
        print(f"{'PASS' if ok else 'MISS'}  {name}")
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
