"""Qt tests run offscreen (no display needed) with pytest-qt's ``qtbot``.

``loop`` is a qasync event loop on the test's QApplication (runs execute on it, as in the
app); ``window`` is a shown main window on a fresh project that never blocks on a dialog.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")  # the binding qasync picks

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from PySide6 import QtWidgets

    from genarun_studio.qt.main_window import MainWindow


@pytest.fixture
def loop(qapp: QtWidgets.QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    import qasync

    event_loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, loop: asyncio.AbstractEventLoop) -> MainWindow:
    from PySide6 import QtCore, QtWidgets

    from genarun_studio.qt.main_window import MainWindow

    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(tmp_path / "project", settings=settings)
    qtbot.addWidget(win)
    # pytest-qt closes the window before fixtures end: never block on "save changes?"
    win.ask_save = lambda name: QtWidgets.QMessageBox.StandardButton.Discard  # type: ignore[method-assign]
    win.ask_inputs = lambda last: {}  # type: ignore[method-assign]
    win.resize(1400, 850)
    win.show()
    return win


@pytest.fixture(autouse=True)
def _delete_closed_widgets() -> Iterator[None]:
    """Delete the test's closed widgets in the test, not at an arbitrary later moment.

    pytest-qt closes a test's widgets and calls ``deleteLater``, but ``processEvents`` never
    runs deferred deletes: closed windows (with their timers, thread pools and scenes) would
    live on until some later test spins a nested event loop, and die there.
    """
    yield
    import gc

    from PySide6 import QtCore, QtWidgets

    if QtWidgets.QApplication.instance() is not None:
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        gc.collect()
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
