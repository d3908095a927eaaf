"""Live progress of a run on the terminal (rich): per lane, done / running / queued / failed."""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from genarun_studio.cli_reports import console
from genarun_studio.engine import events as ev

if TYPE_CHECKING:
    from genarun_studio.engine.run import Run, RunSummary

__all__ = ["Progress"]

STATE_STYLE = {
    "done": "green",
    "cached": "cyan",
    "running": "yellow",
    "queued": "white",
    "failed": "red",
    "skipped": "dim",
    "stopped": "magenta",
    "waiting": "#c58af9",
}


class Progress:
    """Subscribes to a run's events and draws a per-lane table on stderr."""

    def __init__(self, run: Run, *, enabled: bool = True) -> None:
        self.run = run
        self.console = console(stderr=True)
        self.enabled = enabled and self.console.is_terminal
        self.lanes: dict[str, Counter[str]] = defaultdict(Counter)
        self.state: dict[str, tuple[str, str]] = {}
        self.failures: list[tuple[str, str]] = []
        self.last_log = ""
        self._live: Live | None = None
        self._unsubscribe = run.subscribe(self._on_event)

    def _set(self, key: str, lane: str, state: str) -> None:
        old = self.state.get(key)
        if old is not None:
            self.lanes[old[0]][old[1]] -= 1
        self.state[key] = (lane, state)
        self.lanes[lane][state] += 1

    def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.InstanceQueued):
            self._set(event.key, event.lane, "queued")
        elif isinstance(event, ev.InstanceStarted):
            self._set(event.key, event.lane, "running")
        elif isinstance(event, ev.InstanceEvent):
            lane = self.state.get(event.key, ("local", ""))[0]
            if isinstance(event, ev.InstanceFinished):
                self._set(event.key, lane, "done")
            elif isinstance(event, ev.InstanceCached):
                self._set(event.key, lane, "cached")
            elif isinstance(event, ev.InstanceFailed):
                self._set(event.key, lane, "failed")
                self.failures.append((event.key, event.error))
            elif isinstance(event, ev.InstanceSkipped):
                self._set(event.key, lane, "skipped")
            elif isinstance(event, ev.InstanceStopped):
                self._set(event.key, lane, "stopped")
            elif isinstance(event, ev.HumanRequested):
                self._set(event.key, lane, "waiting")
            elif isinstance(event, ev.HumanAnswered):
                self._set(event.key, lane, "running")
            elif isinstance(event, ev.InstanceProgress):
                self.last_log = f"{event.key}: {event.message}"
        elif isinstance(event, ev.LogEvent) and event.level in ("warning", "error"):
            self.last_log = f"{event.key or 'run'}: {event.message}"
        if self._live is not None:
            self._live.update(self._render())

    def _render(self) -> Group:
        table = Table(
            title=f"{self.run.id}{'  (mock)' if self.run.mock else ''}",
            title_justify="left",
            expand=False,
        )
        table.add_column("lane")
        states = ["done", "cached", "running", "queued", "waiting", "failed", "skipped"]
        for state in states:
            table.add_column(state, justify="right", style=STATE_STYLE[state])
        for lane in sorted(self.lanes):
            counts = self.lanes[lane]
            table.add_row(lane, *(str(max(counts[s], 0)) for s in states))
        status = Text(f"status: {self.run.status}", style="bold")
        parts: list[Table | Text] = [table, status]
        if self.last_log:
            parts.append(Text(self.last_log[:160], style="dim"))
        return Group(*parts)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No live drawing meanwhile (e.g. while a question is asked on the terminal)."""
        live = self._live
        if live is not None:
            live.stop()
        try:
            yield
        finally:
            if live is not None:
                live.start()

    def __enter__(self) -> Progress:
        if self.enabled:
            self._live = Live(
                self._render(), console=self.console, refresh_per_second=8, transient=False
            )
            self._live.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(kind, exc, tb)
            self._live = None
        self._unsubscribe()

    def report(self, summary: RunSummary) -> None:
        """The closing lines: status, counts, failures, where the run folder is."""
        counts = ", ".join(f"{n} {state}" for state, n in sorted(summary.counts.items()))
        style = {"finished": "green", "failed": "red"}.get(summary.status, "yellow")
        mock = " on the mock provider" if summary.mock else ""
        self.console.print(
            f"[{style}]{summary.status}[/]{mock}: {counts or 'nothing to run'} "
            f"in {summary.wall_s:.2f} s (seed {summary.seed})",
            highlight=False,
        )
        for key, error in self.failures[:10]:
            # errors are free text ("pip install -e '.[rag]'", JSON): not markup
            self.console.print(f"  [red]failed[/] {escape(key)}: {escape(error)}", highlight=False)
        if len(self.failures) > 10:
            self.console.print(f"  ... and {len(self.failures) - 10} more failures (logs.json)")
        self.console.print(
            f"run folder: {escape(str(summary.run_dir))}", highlight=False, soft_wrap=True
        )
