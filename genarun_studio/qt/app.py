"""``genarun-studio``: the desktop editor's entry point.

    genarun-studio [TREE] [--project DIR] [--screenshot OUT.png]

With ``--screenshot`` the window opens the tree, fits it to view, renders itself to the
image and exits 0: for documentation and checks, and it works without a display
(``QT_QPA_PLATFORM=offscreen``).

Without a display (Linux with neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` nor
``QT_QPA_PLATFORM``) it says so in one line and exits 2, before Qt would abort. Ctrl-C in
the terminal closes the window as its close button does (asking to save changes); a second
Ctrl-C quits at once (exit 130).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import FrameType

__all__ = ["install_interrupt", "main", "no_display", "screenshot"]

READY = "genarun-studio: the editor is open; Ctrl-C here closes it"
"""Written to stderr once Ctrl-C is handled (tests wait for it)."""


def no_display() -> str | None:
    """The one-line reason a window cannot open here, or None.

    Checked before the QApplication exists: Qt would abort the process (exit 134, "This
    application failed to start ... Reinstalling the application may fix this problem").
    """
    if not sys.platform.startswith("linux"):
        return None
    if any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return None
    return (
        "genarun-studio: no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY "
        "is set); run it in a desktop session, or without one render a picture with "
        "`genarun-studio TREE --screenshot OUT.png` (or set QT_QPA_PLATFORM=offscreen)"
    )


def _quit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(130)  # Ctrl-C before the window is up: no KeyboardInterrupt traceback


def install_interrupt(
    window: object, hard_exit: Callable[[int], object] = os._exit
) -> Callable[[], None]:
    """Make Ctrl-C (SIGINT) work while Qt's event loop runs; returns the undo.

    Python runs a signal handler only when it gets control, which a Qt loop waiting in C++
    never gives it: the signal also writes to a socket (``signal.set_wakeup_fd``) that a
    QSocketNotifier watches, so the handler runs at once. The first Ctrl-C closes the
    window (its ``closeEvent`` asks to save changes and stops a run); a second one, e.g.
    while that question is open, quits at once with 130 through ``hard_exit``.
    """
    import socket

    from PySide6 import QtCore, QtWidgets

    assert isinstance(window, QtWidgets.QWidget)
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    notifier = QtCore.QSocketNotifier(reader.fileno(), QtCore.QSocketNotifier.Type.Read)

    def drain() -> None:
        with suppress(OSError):
            reader.recv(256)

    notifier.activated.connect(drain)
    presses = 0

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal presses
        presses += 1
        if presses > 1:
            sys.stderr.write("\ngenarun-studio: interrupted again, quitting now\n")
            sys.stderr.flush()
            hard_exit(130)
            return
        sys.stderr.write("\ngenarun-studio: closing the editor (Ctrl-C again quits at once)\n")
        sys.stderr.flush()
        QtCore.QTimer.singleShot(0, window.close)  # from the event loop, not mid-slot

    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous = signal.signal(signal.SIGINT, on_interrupt)

    def undo() -> None:
        signal.signal(signal.SIGINT, previous)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        notifier.deleteLater()
        reader.close()
        writer.close()

    return undo


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="genarun-studio", description=__doc__.splitlines()[0])
    parser.add_argument(
        "tree", nargs="?", help="a tree file to open (native, legacy JSON or an original .js tree)"
    )
    parser.add_argument(
        "--project",
        help=(
            "project folder for runs (default: $GENARUN_PROJECT, else the nearest folder "
            "holding .genarun/ here or above, else the user data folder)"
        ),
    )
    parser.add_argument(
        "--screenshot", metavar="OUT.png", help="render the window to OUT.png and exit"
    )
    parser.add_argument("--size", default="1600x950", help="window size for --screenshot")
    parser.add_argument(
        "--run",
        action="store_true",
        help="with --screenshot: run the tree on the mock provider first",
    )
    parser.add_argument(
        "--select",
        metavar="NODE_ID",
        help="with --screenshot: select this node (its properties and output)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed for --run")
    parser.add_argument(
        "--view",
        default="tree",
        metavar="tree|history|costs|run:RUN_ID|logs:RUN_ID[,NODE]|assets:RUN_ID|"
        "compare:RUN_A,RUN_B,NODE",
        help="with --screenshot: the view to show (the run table, the costs, one run's "
        "timeline, logs or images, or one node of two runs side by side)",
    )
    return parser.parse_args(argv)


def screenshot(window: object, out: Path) -> bool:
    """Render a shown window to ``out``; True when the image is non-empty."""
    from PySide6 import QtWidgets

    assert isinstance(window, QtWidgets.QWidget)
    for _ in range(10):
        QtWidgets.QApplication.processEvents()
    pixmap = window.grab()
    out.parent.mkdir(parents=True, exist_ok=True)
    return bool(pixmap.save(str(out))) and not pixmap.isNull()


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.screenshot and "QT_QPA_PLATFORM" not in os.environ and not os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    reason = no_display()
    if reason is not None:
        sys.stderr.write(reason + "\n")
        return 2
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:
        signal.signal(signal.SIGINT, _quit_quietly)  # until the window handles it
    try:
        return _main(args)
    finally:
        signal.signal(signal.SIGINT, previous)


def _main(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_API", "pyside6")  # the binding qasync picks
    os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
    try:
        import qasync
        from PySide6 import QtCore, QtWidgets
    except ImportError:
        from genarun_studio.errors import install_hint

        sys.stderr.write(
            f"genarun-studio: the editor's [studio] extra is not installed; add it with "
            f"{install_hint('studio')}\n"
        )
        return 2
    from genarun_studio.qt.main_window import MainWindow
    from genarun_studio.store import default_project_dir

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("Genarun Studio")
    app.setOrganizationName("Genarun")
    app.setStyle("Fusion")
    _dark(app)
    project = Path(args.project) if args.project else default_project_dir()
    settings = None
    if args.screenshot:  # do not read or write the user's window layout
        # a throwaway file (never os.devnull: QSettings replaces the file it writes)
        scratch = Path(tempfile.mkdtemp(prefix="genarun-studio-"))
        settings = QtCore.QSettings(
            str(scratch / "settings.ini"), QtCore.QSettings.Format.IniFormat
        )
    window = MainWindow(project, settings=settings)
    if args.tree and not window.open_path(args.tree):
        sys.stderr.write(f"genarun-studio: {window.last_warning or 'cannot open ' + args.tree}\n")
        if args.screenshot:
            return 2
    if args.screenshot:
        w, _, h = args.size.partition("x")
        window.resize(int(w), int(h))
        window.show()
        window.fit()
        loop = _run_for_screenshot(window, app, args.seed) if args.run else None
        if loop is not None:
            window.fit()
        if args.select and window.canvas is not None:
            window.canvas.select([args.select])
            (window.inspector_dock if args.run else window.properties_dock).raise_()
        shown: QtWidgets.QWidget = window
        if args.view == "history":
            window.history.refresh()
            window.history_dock.raise_()
            window.resizeDocks([window.history_dock], [420], QtCore.Qt.Orientation.Vertical)
        elif args.view.startswith("run:"):
            if not window.run_detail.show_run(args.view[4:]):
                sys.stderr.write(f"genarun-studio: no run {args.view[4:]!r} in the project\n")
                return 2
            window.run_detail_dock.raise_()
            window.resizeDocks([window.run_detail_dock], [420], QtCore.Qt.Orientation.Vertical)
        elif args.view.startswith("logs:"):
            run_id, _, node = args.view[5:].partition(",")
            if not window.run_detail.show_run(run_id):
                sys.stderr.write(f"genarun-studio: no run {run_id!r} in the project\n")
                return 2
            window.run_detail_dock.raise_()
            window.resizeDocks([window.run_detail_dock], [560], QtCore.Qt.Orientation.Vertical)
            window.run_detail.show_logs()
            if node:
                window.run_detail.logs.set_filter(node=node)
                keys = window.run_detail.logs.visible_keys()
                if keys:
                    window.run_detail.logs.select_key(keys[0])
        elif args.view == "costs":
            window.costs_dock.raise_()
            window.resizeDocks([window.costs_dock], [420], QtCore.Qt.Orientation.Vertical)
            window.costs.refresh()
            if window.costs.runs.rows:
                window.costs.select_run(str(window.costs.runs.rows[0]["run_id"]))
        elif args.view.startswith("compare:"):
            run_a, _, rest = args.view[8:].partition(",")
            run_b, _, node = rest.partition(",")
            dialog = window.compare_runs(run_a, run_b)
            if dialog is None or dialog.run_a.currentData() != run_a or not node:
                sys.stderr.write("genarun-studio: --view compare:RUN_A,RUN_B,NODE\n")
                return 2
            dialog.set_node(node)
            shown = dialog
        elif args.view.startswith("assets:"):
            from genarun_studio.qt.panels.assets import wait_for_thumbnails

            window.assets_dock.raise_()
            window.resizeDocks([window.assets_dock], [480], QtCore.Qt.Orientation.Vertical)
            if not window.assets.show_run(args.view[7:]):
                sys.stderr.write(f"genarun-studio: no run {args.view[7:]!r} in the project\n")
                return 2
            wait_for_thumbnails(window.assets)
        elif args.view != "tree":
            sys.stderr.write(
                f"genarun-studio: unknown --view {args.view!r} (tree, history, costs, "
                "run:RUN_ID, logs:RUN_ID[,NODE], assets:RUN_ID, compare:RUN_A,RUN_B,NODE)\n"
            )
            return 2
        ok = screenshot(shown, Path(args.screenshot))
        if shown is not window:
            shown.close()
        if loop is not None:
            _end_waiting_run(window, loop)
        window.document._history.clean_index = len(window.document._history.done)
        window.document._ui_dirty = False
        window.close()
        if loop is not None:
            loop.close()  # joins qasync's worker threads (asyncio.to_thread runs there)
        if settings is not None:
            settings.sync()
        shutil.rmtree(scratch, ignore_errors=True)
        return 0 if ok else 1
    window.show()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    undo = install_interrupt(window)
    sys.stderr.write(READY + "\n")
    sys.stderr.flush()
    try:
        with loop:
            closed = asyncio.Event()
            app.aboutToQuit.connect(closed.set)
            loop.run_until_complete(closed.wait())
    finally:
        undo()
    return 0


def _run_for_screenshot(window: object, app: object, seed: int) -> asyncio.AbstractEventLoop:
    """Run the open tree on the mock provider on a qasync loop, to its end or until it waits
    for answers (:func:`_end_waiting_run` then ends it with status ``waiting``)."""
    import qasync
    from PySide6 import QtWidgets

    from genarun_studio.engine import RunOptions
    from genarun_studio.qt.main_window import MainWindow

    assert isinstance(window, MainWindow)
    assert isinstance(app, QtWidgets.QApplication)
    loop: asyncio.AbstractEventLoop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window.mock_box.setChecked(True)
    window._start(RunOptions(seed=seed, mock=True), inputs={})

    async def finish() -> None:
        # to its end, or until it waits for a person (then the Answers dock shows the question)
        run = window.runner.run
        ended = asyncio.ensure_future(window.runner.wait())
        while not ended.done() and (run is None or run.status != "waiting"):
            await asyncio.wait([ended], timeout=0.05)
        await asyncio.sleep(0.3)  # let the status timer paint the last states

    loop.run_until_complete(finish())
    return loop


def _end_waiting_run(window: object, loop: asyncio.AbstractEventLoop) -> None:
    """A run of ``--screenshot --run`` that waits for a person ends with status ``waiting``
    (``genarun answer`` / ``resume`` go on from there)."""
    from genarun_studio.qt.main_window import MainWindow

    assert isinstance(window, MainWindow)
    run = window.runner.run
    if run is None or not window.runner.busy:
        return
    run.human.suspend()
    loop.run_until_complete(window.runner.wait())


def _dark(app: object) -> None:
    from PySide6 import QtGui, QtWidgets

    assert isinstance(app, QtWidgets.QApplication)
    palette = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    for r, color in (
        (role.Window, "#1f242b"),
        (role.WindowText, "#d7dce2"),
        (role.Base, "#161b22"),
        (role.AlternateBase, "#1f242b"),
        (role.Text, "#d7dce2"),
        (role.Button, "#2a3038"),
        (role.ButtonText, "#d7dce2"),
        (role.Highlight, "#2f6feb"),
        (role.HighlightedText, "#ffffff"),
        (role.ToolTipBase, "#2a3038"),
        (role.ToolTipText, "#d7dce2"),
        (role.PlaceholderText, "#7d8590"),
    ):
        palette.setColor(r, QtGui.QColor(color))
    # disabled controls (Run while a run goes, ...) must look disabled on the dark palette
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(disabled, r, QtGui.QColor("#5c636b"))
    palette.setColor(disabled, role.Button, QtGui.QColor("#22272e"))
    app.setPalette(palette)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
