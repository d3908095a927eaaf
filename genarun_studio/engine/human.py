"""The human requests of a live run: asking, waiting, and taking answers from any channel.

A human node instance calls :meth:`HumanDesk.ask` through its context. The request is
stored in the run folder and journaled (the instance's journal line has state ``waiting``
and the request), the instance waits, and other branches go on. When every instance still
going waits for a person, the run's status is ``waiting`` (``run.json`` and a
:class:`~genarun_studio.engine.events.RunWaiting` event).

Answers arrive in-process through :meth:`HumanDesk.answer` (the editor, the API), or from
another process as an answer file in the run folder (``genarun answer``, the hook server),
which the desk picks up by polling the folder every :attr:`HumanDesk.poll_s` seconds while
something waits. :meth:`HumanDesk.suspend` ends a waiting run with status ``waiting``: the
requests stay in the folder, and ``genarun resume`` asks again, finding any answer given
in the meantime.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from genarun_studio.engine import events as ev
from genarun_studio.human.inbox import RunInbox
from genarun_studio.human.request import (
    HumanAnswer,
    HumanQuestion,
    HumanRequest,
    RequestNotFound,
    auto_answer,
    check_answer,
)

if TYPE_CHECKING:
    from genarun_studio.engine.instance import NodeInstance
    from genarun_studio.engine.run import Run

__all__ = ["HumanDesk"]


class HumanDesk:
    """One per run. Methods run on the run's event loop."""

    poll_s: float = 0.25
    """How often a waiting run looks for answers written by other processes."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.inbox = RunInbox(run.folder.path)
        self._waiting: dict[
            str, tuple[NodeInstance, HumanRequest, asyncio.Future[HumanAnswer]]
        ] = {}
        self._open: set[str] = set()
        """Keys asked in this session and not answered (they stay open across a stop)."""
        self._poller: asyncio.Task[None] | None = None
        self.suspended = False

    # -- what the run and the channels see --------------------------------------------------

    def open_requests(self) -> list[HumanRequest]:
        """The requests this run waits on now, oldest first."""
        return sorted((w[1] for w in self._waiting.values()), key=lambda r: r.created_at)

    def answer(
        self, key: str, value: Any, *, who: str = "someone", channel: str = "api"
    ) -> HumanAnswer:
        """Answer the request of instance ``key``: checked, recorded in the run folder, and
        the instance goes on. Raises RequestNotFound, AnswerInvalid, AlreadyAnswered."""
        if key not in self._waiting and self.inbox.request(key) is None:
            raise RequestNotFound(f"no human request for instance {key!r} in run {self.run.id}")
        answer = self.inbox.submit(key, value, who=who, channel=channel)
        self._deliver(key, answer)
        return answer

    def suspend(self) -> None:
        """End the run now with status ``waiting`` (nothing is lost; resume goes on)."""
        self.suspended = True
        self.run.stop("waiting for answers")

    # -- asking ------------------------------------------------------------------------------

    async def ask(self, inst: NodeInstance, question: HumanQuestion) -> HumanAnswer:
        run = self.run
        request = self.inbox.request(inst.key)
        if request is None or not request.same_question(question):
            now = time.time()
            request = HumanRequest(
                **question.model_dump(),
                run_id=run.id,
                key=inst.key,
                node_id=inst.node_id,
                created_at=now,
                deadline=now + question.timeout_s if question.timeout_s else None,
            )
            self.inbox.save_request(request)
        answer = self.inbox.answer(inst.key)
        if answer is None and (run.options.auto_answer or run.options.dry_run):
            answer = self._record(request, auto_answer(request), "genarun", "auto")
        if answer is None and request.deadline is not None and request.deadline <= time.time():
            answer = self._on_timeout(request)
        if answer is None:
            answer = await self._wait(inst, request)
        check_answer(request, answer.value)  # an answer file edited by hand is checked too
        self._emit_answered(inst, answer)
        return answer

    async def _wait(self, inst: NodeInstance, request: HumanRequest) -> HumanAnswer:
        run = self.run
        future: asyncio.Future[HumanAnswer] = asyncio.get_running_loop().create_future()
        self._waiting[inst.key] = (inst, request, future)
        self._open.add(inst.key)
        self.inbox.token()  # the run's webhook secret exists once anything waits
        inst.state = "waiting"
        record = inst.record()
        record["request"] = request.model_dump()
        run.folder.append_journal(record)
        run._emit(
            ev.HumanRequested(
                run_id=run.id, key=inst.key, node_id=inst.node_id, request=request.model_dump()
            )
        )
        run.instance_log(inst, f"waiting for a person: {request.question[:120]}", "info")
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        self.check()
        try:
            if request.deadline is None:
                return await future
            remaining = max(request.deadline - time.time(), 0.0)
            try:
                return await asyncio.wait_for(asyncio.shield(future), remaining)
            except TimeoutError:
                return self._on_timeout(request)
        finally:
            self._waiting.pop(inst.key, None)
            if inst.state == "waiting":
                inst.state = "running"
            self._running_again()

    def _on_timeout(self, request: HumanRequest) -> HumanAnswer:
        from genarun_studio.human.request import AlreadyAnswered, HumanError

        if request.default is None:
            raise HumanError(
                f"no answer within {request.timeout_s:g} s and the node has no default answer"
            )
        try:
            return self._record(
                request, check_answer(request, request.default), "genarun", "timeout"
            )
        except AlreadyAnswered:  # an answer came in at the last moment: it stands
            answer = self.inbox.answer(request.key)
            assert answer is not None
            return answer

    def _record(self, request: HumanRequest, value: Any, who: str, channel: str) -> HumanAnswer:
        return self.inbox.record_answer(
            request.key, HumanAnswer(value=check_answer(request, value), who=who, channel=channel)
        )

    def _emit_answered(self, inst: NodeInstance, answer: HumanAnswer) -> None:
        self._open.discard(inst.key)
        self.run._emit(
            ev.HumanAnswered(
                run_id=self.run.id,
                key=inst.key,
                node_id=inst.node_id,
                value=answer.value,
                who=answer.who,
                channel=answer.channel,
            )
        )

    def _deliver(self, key: str, answer: HumanAnswer) -> None:
        waiting = self._waiting.pop(key, None)
        if waiting is not None and not waiting[2].done():
            waiting[2].set_result(answer)
        self._running_again()

    def _running_again(self) -> None:
        run = self.run
        if run.status == "waiting":
            run.status = "running"
            run._write_run_json()

    async def _poll(self) -> None:
        """Pick up answers other processes wrote into the run folder."""
        while self._waiting:
            await asyncio.sleep(self.poll_s)
            stems = self.inbox.answered_stems()
            for key in list(self._waiting):
                if self.inbox.has_answer(key, stems):
                    answer = self.inbox.answer(key)
                    if answer is not None:
                        self._deliver(key, answer)

    # -- the run's state ---------------------------------------------------------------------

    def check(self) -> None:
        """Set the run's status to ``waiting`` when nothing but people can move it on."""
        run = self.run
        if run.status != "running" or not self._waiting or run._stop_reason:
            return
        for task in run._tasks:
            inst = run.instances.get(task.get_name())
            if inst is None:
                return
            if inst.state == "waiting":
                continue
            if inst.state == "queued" and inst.lane == "human":
                continue  # behind the human lane's limit: it waits for an answer too
            if inst.key in run.after_waiting:
                continue  # waits (``after:``) for instances that wait for people
            return
        run.status = "waiting"
        run._write_run_json(counts=run.counts())  # a run killed now keeps them (history)
        run._emit(ev.RunWaiting(run_id=run.id, keys=sorted(self._waiting)))

    def settle(self) -> None:
        """At the end of a session: an instance whose question is open is ``waiting``."""
        for key in self._open:
            inst = self.run.instances.get(key)
            if inst is not None and inst.state in ("stopped", "running", "queued"):
                inst.state = "waiting"
        if self._poller is not None:
            self._poller.cancel()
