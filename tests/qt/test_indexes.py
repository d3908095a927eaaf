"""The index browser: lists the project's indexes, queries in a worker thread, shows image
hits as thumbnails, adds a folder without freezing the window."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore
from PySide6.QtWidgets import QFileDialog, QInputDialog

from genarun_studio.qt.panels.indexes import IndexBrowser
from genarun_studio.rag import IndexStore
from tests.rag.conftest import minilm, tiny_clip, write_images

__all__ = ["minilm", "tiny_clip"]  # fixtures used here


def _notes(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "gecko.md").write_text("Leopard geckos hunt crickets at night.")
    (folder / "bread.txt").write_text("Knead the dough and bake the bread until golden.")
    return folder


def test_lists_indexes_and_shows_text_hits(qtbot: Any, tmp_path: Path, minilm: object) -> None:
    asyncio.run(IndexStore(tmp_path).add_files("notes", [_notes(tmp_path / "notes")]))
    browser = IndexBrowser(tmp_path)
    qtbot.addWidget(browser)
    assert browser.index_names() == ["notes"]
    assert browser.selected_index() == "notes"
    item = browser.indexes.topLevelItem(0)
    assert item is not None
    assert (item.text(1), item.text(2)) == ("2", "minilm")

    browser.query.setText("what do lizards eat")
    with qtbot.waitSignal(browser.resultsReady, timeout=60_000) as blocker:
        qtbot.keyClick(browser.query, QtCore.Qt.Key.Key_Return)
    hits = blocker.args[0]
    assert hits[0].source == "notes/gecko.md"
    assert browser.results.count() == 2
    first = browser.results.item(0)
    assert first is not None
    assert "notes/gecko.md" in first.text()
    assert "Leopard geckos" in first.text()
    assert first.data(QtCore.Qt.ItemDataRole.UserRole)["source"] == "notes/gecko.md"
    assert browser.status.text() == "2 hit(s)"
    assert not browser.busy


def test_only_the_latest_search_is_shown(qtbot: Any, tmp_path: Path, minilm: object) -> None:
    asyncio.run(IndexStore(tmp_path).add_files("notes", [_notes(tmp_path / "notes")]))
    browser = IndexBrowser(tmp_path)
    qtbot.addWidget(browser)
    shown: list[list[Any]] = []
    browser.resultsReady.connect(shown.append)
    browser.k.setValue(1)
    browser.search("what do lizards eat")
    browser.search("how to bake bread")  # typed before the first one came back
    qtbot.waitUntil(lambda: not browser.busy, timeout=60_000)
    assert [[h.source for h in hits] for hits in shown] == [["notes/bread.txt"]]
    first = browser.results.item(0)
    assert first is not None
    assert "bread" in first.text()


def test_image_hits_show_thumbnails(qtbot: Any, tmp_path: Path, tiny_clip: str) -> None:
    write_images(tmp_path / "stills", ["red", "green"])
    asyncio.run(IndexStore(tmp_path).add_files("stills", [tmp_path / "stills"], model=tiny_clip))
    browser = IndexBrowser(tmp_path)
    qtbot.addWidget(browser)
    with qtbot.waitSignal(browser.resultsReady, timeout=60_000):
        browser.search("a red square")
    assert browser.results.count() == 2
    for row in range(2):
        item = browser.results.item(row)
        assert item is not None
        assert not item.icon().isNull()
        assert item.toolTip().endswith((".png", ".jpg"))


def test_add_files_asks_the_model_of_a_new_index(
    qtbot: Any, tmp_path: Path, tiny_clip: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the three dialogs answered as a user would: a new name, a CLIP model, a folder
    write_images(tmp_path / "stills", ["red", "green"])
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("pics", True))
    asked: list[list[str]] = []

    def get_item(parent: Any, title: str, label: str, items: list[str], *rest: Any) -> Any:
        asked.append(items)
        return (f"{tiny_clip} — typed in", True)

    monkeypatch.setattr(QInputDialog, "getItem", get_item)
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "stills")
    )
    browser = IndexBrowser(tmp_path)
    qtbot.addWidget(browser)
    with qtbot.waitSignal(browser.indexAdded, timeout=60_000):
        browser.add_button.click()
    assert len(asked) == 1
    assert asked[0][0].startswith("minilm")
    assert IndexStore(tmp_path).info("pics").embedder == tiny_clip
    assert IndexStore(tmp_path).info("pics").count == 2
    asked.clear()
    with qtbot.waitSignal(browser.indexAdded, timeout=60_000):
        browser.add_button.click()  # an index that exists keeps its model: no question
    assert asked == []


def test_adding_a_folder_runs_in_the_background(qtbot: Any, tmp_path: Path, minilm: object) -> None:
    browser = IndexBrowser(tmp_path)
    qtbot.addWidget(browser)
    assert browser.index_names() == []
    assert "No indexes yet" in browser.status.text()
    with qtbot.waitSignal(browser.indexAdded, timeout=60_000):
        browser.add_files("fresh", [_notes(tmp_path / "notes")])
        assert browser.busy  # the call returned at once; the work goes on in a thread
        assert not browser.search_button.isEnabled()
    assert browser.index_names() == ["fresh"]
    assert browser.selected_index() == "fresh"
    assert "2 chunk(s) added" in browser.status.text()
    assert browser.search_button.isEnabled()


def test_errors_are_shown_as_one_sentence(qtbot: Any, tmp_path: Path) -> None:
    browser = IndexBrowser(tmp_path)
    qtbot.addWidget(browser)
    with qtbot.waitSignal(browser.failed, timeout=10_000) as blocker:
        browser.add_files("notes", [tmp_path / "missing"])
    assert blocker.args[0].startswith("no such file or folder")
    assert browser.status.text() == blocker.args[0]
    browser.search("anything")
    assert browser.status.text() == "Select an index first."


def test_the_main_window_has_an_indexes_dock(qtbot: Any, tmp_path: Path) -> None:
    from genarun_studio.qt.main_window import MainWindow

    (tmp_path / "project" / ".genarun" / "indexes").mkdir(parents=True)
    asyncio.run(
        IndexStore(tmp_path / "project").add_chunks(
            "memo", [], model="openai:text-embedding-3-small"
        )
    )
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(tmp_path / "project", settings=settings)
    qtbot.addWidget(window)
    assert window.indexes_dock.windowTitle() == "Indexes"
    assert window.indexes_dock.toggleViewAction() in window.menuBar().actions()[2].menu().actions()
    assert window.index_browser.index_names() == ["memo"]


def test_a_run_in_the_editor_fills_the_indexes_dock(
    qtbot: Any, tmp_path: Path, minilm: object
) -> None:
    import qasync
    from PySide6 import QtWidgets

    from genarun_studio.qt.main_window import MainWindow

    app = QtWidgets.QApplication.instance()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        settings = QtCore.QSettings(
            str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat
        )
        window = MainWindow(tmp_path / "project", settings=settings)
        qtbot.addWidget(window)
        window.ask_save = lambda name: QtWidgets.QMessageBox.StandardButton.Discard  # type: ignore[method-assign]
        example = Path(__file__).parents[2] / "resources/examples/research-notes.genarun.json"
        assert window.open_path(str(example))
        assert window.index_browser.index_names() == []
        window.mock_box.setChecked(True)
        window._start(window._options(), inputs={})
        summary = loop.run_until_complete(asyncio.wait_for(window.runner.wait(), 120))
        assert summary.status == "finished"
        qtbot.waitUntil(lambda: len(window.index_browser.index_names()) == 2, timeout=5000)
        assert window.index_browser.index_names() == ["series-articles", "series-notes"]
    finally:
        loop.close()
        asyncio.set_event_loop(None)
