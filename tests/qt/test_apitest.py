"""The editor's "Test call" window and the api node's generated form (offscreen, qasync)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtWidgets

from genarun_studio.qt.dialogs.apitest import ApiTestDialog
from genarun_studio.qt.forms import NodeForm
from genarun_studio.qt.main_window import MainWindow

BRIEF = Path(__file__).parents[2] / "resources" / "examples" / "morning-brief.genarun.json"


@pytest.fixture
def window(window: MainWindow) -> MainWindow:
    window.ask_inputs = lambda last: {"city": "Oslo"}  # type: ignore[method-assign]
    return window


def test_test_call_shows_the_fill_request_and_response_on_mock(
    window: MainWindow, loop: asyncio.AbstractEventLoop
) -> None:
    assert window.open_path(BRIEF)
    window.mock_box.setChecked(True)
    assert window.canvas is not None
    window.canvas.select(["weather"])
    QtWidgets.QApplication.processEvents()
    dialog = window.test_call()
    assert isinstance(dialog, ApiTestDialog)
    loop.run_until_complete(asyncio.wait_for(dialog.wait(), 60))
    text = dialog.text.toPlainText()
    assert "== weather: done" in text
    assert "current_weather(" in text
    assert "GET https://api.open-meteo.com/v1/forecast" in text
    assert "(mock: nothing was sent)" in text
    assert "Current weather in Oslo." in str(dialog.outcome.instances[0].plan)  # type: ignore[union-attr]
    assert dialog.call_button.isEnabled()


def test_the_api_form_has_a_test_call_button(
    window: MainWindow, loop: asyncio.AbstractEventLoop
) -> None:
    assert window.open_path(BRIEF)
    window.mock_box.setChecked(True)
    assert window.canvas is not None
    window.canvas.select(["greeting"])  # a text node: no button
    QtWidgets.QApplication.processEvents()
    assert window.properties.widget().findChild(QtWidgets.QPushButton, "testCallButton") is None
    window.canvas.select(["weather"])
    QtWidgets.QApplication.processEvents()
    button = window.properties.widget().findChild(QtWidgets.QPushButton, "testCallButton")
    assert isinstance(button, QtWidgets.QPushButton)
    button.click()
    dialog = window._test_dialog
    assert isinstance(dialog, ApiTestDialog)
    loop.run_until_complete(asyncio.wait_for(dialog.wait(), 60))
    assert "== weather: done" in dialog.text.toPlainText()
    dialog.close()


def test_test_call_needs_one_selected_node(window: MainWindow) -> None:
    assert window.open_path(BRIEF)
    assert window.test_call() is None


def test_the_api_form_edits_the_definition_as_text(window: MainWindow) -> None:
    assert window.open_path(BRIEF)
    form = NodeForm(window.document, "weather", ["text"])
    operation = form.field_widget("config.assemble.operation")
    assert isinstance(operation, QtWidgets.QPlainTextEdit)
    instruction = form.field_widget("config.assemble.instruction")
    assert isinstance(instruction, QtWidgets.QPlainTextEdit)
    assert instruction.toPlainText() == "Current weather in ${city}."
    form.deleteLater()


def test_the_inspector_shows_the_fill_and_the_http_call(qtbot: Any, tmp_path: Path) -> None:
    from genarun_studio.qt.panels.inspector import InstanceInspector
    from tests.qt.test_panels import instances_of, run_tree

    run = run_tree(BRIEF, tmp_path)
    inspector = InstanceInspector()
    qtbot.addWidget(inspector)
    inspector.show_node("weather", instances_of(run, "weather"), run.folder.path)
    answers = inspector.section_texts("Answers")
    assert any(text.startswith("current_weather({") for text in answers)
    assert (
        "GET https://api.open-meteo.com/v1/forecast\nHTTP 200 (mock: nothing was sent)" in answers
    )
