"""Executing a tree: the scheduler behind :class:`Run`.

Every node instance is an asyncio task. A child's instances are created the moment its
parent instance finishes (no level-by-level barrier), one per item when the parent's output
is an array. Instances wait for a slot of their node type's lane (``text``, ``image``,
``http``, ``local``, ...), so lanes bound concurrency independently. ``pause()`` stops new
instances from starting while running ones finish; ``stop()`` cancels what runs. Each
finished instance is journaled before it counts as done.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import time
import traceback
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from genarun_studio import __version__
from genarun_studio.core.formats import dumps_tree
from genarun_studio.core.nodetype import NodeType
from genarun_studio.core.ordering import after_problems, watched_nodes
from genarun_studio.core.outputs import build_output
from genarun_studio.core.registry import Registry
from genarun_studio.core.textsafe import scrub
from genarun_studio.core.tree import MAX_SEED, Node, RunLimits, Tree
from genarun_studio.engine import events as ev
from genarun_studio.engine.cache import CachedResult, MemoryCache, ResultCache, signature
from genarun_studio.engine.context import InstanceContext
from genarun_studio.engine.cost import Pricing
from genarun_studio.engine.human import HumanDesk
from genarun_studio.engine.instance import NodeInstance, child_key
from genarun_studio.errors import BudgetReached, GenarunError, LimitError, RunError
from genarun_studio.providers.base import Usage
from genarun_studio.providers.registry import ProviderSet
from genarun_studio.store.runfolder import RunFolder

__all__ = ["Run", "RunOptions", "RunSummary"]

log = logging.getLogger(__name__)
Subscriber = Callable[[ev.Event], None]


ADMIT_PER_TURN = 64
"""How many instances may begin per turn of the event loop (see :meth:`Run._admit`)."""


class RunOptions(BaseModel):
    """How to run a tree; recorded in ``run.json``."""

    model_config = ConfigDict(extra="forbid")

    seed: int | None = Field(None, ge=-MAX_SEED - 1, le=MAX_SEED)
    """A 64-bit integer, what ``run.json`` and the index can record (new seeds, from a tree
    or ``--seed``, are 0..2**63 - 1; a run made with a negative one still resumes).
    None: the tree's seed, else a fresh random one (recorded, so the run can be repeated)."""
    mock: bool = False
    targets: list[str] = Field(default_factory=list)
    """Run only these node ids (empty: the whole tree); ancestors come from the cache."""
    with_children: bool = False
    """With targets: run their subtrees too."""
    force: list[str] = Field(default_factory=list)
    """Node ids never taken from the cache."""
    no_cache: bool = False
    concurrency: dict[str, int] = Field(default_factory=dict)
    """Per-lane limits over the tree's ``limits.concurrency``."""
    budget_usd: float | None = Field(None, ge=0)
    """Stop before a call would pass this cost (over the tree's ``limits.budget_usd``)."""
    dry_run: bool = False
    """Plan every call on the mock provider and price it at the real models' prices."""
    auto_answer: bool = False
    """Answer every human request at once (its default, else a fixed choice): for tests,
    demos and unattended mock runs."""


@dataclass
class RunSummary:
    run_id: str
    status: str
    run_dir: str
    counts: dict[str, int]
    wall_s: float
    seed: int
    mock: bool
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "run_dir": self.run_dir,
            "instances": self.counts,
            "wall_s": round(self.wall_s, 4),
            "seed": self.seed,
            "mock": self.mock,
            "usage": self.usage.model_dump(),
            "cost_usd": self.cost_usd,
        }


def tree_hash(tree: Tree) -> str:
    return hashlib.sha256(dumps_tree(tree).encode()).hexdigest()[:16]


class Run:
    """One execution of a tree. Create with :meth:`Engine.start`; await :meth:`wait`."""

    def __init__(
        self,
        tree: Tree,
        *,
        tree_id: str,
        inputs: dict[str, Any],
        options: RunOptions,
        registry: Registry,
        providers: ProviderSet,
        cache: ResultCache | None,
        folder: RunFolder,
        pricing: Pricing | None = None,
        prior: dict[str, dict[str, Any]] | None = None,
        previous: dict[str, Any] | None = None,
        spent: tuple[Usage, float] | None = None,
    ) -> None:
        self.tree = tree
        self.tree_id = tree_id
        self.inputs = scrub(inputs)[0]
        """Unpaired surrogates (from a non-UTF-8 command line or a ``\ud800`` in a JSON
        file) are replaced: every input must be writable to ``run.json``."""
        self.options = options
        self.registry = registry
        self.pricing = pricing or Pricing.load()
        self._prior = prior or {}
        """Journal records of a run being resumed: instance key → its finished record."""
        self.providers = providers
        self.cache: ResultCache = cache if cache is not None else MemoryCache()
        self.folder = folder
        self.id = folder.run_id
        self.seed = (
            options.seed
            if options.seed is not None
            else (tree.seed if tree.seed is not None else secrets.randbits(31))
        )
        self.limits: RunLimits = tree.limits
        self.status = "pending"
        self.instances: dict[str, NodeInstance] = {}
        self.roots: list[NodeInstance] = []
        self.usage = spent[0] if spent else Usage()
        self.cost_usd = spent[1] if spent else 0.0
        """Totals; on resume they start with what failed attempts of earlier sessions spent."""
        self._subscribers: list[Subscriber] = []
        self._resume = asyncio.Event()
        self._resume.set()
        self._wake = asyncio.Condition()
        """Notified whenever pause, resume, step or stop may let a waiting instance go."""
        self._step_node: str | None = None
        self._step_armed = False
        """A step asked for before the run queued anything: the first node queued is it."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._admit_budget = 0
        self._admit_waiters: deque[asyncio.Future[None]] = deque()
        self._admit_armed = False
        self._main: asyncio.Task[RunSummary] | None = None
        self._stop_reason: str | None = None
        self._halted = False
        self._started = 0.0
        self._started_wall = 0.0
        self._previous = previous
        """``run.json`` of the run being resumed."""
        self._resumes = int(previous.get("resumes") or 0) + 1 if previous else 0
        self.reserved_usd = 0.0
        """Estimated cost of the calls in flight (held against the budget)."""
        self.budget_note: str | None = None
        """Set once a call was refused for the budget: no further call starts."""
        self._lanes = {
            lane: asyncio.Semaphore(options.concurrency.get(lane, tree.limits.lane_limit(lane)))
            for lane in {
                *tree.limits.concurrency,
                *options.concurrency,
                "text",
                "image",
                "http",
                "local",
                "human",
            }
        }
        self._held: dict[str, asyncio.Semaphore] = {}
        """Instance key → the lane slot it holds while it runs (not while it backs off)."""
        self.refused_keys: dict[tuple[str, str, str], str] = {}
        """(provider, endpoint, key name) → why its key was refused (a 401): no further
        call with that key is made in this run."""
        self._configs: dict[str, Any] = {}
        self._selection = self._select()
        waits = after_problems(tree)
        if waits:
            raise RunError("; ".join(f"node {nid!r}: {msg}" for nid, msg in waits))
        self._watched = watched_nodes(tree)
        """Node id → ids whose unfinished instances it waits for (``after:``)."""
        self.after_waiting: set[str] = set()
        """Keys of instances waiting for the nodes in their ``after:``."""
        self.human = HumanDesk(self)
        """Requests to people: ``run.human.answer(key, value, who=..., channel=...)``."""

    # -- public API -------------------------------------------------------------------

    @property
    def mock(self) -> bool:
        return self.options.mock

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` for every event from now on; returns an unsubscriber."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    async def events(self) -> AsyncIterator[ev.Event]:
        """Every event from now until the run ends (``RunFinished`` is the last)."""
        queue: asyncio.Queue[ev.Event] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            if self.status in ("finished", "failed", "stopped") or (
                self._main is not None and self._main.done()  # also a run ended waiting
            ):
                return
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, ev.RunFinished):
                    return
        finally:
            unsubscribe()

    def start(self) -> None:
        """Begin executing on the running event loop."""
        if self._main is not None:
            raise RunError(f"run {self.id} has already started")
        self._loop = asyncio.get_running_loop()
        self._main = self._loop.create_task(self._execute())

    async def wait(self) -> RunSummary:
        """Wait for the run to end (finished, failed or stopped) and return its summary."""
        if self._main is None:
            self.start()
        assert self._main is not None
        return await asyncio.shield(self._main)

    def pause(self) -> None:
        """No new instance starts; running ones finish. A run paused before it starts
        starts paused (so a user can step through it from the first node)."""
        if self.status in ("running", "pending"):
            self._resume.clear()
            self.status = "paused"
            self._emit(ev.RunPaused(run_id=self.id))

    def resume(self) -> None:
        if self.status == "paused":
            self.status = "running"
            self._step_node = None
            self._step_armed = False
            self._resume.set()
            self._notify()
            self._emit(ev.RunResumed(run_id=self.id))

    def step(self) -> str | None:
        """Run the next node — all of its ready instances — then stay paused.

        The next node is the one whose instance has waited longest. Returns its id, or None
        when nothing is waiting (the run keeps going if it was not paused: it pauses first).
        """
        if self.status == "running":
            self.pause()
        if self.status != "paused":
            return None
        waiting = [i for i in self.instances.values() if i.state == "queued"]
        if not waiting:
            if not self.instances:  # started paused, nothing queued yet: step the first one
                self._step_armed = True
            return None
        first = min(waiting, key=lambda i: (i.queued_at or 0.0, i.key))
        self._step_node = first.node_id
        self.instance_log(None, f"stepping through {first.node_id}", "info")
        self._notify()
        return first.node_id

    def _notify(self) -> None:
        async def wake() -> None:
            async with self._wake:
                self._wake.notify_all()

        if self._loop is not None and not self._loop.is_closed():
            # also when called from outside the loop (a UI action, a test)
            self._loop.call_soon_threadsafe(lambda: self._loop.create_task(wake()))  # type: ignore[union-attr]

    def _may_start(self, node_id: str) -> bool:
        if self._resume.is_set() or self._step_node == node_id:
            return True
        if self._step_armed and self._step_node is None:  # the first node to ask is the step
            self._step_armed = False
            self._step_node = node_id
            self.instance_log(None, f"stepping through {node_id}", "info")
            return True
        return False

    async def _allowed(self, node_id: str) -> None:
        """Wait until the run is running, or stepping through ``node_id``."""
        if self._may_start(node_id):
            return
        async with self._wake:
            await self._wake.wait_for(lambda: self._may_start(node_id))

    def _step_done(self, node_id: str) -> None:
        """End a step once no instance of its node waits or runs."""
        if self._step_node != node_id:
            return
        busy = any(
            i.node_id == node_id and i.state in ("queued", "running")
            for i in self.instances.values()
        )
        if not busy:
            self._step_node = None
            self._emit(ev.RunPaused(run_id=self.id))

    def stop(self, reason: str = "stopped by the user") -> None:
        """Cancel running calls; everything finished is already journaled."""
        if self.status in ("finished", "failed", "stopped"):
            return
        if self._stop_reason and not self.budget_note:
            return
        self._stop_reason = reason
        self._cancel_all()

    def counts(self) -> dict[str, int]:
        return dict(Counter(i.state for i in self.instances.values()))

    # -- events ------------------------------------------------------------------------

    def _emit(self, event: ev.Event) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken view must not break the run
                log.exception("event subscriber failed on %s", type(event).__name__)

    def instance_progress(self, inst: NodeInstance, message: str, attempt: int = 1) -> None:
        inst.logs.append({"at": time.time(), "level": "info", "message": message})
        self._emit(
            ev.InstanceProgress(
                run_id=self.id, key=inst.key, node_id=inst.node_id, message=message, attempt=attempt
            )
        )

    def instance_log(self, inst: NodeInstance | None, message: str, level: str) -> None:
        if inst is not None:
            inst.logs.append({"at": time.time(), "level": level, "message": message})
        self._emit(
            ev.LogEvent(
                run_id=self.id, level=level, message=message, key=inst.key if inst else None
            )
        )

    @property
    def budget_usd(self) -> float | None:
        if self.options.budget_usd is not None:
            return self.options.budget_usd
        return self.limits.budget_usd

    def add_usage(self, usage: Usage, cost: float = 0.0) -> None:
        self.usage = self.usage + usage
        self.cost_usd += cost
        self._emit(ev.CostUpdate(run_id=self.id, total_usd=self.cost_usd, usage=self.usage))

    # -- selection ---------------------------------------------------------------------

    def _select(self) -> dict[str, str]:
        """Node id → ``run`` (execute), ``ancestor`` (from cache if possible) or ``skip``."""
        nodes = {n.id: n for n in self.tree.walk()}
        if not self.options.targets:
            return dict.fromkeys(nodes, "run")
        unknown = [t for t in self.options.targets if t not in nodes]
        if unknown:
            raise RunError(f"no node with id {', '.join(map(repr, unknown))} in the tree")
        selection = dict.fromkeys(nodes, "skip")
        for target in self.options.targets:
            for ancestor in self.tree.ancestors(target):
                if selection[ancestor.id] == "skip":
                    selection[ancestor.id] = "ancestor"
            selection[target] = "run"
            if self.options.with_children:
                for node in nodes[target].walk():
                    selection[node.id] = "run"
        return selection

    # -- execution ---------------------------------------------------------------------

    async def _execute(self) -> RunSummary:
        if self.status == "pending":
            self.status = "running"
        self._started = time.monotonic()
        self._started_wall = time.time()
        if self._previous and self._previous.get("started_at"):
            self._started_wall = float(self._previous["started_at"])
        self._write_run_json()
        self._emit(
            ev.RunStarted(
                run_id=self.id,
                tree_id=self.tree_id,
                seed=self.seed,
                mock=self.mock,
                run_dir=str(self.folder.path),
            )
        )
        base = dict(self.inputs)
        for root in self.tree.nodes:
            inst = self._schedule(root, None, None, base)
            if inst is not None:
                self.roots.append(inst)
        try:
            if self._tasks:
                await self._idle.wait()
        except asyncio.CancelledError:
            self._stop_reason = self._stop_reason or "cancelled"
            self._cancel_all()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*self._tasks, return_exceptions=True)
        return await self._finish()

    def _cancel_all(self) -> None:
        self._resume.set()
        self._notify()
        for task in list(self._tasks):
            task.cancel()

    def _schedule(
        self,
        node: Node,
        parent: NodeInstance | None,
        item_index: int | None,
        context: dict[str, Any],
        fields: dict[str, Any] | None = None,
    ) -> NodeInstance | None:
        key = child_key(parent, item_index, node)
        inst = NodeInstance(
            key=key,
            node=node,
            parent=parent,
            item_index=item_index,
            context=context,
            fields=fields or {},
        )
        self.instances[key] = inst
        if parent is not None:
            parent.children.append(inst)
        if not node.enabled:
            self._skip(inst, "disabled")
            return inst
        if self._stop_reason is not None:
            inst.state = "stopped"  # the run is stopping: nothing new starts
            return inst
        if self._selection.get(node.id) == "skip":
            self._skip(inst, "not selected", quiet=True)
            return inst
        try:
            inst.lane = self.registry.get(node.type).lane
        except GenarunError:
            inst.lane = "local"
        task = asyncio.get_running_loop().create_task(self._run_instance(inst), name=key)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return inst

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._watched:
            self._notify()  # an instance ended: a node waiting with ``after:`` may go
        if self._step_node is not None:
            self._step_done(self._step_node)
        if not task.cancelled() and task.exception() is not None:  # pragma: no cover - bug
            log.error("instance task %s crashed", task.get_name(), exc_info=task.exception())
        self.human.check()
        if not self._tasks:
            self._idle.set()

    def _skip(self, inst: NodeInstance, reason: str, quiet: bool = False) -> None:
        inst.state = "skipped"
        inst.error = reason
        if not quiet:
            self._emit(
                ev.InstanceSkipped(
                    run_id=self.id, key=inst.key, node_id=inst.node_id, reason=reason
                )
            )
        for child in inst.node.children:
            sub = NodeInstance(
                key=child_key(inst, None, child),
                node=child,
                parent=inst,
                item_index=None,
                context={},
            )
            self.instances[sub.key] = sub
            inst.children.append(sub)
            self._skip(
                sub, f"{reason} ({inst.node_id})" if reason != "not selected" else reason, quiet
            )

    def _config(self, node: Node, node_type: NodeType) -> Any:  # type: ignore[type-arg]
        if node.id not in self._configs:
            self._configs[node.id] = node_type.parse_config(node.config)
        return self._configs[node.id]

    async def _gate(self, lane: str, node_id: str) -> asyncio.Semaphore:
        """Wait until the run is not paused and a slot of ``lane`` is free; hold the slot."""
        semaphore = self._lanes.setdefault(lane, asyncio.Semaphore(self.limits.lane_limit(lane)))
        while True:
            await self._allowed(node_id)
            await semaphore.acquire()
            if self._may_start(node_id):
                return semaphore
            semaphore.release()

    async def lane_sleep(self, inst: NodeInstance, seconds: float) -> None:
        """Wait ``seconds`` (a retry's backoff) without holding the instance's lane slot:
        others of the lane run meanwhile; the slot is taken again before the next attempt.
        """
        held = self._held.pop(inst.key, None)
        if held is None:  # not holding one (an index update, a test call): just wait
            await asyncio.sleep(seconds)
            return
        held.release()
        await asyncio.sleep(seconds)
        self._held[inst.key] = await self._gate(inst.lane, inst.node_id)

    async def _admit(self) -> None:
        """Wait for a place among the instances that begin in this turn of the event loop.

        A fan-out over thousands of items starts an instance task for each at once; begun in
        one turn (plan, cache look-up, the queued event each), they would hold the loop — in
        the editor, its window — for seconds. At most :data:`ADMIT_PER_TURN` begin per turn.
        """
        if self._admit_budget > 0 and not self._admit_waiters:
            self._admit_budget -= 1
            self._arm_admit()
            return
        waiter = asyncio.get_running_loop().create_future()
        self._admit_waiters.append(waiter)
        self._arm_admit()
        await waiter

    def _arm_admit(self) -> None:
        if not self._admit_armed:
            self._admit_armed = True
            asyncio.get_running_loop().call_soon(self._admit_turn)

    def _admit_turn(self) -> None:
        self._admit_armed = False
        self._admit_budget = ADMIT_PER_TURN
        while self._admit_budget > 0 and self._admit_waiters:
            waiter = self._admit_waiters.popleft()
            if not waiter.done():  # a cancelled instance gives its place away
                waiter.set_result(None)
                self._admit_budget -= 1
        if self._admit_waiters:
            self._arm_admit()

    async def _run_instance(self, inst: NodeInstance) -> None:
        node = inst.node
        await self._admit()
        inst.state = "queued"
        inst.queued_at = time.time()
        self._emit(ev.InstanceQueued(run_id=self.id, key=inst.key, node_id=node.id, lane=inst.lane))
        try:
            await self._allowed(node.id)
            if node.id in self._watched:
                await self._wait_after(inst)
            node_type = self.registry.get(node.type)
            config = self._config(node, node_type)
            missing = [n for n in node.required_inputs if inst.context.get(n) in (None, "", [])]
            if missing:
                raise RunError(f"required input(s) missing or empty: {', '.join(missing)}")
            ctx = InstanceContext(self, inst)
            inst.plan = node_type.plan(ctx, config)
            inst.signature = signature(
                node_type.type_id,
                node_type.version,
                node.config,
                inst.plan,
                inst.key,
                mock_seed=self.seed if self.mock else None,
            )
            prior = self._prior.get(inst.key)
            if prior is not None and prior.get("signature") == inst.signature:
                self._restore(inst, prior)
                return
            if node_type.cacheable and self._use_cache(node):
                hit = self.cache.get(inst.signature)
                if hit is not None and self._usable(hit):
                    if node.index_output:
                        await self._index_output(inst, hit.output)
                    self._reuse(inst, hit)
                    return
            if self._selection.get(node.id) == "ancestor" and node_type.cacheable:
                self.instance_log(
                    inst,
                    f"{node.id} is not in the cache; running it to get "
                    "the context its selected descendants need",
                    "warning",
                )
            self._held[inst.key] = await self._gate(inst.lane, node.id)
            try:
                inst.state = "running"
                inst.started_at = time.time()
                self._emit(
                    ev.InstanceStarted(
                        run_id=self.id, key=inst.key, node_id=node.id, lane=inst.lane
                    )
                )
                output = await node_type.run(ctx, config, inst.plan)
            finally:
                held = self._held.pop(inst.key, None)
                if held is not None:
                    held.release()
            # outputs must be JSON and of a bounded size: fail here, not when writing files
            self._check_output_size(node.id, output)
            if node.index_output:
                await self._index_output(inst, output)
        except asyncio.CancelledError:
            inst.state = "stopped"
            inst.ended_at = time.time()
            raise
        except BudgetReached as exc:
            inst.state = "stopped"
            inst.ended_at = time.time()
            self.instance_log(inst, str(exc), "warning")
            if self._stop_reason is None:
                self._stop_reason = f"budget reached: {exc}"  # no new calls; none cancelled
            return
        except GenarunError as exc:
            self._fail(inst, str(exc))
            return
        except Exception as exc:
            inst.logs.append(
                {"at": time.time(), "level": "error", "message": traceback.format_exc()}
            )
            self._fail(inst, f"internal error: {type(exc).__name__}: {exc}")
            return
        inst.ended_at = time.time()
        inst.output = output
        inst.state = "done"
        inst.fanned_out = self._fans_out(inst)
        self._make_writable(inst)
        output = inst.output
        try:
            self.folder.append_journal(inst.record())
        except Exception as exc:  # a result that cannot be kept must not count as done
            self._fail(inst, f"could not record the result ({type(exc).__name__}: {exc})")
            return
        if node.cache and node_type.cacheable and inst.signature:
            self.cache.put(
                inst.signature,
                CachedResult(
                    output=output,
                    run_id=self.id,
                    source_dir=str(self.folder.path),
                    assets=tuple(inst.assets),
                ),
            )
        self._emit(
            ev.InstanceFinished(
                run_id=self.id,
                key=inst.key,
                node_id=node.id,
                output=output,
                duration_s=inst.duration_s or 0.0,
                usage=inst.usage,
                cost_usd=inst.cost_usd,
            )
        )
        self._spawn_children(inst)

    def _check_output_size(self, node_id: str, output: Any) -> None:
        """Raise LimitError when ``output`` as JSON passes ``limits.max_output_chars``; a
        TypeError when it is not JSON at all."""
        size = len(json.dumps(output, ensure_ascii=False))
        limit = self.limits.max_output_chars
        if size > limit:
            raise LimitError(
                f"node {node_id!r}: its output is {size:,} characters of JSON, over the "
                f"limit of {limit:,}; raise limits.max_output_chars in the tree if this "
                "is intended"
            )

    def _after_settled(self, node_id: str) -> bool:
        watched = self._watched[node_id]
        return not any(
            i.node_id in watched and i.state in ("pending", "queued", "running", "waiting")
            for i in self.instances.values()
        )

    async def _wait_after(self, inst: NodeInstance) -> None:
        """Wait until no instance of the nodes in ``after:`` (or their ancestors) can run."""
        if self._after_settled(inst.node_id):
            return
        self.instance_log(inst, f"waiting for {', '.join(inst.node.after)}", "info")
        self.after_waiting.add(inst.key)
        self.human.check()  # if only people can move the run on now, it is waiting
        try:
            async with self._wake:
                await self._wake.wait_for(lambda: self._after_settled(inst.node_id))
        finally:
            self.after_waiting.discard(inst.key)

    async def _index_output(self, inst: NodeInstance, output: Any) -> None:
        """Add the output to the project index the node names (``index_output``)."""
        from genarun_studio.rag.progressive import index_output

        await index_output(InstanceContext(self, inst), inst.node, output)

    def _use_cache(self, node: Node) -> bool:
        if not node.cache or self.options.no_cache or node.id in self.options.force:
            return False
        return not (self.options.targets and self._selection.get(node.id) == "run")

    def _usable(self, hit: CachedResult) -> bool:
        """A cached result whose asset files are gone (a deleted or moved run) is a miss."""
        if not hit.assets:
            return True
        if not hit.source_dir:
            return False
        return all((Path(hit.source_dir) / rel).is_file() for rel in hit.assets)

    def _reuse(self, inst: NodeInstance, hit: CachedResult) -> None:
        if hit.source_dir and hit.assets and Path(hit.source_dir) != self.folder.path:
            for rel in hit.assets:
                source = Path(hit.source_dir) / rel
                if source.is_file():
                    target = self.folder.path / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target)
        inst.assets = list(hit.assets)
        inst.output = hit.output
        inst.cached_from = hit.run_id
        inst.state = "cached"
        inst.started_at = inst.ended_at = time.time()
        inst.fanned_out = self._fans_out(inst)
        self.folder.append_journal(inst.record())
        self._announce_reuse(inst)

    def _announce_reuse(self, inst: NodeInstance) -> None:
        """A result came without a call (cache or journal): say so and go on to the children."""
        self._emit(
            ev.InstanceCached(
                run_id=self.id,
                key=inst.key,
                node_id=inst.node_id,
                output=inst.output,
                signature=inst.signature or "",
            )
        )
        self._spawn_children(inst)

    def _restore(self, inst: NodeInstance, record: dict[str, Any]) -> None:
        """Take a finished instance of the run being resumed from its journal record."""
        inst.output = record.get("output")
        inst.state = record["state"]
        inst.assets = list(record.get("assets") or [])
        inst.cached_from = record.get("cached_from")
        inst.started_at = record.get("started_at")
        inst.ended_at = record.get("ended_at")
        inst.attempts = int(record.get("attempts") or 0)
        inst.calls = list(record.get("calls") or [])
        inst.usage = Usage.model_validate(record.get("usage") or {})
        inst.cost_usd = float(record.get("cost_usd") or 0.0)
        inst.fanned_out = self._fans_out(inst)
        inst.restored = True
        self.usage = self.usage + inst.usage
        self.cost_usd += inst.cost_usd
        self._announce_reuse(inst)

    def _make_writable(self, inst: NodeInstance) -> None:
        """Replace unpaired surrogates in what the instance will journal (an answer cut in
        the middle of an emoji): what was paid for is kept, with a note in its log."""
        replaced = 0
        for name in ("output", "calls", "plan", "error", "logs"):
            value, n = scrub(getattr(inst, name))
            if n:
                setattr(inst, name, value)
                replaced += n
        if replaced:
            self.instance_log(
                inst,
                f"replaced {replaced} invalid character(s) (unpaired surrogates, e.g. an "
                "emoji cut off) with U+FFFD so the result can be written",
                "warning",
            )

    def _fail(self, inst: NodeInstance, message: str) -> None:
        inst.state = "failed"
        inst.error = message
        inst.ended_at = time.time()
        self._make_writable(inst)
        try:
            self.folder.append_journal(inst.record())
        except Exception:  # the failure is still reported; the journal may be unwritable
            log.exception("could not journal the failure of %s", inst.key)
        self._emit(
            ev.InstanceFailed(run_id=self.id, key=inst.key, node_id=inst.node_id, error=message)
        )
        for child in inst.node.children:
            sub = NodeInstance(
                key=child_key(inst, None, child),
                node=child,
                parent=inst,
                item_index=None,
                context={},
            )
            self.instances[sub.key] = sub
            inst.children.append(sub)
            self._skip(sub, f"{inst.node_id} failed")
        policy = inst.node.on_error or self.limits.on_error
        if policy == "stop" and not self._halted:
            self._halted = True
            self.instance_log(
                inst,
                f"{inst.node_id} failed and its on_error policy is 'stop': stopping the run",
                "error",
            )
            self._stop_reason = f"{inst.key} failed (on_error: stop)"
            self._cancel_all()

    @staticmethod
    def _fans_out(inst: NodeInstance) -> bool:
        """Whether the children run once per item of this instance's output."""
        node = inst.node
        return (
            node.fan_out and isinstance(inst.output, list) and any(c.enabled for c in node.children)
        )

    def _spawn_children(self, inst: NodeInstance) -> None:
        node = inst.node
        if not node.children:
            return
        output = inst.output
        # Explicit names (inputs, output keys, node ids, i/index) first; then, by bare name,
        # the top-level fields of the nearest object output (decisions.md, "Object fields").
        base = {k: v for k, v in inst.context.items() if k != "parent" and k not in inst.fields}
        node_type = self.registry.get(node.type)
        named = node_type.names_output(self._config(node, node_type))
        if inst.fanned_out:
            for index, item in enumerate(output):
                explicit = {
                    **base,
                    **({node.key: item, node.id: item} if named else {}),
                    "i": item,
                    "item": item,
                    "index": index,
                    "parent": inst.context,
                }
                fields = _visible_fields(inst.fields, item, explicit)
                for child in node.children:
                    self._schedule(child, inst, index, {**explicit, **fields}, fields)
        else:
            own = {node.key: output, node.id: output} if named else {}
            explicit = {**base, **own, "parent": inst.context}
            fields = _visible_fields(inst.fields, output, explicit)
            for child in node.children:
                self._schedule(child, inst, None, {**explicit, **fields}, fields)

    # -- the end -----------------------------------------------------------------------

    async def _finish(self) -> RunSummary:
        self.human.settle()
        for inst in self.instances.values():
            if inst.state in ("pending", "queued", "running"):
                inst.state = "stopped"  # cancelled before it could finish
        for inst in self.instances.values():
            if inst.state == "stopped":
                self._emit(ev.InstanceStopped(run_id=self.id, key=inst.key, node_id=inst.node_id))
        wall = time.monotonic() - self._started
        counts = self.counts()
        if self._stop_reason and not self._halted and self.human.suspended:
            self.status = "waiting"  # ended to wait for answers: `genarun resume` goes on
        elif self._stop_reason and not self._halted:
            self.status = "stopped"
            self._emit(ev.RunStopped(run_id=self.id, reason=self._stop_reason))
        elif counts.get("failed"):
            self.status = "failed"
        else:
            self.status = "finished"
        self.folder.close()
        try:
            output = build_output(self.roots)
            # big runs write megabytes here: off the event loop, so the editor stays responsive
            await asyncio.to_thread(self.folder.write, "output.json", output)
            await asyncio.to_thread(
                self.folder.write,
                "logs.json",
                {
                    "run_id": self.id,
                    "seed": self.seed,
                    "instances": [
                        i.record()
                        for i in self.instances.values()
                        if i.state != "skipped" or i.error != "not selected"
                    ],
                },
            )
            self._write_run_json(wall, counts)
            if (
                self.status == "finished"
                and not self.options.dry_run
                and not (self.options.targets)
            ):
                self.folder.publish_latest()
        finally:
            await self.providers.aclose()
        summary = RunSummary(
            run_id=self.id,
            status=self.status,
            run_dir=str(self.folder.path),
            counts=counts,
            wall_s=wall,
            seed=self.seed,
            mock=self.mock,
            usage=self.usage,
            cost_usd=self.cost_usd,
        )
        self._emit(ev.RunFinished(run_id=self.id, status=self.status, counts=counts, wall_s=wall))
        return summary

    def _write_run_json(
        self,
        wall: float | None = None,
        counts: dict[str, int] | None = None,
    ) -> None:
        self.folder.write_meta(
            {
                "run_id": self.id,
                "tree_id": self.tree_id,
                "tree_name": self.tree.name,
                "status": self.status,
                "mock": self.mock,
                "seed": self.seed,
                "inputs": self.inputs,
                "options": self.options.model_dump(),
                "started_at": self._started_wall,
                "ended_at": time.time() if wall is not None else None,
                "wall_s": wall,
                "instances": counts or {},
                "usage": self.usage.model_dump(),
                "cost_usd": self.cost_usd,
                "engine_version": __version__,
                "tree_hash": tree_hash(self.tree),
                "stop_reason": self._stop_reason,
                "resumes": self._resumes,
                "pid": os.getpid() if wall is None else None,
            }
        )


def _visible_fields(outer: dict[str, Any], value: Any, explicit: dict[str, Any]) -> dict[str, Any]:
    """The object fields a child sees by bare name: ``value``'s top-level fields (when it is
    an object) over the fields its parent saw, none that an explicit name takes."""
    own = value if isinstance(value, dict) else {}
    merged = {**outer, **own}
    return {k: v for k, v in merged.items() if isinstance(k, str) and k not in explicit}
