"""The editor opens the original Genarun's JavaScript trees (File > Open, drag and drop)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtWidgets

from genarun_studio.qt.main_window import MainWindow
from tests.qt.test_editor import run_until_finished

EXAMPLE = Path(__file__).parents[2] / "resources" / "examples" / "original-style.js"


def choose_in_open_dialog(monkeypatch: pytest.MonkeyPatch, path: Path) -> dict[str, str]:
    """Answer File > Open with ``path``; returns what the dialog was asked (its filter)."""
    asked: dict[str, str] = {}

    def fake(parent: Any, caption: str, folder: str, filters: str) -> tuple[str, str]:
        asked["filters"] = filters
        return str(path), filters.split(";;")[0]

    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", staticmethod(fake))
    return asked


def test_file_open_offers_and_opens_a_js_tree_that_saves_elsewhere(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked = choose_in_open_dialog(monkeypatch, EXAMPLE)
    window.open_dialog()
    assert "*.js" in asked["filters"].split(";;")[0]
    assert window.document.tree.source_format == "javascript"
    assert window.document.path is None  # Save asks where: the module is never written
    canvas = window.canvas
    assert canvas is not None
    assert canvas.children_of("almanac") == ["festivals"]
    assert canvas.parent_of("poster") == "profile"
    assert "JavaScript" in window.statusBar().currentMessage()
    assert window.document.problems() == []
    window._save_to(tmp_path / "almanac.genarun.json")
    assert json.loads((tmp_path / "almanac.genarun.json").read_text())["format"] == "genarun/1"


def test_a_bad_js_tree_is_reported_with_line_and_column(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.js"
    bad.write_text("export const t = {\n  type: `x ${y}`,\n};\n")
    choose_in_open_dialog(monkeypatch, bad)
    window.open_dialog()
    assert f"{bad}: line 2, column 14:" in window.last_warning
    assert window.document.tree.source_format == "native"  # the empty tree stays


def test_dropping_a_js_tree_on_the_canvas_opens_it(window: MainWindow) -> None:
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(EXAMPLE))])
    window.canvas.drop(mime, QtCore.QPointF(10, 10))  # type: ignore[union-attr]
    assert window.document.tree.nodes[0].id == "almanac"


def test_a_js_tree_runs_on_the_mock_in_the_editor(
    window: MainWindow, loop: asyncio.AbstractEventLoop
) -> None:
    assert window.open_path(EXAMPLE)
    window.mock_box.setChecked(True)
    window._start(window._options(), inputs={"year": "2024"})
    summary = run_until_finished(window, loop)
    assert summary.status == "finished"
    run = window.runner.run
    assert run is not None
    assert {i.state for i in run.instances.values()} == {"done"}
