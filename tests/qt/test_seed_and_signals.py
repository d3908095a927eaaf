"""Issue 15 items 10 and 11 (and issue 19 item 8): the toolbar Seed shows the tree's seed
and never carries one tree's seed over to another; Ctrl-C in the terminal closes the editor
(a second quits at once); without a display the editor says how to run it and exits 2.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6 import QtWidgets

from genarun_studio.qt.app import READY, install_interrupt
from genarun_studio.qt.main_window import MainWindow


def tree_file(folder: Path, tree_id: str, seed: int | None) -> Path:
    data: dict[str, Any] = {
        "format": "genarun/1",
        "id": tree_id,
        "nodes": [{"id": "a", "type": "template", "config": {"value": "x"}}],
    }
    if seed is not None:
        data["seed"] = seed
    path = folder / f"{tree_id}.genarun.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_the_seed_field_shows_the_trees_seed(window: MainWindow, tmp_path: Path) -> None:
    assert window.open_path(tree_file(tmp_path, "seven", 7))
    assert window.seed_edit.text() == "7"
    assert window._options().seed == 7
    window.document.set_tree_fields(seed=11)  # edited in the tree's properties
    assert window.seed_edit.text() == "11"
    window.document.set_tree_fields(seed=None)
    assert window.seed_edit.text() == ""
    assert window.seed_edit.placeholderText() == "random"


def test_a_typed_seed_stays_with_its_tree_only(
    window: MainWindow, tmp_path: Path, qtbot: Any
) -> None:
    assert window.open_path(tree_file(tmp_path, "seven", 7))
    window.seed_edit.clear()
    qtbot.keyClicks(window.seed_edit, "42")
    assert window._options().seed == 42
    window.document.set_tree_fields(name="renamed")  # other edits keep what was typed
    assert window.seed_edit.text() == "42"

    assert window.open_path(tree_file(tmp_path, "unseeded", None))
    assert window.seed_edit.text() == ""
    assert window.seed_edit.placeholderText() == "random"
    assert window._options().seed is None  # the run picks (and records) a random seed

    assert window.open_path(tree_file(tmp_path, "three", 3))
    assert window.seed_edit.text() == "3"
    assert window._options().seed == 3


def test_ctrl_c_closes_like_the_close_button_and_a_second_quits(
    window: MainWindow, qtbot: Any
) -> None:
    asked: list[str] = []

    def keep(name: str) -> QtWidgets.QMessageBox.StandardButton:
        asked.append(name)
        return QtWidgets.QMessageBox.StandardButton.Cancel

    window.ask_save = keep  # type: ignore[method-assign]
    window.document.add_node("template")  # unsaved changes: closing asks first
    exits: list[int] = []
    undo = install_interrupt(window, hard_exit=exits.append)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: bool(asked))
        assert window.isVisible()  # "Cancel" kept it open, with its changes
        assert exits == []
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: bool(exits))
        assert exits == [130]
    finally:
        undo()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_closes_an_unmodified_editor(window: MainWindow, qtbot: Any) -> None:
    assert not window.document.dirty
    exits: list[int] = []
    undo = install_interrupt(window, hard_exit=exits.append)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        qtbot.waitUntil(lambda: not window.isVisible())
    finally:
        undo()
    assert exits == []


def studio(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "genarun_studio.qt.app", "--project", str(tmp_path / "p"), *args],
        env={**env, "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_ctrl_c_in_the_terminal_ends_the_process_cleanly(tmp_path: Path) -> None:
    proc = studio(tmp_path, {**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if READY in line:
                break
        assert any(READY in line for line in seen), "".join(seen)
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 0, rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "closing the editor" in rest
    assert "Traceback" not in rest
    assert "KeyboardInterrupt" not in rest


def test_without_a_display_it_says_how_to_run_and_exits_2(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    proc = studio(tmp_path, env)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "no display" in lines[0]
    assert "--screenshot" in lines[0]
    assert "QT_QPA_PLATFORM=offscreen" in lines[0]
    assert "Reinstalling" not in err
