"""The index browser: the project's retrieval indexes, their counts, and a query box.

The list reads index manifests only (no FAISS or model import), so opening the editor stays
fast. Queries and "Add files…" embed in a worker thread (loading a model takes seconds, and
CLIP embeds slowly on a CPU); results come back through a queued signal, so the window never
freezes. Text hits show their score, source and text; image hits show a thumbnail, decoded
in the worker thread too.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.errors import GenarunError

__all__ = ["IndexBrowser"]

THUMB = 96
MODEL_CHOICES = [
    "minilm — texts, Markdown and PDF (offline)",
    "clip — images and texts in one space (downloads its weights once)",
]
"""What "Add files…" offers for a new index (editable: any ``--model`` spec works)."""


class _Relay(QObject):
    """Carries a worker thread's result to the GUI thread (a queued connection)."""

    done = Signal(object, object)  # (callback, result or exception)


class IndexBrowser(QWidget):
    """Indexes of the project in ``project_root``, and queries against the selected one."""

    resultsReady = Signal(list)
    """The hits of a finished query (``Hit`` objects), best first."""
    indexAdded = Signal(str)
    """An "Add files…" finished; the index's name."""
    failed = Signal(str)
    """A query or an add failed; the one-sentence message."""

    def __init__(self, project_root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project_root = Path(project_root)
        self._relay = _Relay(self)
        self._relay.done.connect(self._deliver)
        self._busy = 0
        self._searches = 0

        self.indexes = QTreeWidget()
        self.indexes.setHeaderLabels(["Index", "Entries", "Model"])
        self.indexes.setRootIsDecorated(False)
        self.indexes.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.add_button = QPushButton("Add files…")
        self.add_button.setToolTip("Index files or a folder into the selected (or a new) index")
        self.add_button.clicked.connect(self._ask_add)

        self.query = QLineEdit()
        self.query.setPlaceholderText("Search the selected index…")
        self.query.returnPressed.connect(lambda: self.search(self.query.text()))
        self.k = QSpinBox()
        self.k.setRange(1, 200)
        self.k.setValue(10)
        self.k.setPrefix("top ")
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(lambda: self.search(self.query.text()))
        self.results = QListWidget()
        self.results.setIconSize(QSize(THUMB, THUMB))
        self.results.setWordWrap(True)
        self.results.setAlternatingRowColors(True)
        self.status = QLabel()
        self.status.setWordWrap(True)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.indexes)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.add_button)
        left_layout.addLayout(buttons)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.query, 1)
        row.addWidget(self.k)
        row.addWidget(self.search_button)
        right_layout.addLayout(row)
        right_layout.addWidget(self.results, 1)
        right_layout.addWidget(self.status)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)
        self.refresh()

    # -- the list ------------------------------------------------------------------------

    def _store(self) -> Any:
        from genarun_studio.rag import IndexStore

        return IndexStore(self.project_root)

    def set_project(self, project_root: Path) -> None:
        self.project_root = Path(project_root)
        self.refresh()

    def refresh(self) -> None:
        """List the indexes again (manifests only), keeping the selection."""
        current = self.selected_index()
        store = self._store()
        self.indexes.clear()
        for name in store.names():
            try:
                info = store.info(name, deep=False)
            except GenarunError as exc:
                item = QTreeWidgetItem([name, "?", str(exc)])
            else:
                item = QTreeWidgetItem([name, str(info.count), info.embedder])
                item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
                item.setToolTip(
                    2, f"{info.embedder}\n{info.kind} search, {info.dim or '?'} dimensions"
                )
            self.indexes.addTopLevelItem(item)
            if name == current or (current is None and self.indexes.topLevelItemCount() == 1):
                self.indexes.setCurrentItem(item)
        for column in range(2):
            self.indexes.resizeColumnToContents(column)
        if not store.names():
            self.status.setText("No indexes yet: add files here, or `genarun index add`.")

    def _items(self) -> list[QTreeWidgetItem]:
        count = self.indexes.topLevelItemCount()
        return [item for i in range(count) if (item := self.indexes.topLevelItem(i)) is not None]

    def index_names(self) -> list[str]:
        return [item.text(0) for item in self._items()]

    def selected_index(self) -> str | None:
        item = self.indexes.currentItem()
        return item.text(0) if item is not None else None

    def select_index(self, name: str) -> None:
        for item in self._items():
            if item.text(0) == name:
                self.indexes.setCurrentItem(item)

    # -- work in a thread ----------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._busy > 0

    def _in_thread(self, work: Callable[[], Any], then: Callable[[Any], None]) -> None:
        self._busy += 1
        self.search_button.setEnabled(False)
        self.add_button.setEnabled(False)

        def target() -> None:
            try:
                result: Any = work()
            except Exception as exc:  # delivered to the GUI thread and shown there
                result = exc
            self._relay.done.emit(then, result)

        threading.Thread(target=target, name="genarun-index-browser", daemon=True).start()

    def _deliver(self, then: Any, result: Any) -> None:
        self._busy -= 1
        if not self._busy:
            self.search_button.setEnabled(True)
            self.add_button.setEnabled(True)
        if isinstance(result, GenarunError):
            self.status.setText(str(result))
            self.failed.emit(str(result))
            return
        if isinstance(result, Exception):
            message = f"internal error: {type(result).__name__}: {result}"
            self.status.setText(message)
            self.failed.emit(message)
            return
        then(result)

    # -- searching -----------------------------------------------------------------------

    def search(self, text: str) -> None:
        """Query the selected index in a worker thread; :attr:`resultsReady` on success."""
        name = self.selected_index()
        if name is None:
            self.status.setText("Select an index first.")
            return
        if not text.strip():
            self.status.setText("Type what to look for.")
            return
        k = self.k.value()
        store = self._store()
        self.status.setText(f"Searching {name}…")
        self._searches += 1
        number = self._searches

        def work() -> list[tuple[Any, QImage | None]]:
            hits = asyncio.run(store.query(name, text, k=k))
            return [(hit, _thumbnail(hit.asset) if hit.asset else None) for hit in hits]

        def then(found: list[tuple[Any, QImage | None]]) -> None:
            if number == self._searches:  # an older search that ends late is not shown
                self._show(found)

        self._in_thread(work, then)

    def _show(self, found: list[tuple[Any, QImage | None]]) -> None:
        self.results.clear()
        for hit, image in found:
            score = "" if hit.score is None else f"{hit.score:.3f}  "
            page = f" p.{hit.entry['page']}" if hit.entry.get("page") else ""
            if hit.asset:
                item = QListWidgetItem(f"{score}{Path(hit.asset).name}\n{hit.source}")
                if image is not None and not image.isNull():
                    item.setIcon(QPixmap.fromImage(image))
                item.setToolTip(hit.asset)
            else:
                body = " ".join((hit.text or "").split())
                short = body if len(body) <= 300 else body[:297] + "…"
                item = QListWidgetItem(f"{score}{hit.source}{page}\n{short}")
                item.setToolTip(body[:2000])
            item.setData(Qt.ItemDataRole.UserRole, hit.to_json())
            self.results.addItem(item)
        self.status.setText(f"{len(found)} hit(s)" if found else "No hits.")
        self.resultsReady.emit([hit for hit, _ in found])

    # -- adding --------------------------------------------------------------------------

    def _ask_add(self) -> None:
        name = self.selected_index()
        name, ok = QInputDialog.getText(self, "Add to index", "Index name:", text=name or "notes")
        if not ok or not name.strip():
            return
        name = name.strip()
        model = None
        if name not in self.index_names():  # a new index: which model makes it
            choice, ok = QInputDialog.getItem(
                self, "New index", f"Model of the new index {name!r}:", MODEL_CHOICES, 0, True
            )
            if not ok:
                return
            model = choice.partition(" — ")[0].strip() or None
        folder = QFileDialog.getExistingDirectory(self, "Folder to index", str(self.project_root))
        if folder:
            self.add_files(name, [Path(folder)], model=model)

    def add_files(self, name: str, paths: list[Path], model: str | None = None) -> None:
        """Index ``paths`` into ``name`` in a worker thread; :attr:`indexAdded` when done."""
        store = self._store()
        self.status.setText(f"Indexing into {name}…")

        def work() -> Any:
            return asyncio.run(store.add_files(name, paths, model=model))

        def then(report: Any) -> None:
            self.refresh()
            self.select_index(name)
            empty = (
                f"; {len(report.empty)} file(s) held no text (scanned PDFs?)"
                if report.empty
                else ""
            )
            self.status.setText(
                f"{name}: {report.added} chunk(s) added, {report.unchanged} file(s) unchanged; "
                f"{report.count} in the index{empty}"
            )
            self.indexAdded.emit(name)

        self._in_thread(work, then)


def _thumbnail(path: str) -> QImage | None:
    image = QImage(path)
    if image.isNull():
        return None
    return image.scaled(
        THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
