"""``genarun answer``, ``genarun requests``, ``genarun hooks``, and how ``genarun run`` /
``resume`` meet a question to a person.

When a run waits for answers (nothing else can proceed): on a terminal, each question is
asked there (an empty answer leaves it for later); otherwise, or when questions are left,
the questions are printed on stderr with the commands that answer them, and the run ends
with status ``waiting`` (exit code 4). Everything is kept: ``genarun answer`` records an
answer in the run folder, and ``genarun resume`` continues from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from genarun_studio.errors import RunError

if TYPE_CHECKING:
    from genarun_studio.engine.run import Run
    from genarun_studio.human.request import HumanRequest

__all__ = ["answer", "attach", "hooks", "parse_value", "requests"]

_PROJECT = click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project folder (default: $GENARUN_PROJECT, else the nearest folder holding "
    ".genarun/ here or above, else the user data folder).",
)


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"genarun: {message}", err=True)
    sys.exit(code)


def _project(project: Path | None) -> Any:
    from genarun_studio.store import Project, default_project_dir

    return Project(project or default_project_dir())


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name on this system
        return "someone"


def parse_value(request: HumanRequest, raw: str, run_dir: Path | None = None) -> Any:
    """A typed value from what a person typed (see :func:`read_answer`, which the webhook
    uses too, so both accept the same forms)."""
    from genarun_studio.human.request import read_answer

    return read_answer(request, raw, run_dir)


def describe(request: HumanRequest, run_dir: Path | None = None) -> list[str]:
    """The request as lines for a terminal."""
    first, *rest = request.question.splitlines() or [""]
    # a question's later lines line up under its first, not at the terminal's left edge
    lines = [f"[{request.key}] {first}", *(f"  {line}" if line else "" for line in rest)]
    if request.kind in ("multipleChoice", "pickImage"):
        for n, option in enumerate(request.options, 1):
            shown = str(run_dir / option) if run_dir and request.kind == "pickImage" else option
            lines.append(f"    {n}. {shown}")
    elif request.kind == "rating":
        lines.append(f"    a whole number from {request.min} to {request.max}")
    elif request.kind == "approve":
        lines.append("    ---")
        lines += [f"    {line}" for line in (request.text or "").splitlines()[:40]]
        lines.append('    --- accept, reject, or edit: {"decision": "edit", "text": "..."}')
    if request.deadline:
        lines.append(f"    (if nobody answers, the default answer {request.default!r} is taken)")
    return lines


# -- during `genarun run` / `resume` --------------------------------------------------------


def attach(run: Run, progress: Any, *, interactive: bool | None = None) -> None:
    """Make a CLI run handle waiting for answers (see the module docstring)."""
    from genarun_studio.engine import events as ev

    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stderr.isatty()
    busy = False

    def on_event(event: ev.Event) -> None:
        nonlocal busy
        if not isinstance(event, ev.RunWaiting) or busy:
            return
        if any(r.deadline for r in run.human.open_requests()):
            return  # a timeout will answer: keep waiting for it
        busy = True

        async def handle() -> None:
            nonlocal busy
            try:
                if interactive:
                    await _ask_in_terminal(run, progress)
                # answers already written (the editor, a webhook) reach the run by themselves
                if run.status == "waiting" and _unanswered(run):
                    _print_waiting(run)
                    run.human.suspend()
            finally:
                busy = False

        asyncio.get_running_loop().create_task(handle())

    run.subscribe(on_event)


_pending_line: asyncio.Future[str | None] | None = None
"""A read of stdin whose line no question has taken yet (still waiting for it, or read while
its question was answered elsewhere): its thread owns stdin, so the next question takes that
line instead of starting a second reader (which would lose one)."""


def _read_line(prompt: str) -> asyncio.Future[str | None]:
    """A line from stdin without blocking the loop (a daemon thread: Ctrl-C never hangs).
    The caller that uses the line calls :func:`_take_line`."""
    global _pending_line
    loop = asyncio.get_running_loop()
    sys.stderr.write(prompt)
    sys.stderr.flush()
    pending = _pending_line
    if pending is not None and pending.get_loop() is loop:
        return pending
    future: asyncio.Future[str | None] = loop.create_future()

    def work() -> None:
        try:
            line: str | None = sys.stdin.readline()
        except (OSError, ValueError):
            line = None

        def deliver() -> None:
            if not future.done():
                future.set_result(line.rstrip("\n") if line else None)

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(deliver)

    threading.Thread(target=work, daemon=True, name="genarun-prompt").start()
    _pending_line = future
    return future


def _take_line(future: asyncio.Future[str | None]) -> str | None:
    """The line of a finished read, which no later question gets again."""
    global _pending_line
    if _pending_line is future:
        _pending_line = None
    return future.result()


async def _answered_elsewhere(run: Run, key: str) -> None:
    """Return once ``key`` is answered some other way (the run's desk picks up answers that
    the editor, ``genarun answer`` or a webhook wrote, and announces them)."""
    from genarun_studio.engine import events as ev

    answered = asyncio.Event()

    def on_event(event: ev.Event) -> None:
        if isinstance(event, ev.HumanAnswered) and event.key == key:
            answered.set()

    unsubscribe = run.subscribe(on_event)
    try:
        if not run.human.inbox.has_answer(key):
            await answered.wait()
    finally:
        unsubscribe()


async def _ask_in_terminal(run: Run, progress: Any) -> None:
    from genarun_studio.human.request import AlreadyAnswered, AnswerInvalid

    later: set[str] = set()  # left for later with an empty line
    with progress.paused():
        while True:  # the open questions again after each one: new ones may have come
            asking = [r for r in _unanswered(run) if r.key not in later]
            if not asking:
                return
            request = asking[0]
            click.echo("\n".join(describe(request, run.folder.path)), err=True)
            line_read = _read_line("answer (empty: later)> ")
            elsewhere = asyncio.ensure_future(_answered_elsewhere(run, request.key))
            either: set[asyncio.Future[Any]] = {line_read, elsewhere}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            answered_elsewhere = elsewhere.done()
            elsewhere.cancel()
            if answered_elsewhere:
                # a line read meanwhile (done or not) goes to the next question: it was
                # typed after this one was answered, or is still to come
                given = run.human.inbox.answer(request.key)
                by = f" by {given.who} ({given.channel})" if given else ""
                click.echo(f"\n  {request.key} was answered{by}", err=True)
                continue
            line = _take_line(line_read)
            if line is None:  # stdin closed: nobody can answer here
                return
            if not line.strip():
                later.add(request.key)
                continue
            try:
                run.human.answer(
                    request.key,
                    parse_value(request, line, run.folder.path),
                    who=_user(),
                    channel="cli",
                )
            except (AnswerInvalid, AlreadyAnswered) as exc:
                click.echo(f"  {exc}", err=True)


def _unanswered(run: Run) -> list[HumanRequest]:
    """The run's open questions that nobody answered yet, in any channel."""
    return [r for r in run.human.open_requests() if not run.human.inbox.has_answer(r.key)]


def _print_waiting(run: Run) -> None:
    where = f" --project {run.folder.path.parents[2]}"
    lines = [f"genarun: run {run.id} waits for answers:"]
    for request in _unanswered(run):
        lines += ["  " + line for line in describe(request, run.folder.path)]
        lines.append(f"    genarun answer {run.id} '{request.key}' VALUE{where}")
    lines.append(f"then continue it: genarun resume {run.id}{where}")
    click.echo("\n".join(lines), err=True)


# -- commands ------------------------------------------------------------------------------


@click.command()
@click.argument("run_id")
@click.argument("instance_key")
@click.argument("value")
@_PROJECT
@click.option("--who", metavar="NAME", help="Who answers (default: your user name).")
def answer(
    run_id: str, instance_key: str, value: str, project: Path | None, who: str | None
) -> None:
    """Answer the question of INSTANCE_KEY in RUN_ID with VALUE.

    A choice takes the option or its number (1 = first), a rating a number, an approval
    accept, reject or {"decision": "edit", "text": "..."}. A run that waits in another
    process goes on by itself; one that ended waiting goes on with `genarun resume`.
    """
    from genarun_studio.human import HumanError, RunInbox
    from genarun_studio.store.history import process_alive

    try:
        folder = _project(project).run_folder(run_id)
    except RunError as exc:
        _fail(str(exc))
    inbox = RunInbox(folder.path)
    request = inbox.request(instance_key)
    if request is None:
        keys = ", ".join(r.key for r in inbox.open_requests()[:10]) or "none"
        _fail(f"run {run_id} has no question for {instance_key!r} (open: {keys})")
    try:
        inbox.submit(
            instance_key,
            parse_value(request, value, folder.path),
            who=who or _user(),
            channel="cli",
        )
    except HumanError as exc:
        _fail(str(exc), 3 if "already answered" in str(exc) else 2)
    try:
        meta = folder.read("run.json")
    except (OSError, ValueError):
        meta = {}
    pid = meta.get("pid")
    if isinstance(pid, int) and process_alive(pid):
        click.echo(f"answered; the run (process {pid}) goes on by itself")
    else:
        left = len(inbox.open_requests())
        rest = f"{left} question(s) still open; " if left else ""
        where = f" --project {project}" if project else ""
        click.echo(f"answered; {rest}continue the run with: genarun resume {run_id}{where}")


@click.command()
@_PROJECT
@click.option("--json", "as_json", is_flag=True, help="A JSON array of the open requests.")
def requests(project: Path | None, as_json: bool) -> None:
    """The questions to people that runs of the project wait on, oldest first."""
    from genarun_studio.human import open_requests

    found = open_requests(_project(project).root)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"runId": o.run_id, **o.request.public(), "runDir": str(o.run_dir)}
                    for o in found
                ],
                ensure_ascii=False,
            )
        )
        return
    if not found:
        click.echo("no open questions", err=True)
        return
    for item in found:
        click.echo(f"{item.run_id}")
        click.echo("\n".join("  " + line for line in describe(item.request, item.run_dir)))


@click.group()
def hooks() -> None:
    """The webhook server that takes answers over HTTP."""


@hooks.command("serve")
@_PROJECT
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
def hooks_serve(project: Path | None, host: str, port: int) -> None:
    """Serve GET/POST /runs/<run-id>/<node-id>/hook for the project's runs.

    Each run has its own secret token (`genarun hooks token RUN_ID`), sent as
    `Authorization: Bearer <token>`. Binds to the loopback interface unless --host says
    otherwise.
    """
    from genarun_studio.server.hooks import is_loopback, serve

    if not is_loopback(host):
        click.echo(
            f"genarun: serving on {host}: reachable from other machines; every request "
            "still needs its run's token",
            err=True,
        )
    try:
        serve(_project(project).root, host=host, port=port)
    except RunError as exc:
        _fail(str(exc))


@hooks.command("token")
@click.argument("run_id")
@_PROJECT
def hooks_token(run_id: str, project: Path | None) -> None:
    """Print RUN_ID's webhook token (give it only to who may answer the run's questions)."""
    from genarun_studio.human import RunInbox

    try:
        folder = _project(project).run_folder(run_id)
    except RunError as exc:
        _fail(str(exc))
    click.echo(RunInbox(folder.path).token())
