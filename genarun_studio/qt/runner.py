"""Runs from the editor: the engine on the qasync loop, its events as Qt signals.

The UI never blocks: the engine is asyncio, and qasync runs asyncio on Qt's event loop, so
a run's tasks and the widgets share one thread and events arrive as plain calls.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6 import QtCore

from genarun_studio.core.tree import Tree
from genarun_studio.engine import Engine, Run, RunOptions, RunSummary
from genarun_studio.engine import events as ev
from genarun_studio.engine.instance import NodeInstance
from genarun_studio.profiles import load_profiles
from genarun_studio.store import Project

__all__ = ["RunController", "node_summaries", "node_summary"]


def node_summaries(
    run: Run, node_ids: Iterable[str]
) -> dict[str, tuple[str | None, str, Path | None]]:
    """:func:`node_summary` of several nodes with one pass over the run's instances (a big
    run has tens of thousands, and the status of hundreds of nodes changes per tick)."""
    wanted = set(node_ids)
    by_node: dict[str, list[NodeInstance]] = {n: [] for n in wanted}
    for inst in run.instances.values():
        if inst.node_id in wanted:
            by_node[inst.node_id].append(inst)
    return {n: _summary(run, instances) for n, instances in by_node.items()}


def node_summary(run: Run, node_id: str) -> tuple[str | None, str, Path | None]:
    """A node's state across its instances: (state, ``done 7/10``-style text, last image)."""
    return node_summaries(run, [node_id])[node_id]


def _summary(run: Run, instances: list[NodeInstance]) -> tuple[str | None, str, Path | None]:
    if not instances:
        return None, "", None
    counts = Counter(i.state for i in instances)
    total = len(instances)
    finished = counts["done"] + counts["cached"]
    for state in ("running", "failed", "queued", "stopped", "waiting"):
        if counts[state]:
            break
    else:
        state = (
            "cached"
            if counts["cached"] and not counts["done"]
            else ("done" if finished else ("skipped" if counts["skipped"] else "queued"))
        )
    text = f"{state} {finished}/{total}" if total > 1 else state
    if counts["failed"] and total > 1:
        text += f" · {counts['failed']} failed"
    image = None
    for inst in reversed(list(instances)):
        if inst.assets and inst.has_output:
            image = run.folder.path / inst.assets[-1]
            break
    return state, text, image


class RunController(QtCore.QObject):
    """Starts, pauses, steps and stops runs; re-emits the engine's events as signals."""

    runStarted = QtCore.Signal(object)
    """The Run."""
    runFinished = QtCore.Signal(object)
    """The RunSummary."""
    runFailed = QtCore.Signal(str)
    """The run could not end normally (the message says why)."""
    engineEvent = QtCore.Signal(object)  # not "event": that would hide QObject.event()
    """Every engine event, as it happens."""
    nodesChanged = QtCore.Signal(set)
    """Node ids whose instances changed since the last signal (at most 10 times a second)."""

    def __init__(self, project: Path, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.project = Project(project)
        self.engine = Engine(project=self.project)
        self.run: Run | None = None
        self._task: asyncio.Task[RunSummary] | None = None
        self._dirty_nodes: set[str] = set()
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._flush)

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, tree: Tree, inputs: dict[str, Any], options: RunOptions) -> Run:
        """Prepare and start a run; raises InputError / RunError / ProfilesError before
        anything runs."""
        if self.busy:
            raise RuntimeError("a run is already going")
        self.engine.profiles = load_profiles()  # as the settings have them now
        run = self.engine.prepare(
            tree.model_copy(deep=True), inputs, options, tree_id=tree.id or "untitled"
        )
        return self._launch(run)

    def continue_run(self, run_id: str) -> Run:
        """Resume a past run of the project in its own folder (one that stopped, failed, or
        ended waiting for answers): finished instances come from its journal, and a human
        node finds the answer given since. Raises RunError (e.g. the run is live elsewhere)."""
        if self.busy:
            raise RuntimeError("a run is already going")
        self.engine.profiles = load_profiles()
        return self._launch(self.engine.prepare_resume(run_id))

    def _launch(self, run: Run) -> Run:
        self.run = run
        run.subscribe(self._on_event)
        self._timer.start()
        self.runStarted.emit(run)
        self._task = asyncio.ensure_future(run.wait())
        self._task.add_done_callback(self._done)
        return run

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.InstanceEvent):
            self._dirty_nodes.add(event.node_id)
        self.engineEvent.emit(event)

    def _flush(self) -> None:
        if self._dirty_nodes:
            nodes, self._dirty_nodes = self._dirty_nodes, set()
            self.nodesChanged.emit(nodes)

    def _done(self, task: asyncio.Task[RunSummary]) -> None:
        self._flush()
        self._timer.stop()
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:  # a bug or a disk error at the end: never leave the UI "running"
            self.runFailed.emit(f"{type(error).__name__}: {error}")
            return
        self.runFinished.emit(task.result())

    def pause(self) -> None:
        if self.run is not None:
            self.run.pause()

    def resume(self) -> None:
        if self.run is not None:
            self.run.resume()

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()

    def step(self) -> str | None:
        return self.run.step() if self.run is not None else None

    async def wait(self) -> RunSummary | None:
        return await self._task if self._task is not None else None
