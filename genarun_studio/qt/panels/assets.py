"""A run's images as a gallery of thumbnails, each with its node and prompt.

:class:`AssetGallery` lists the image files the run's instances saved (``assets_json`` of
the index's instance rows, so no folder is scanned) in a :class:`QListView` in icon mode over
an :class:`AssetModel`: the view asks only for the items it paints, so 500 images cost 500
small records until they scroll into view.

Thumbnails are made with Pillow on a small :class:`QThreadPool` (never on the UI thread)
and cached on disk under the project's ``.genarun/thumbs/``, named by a hash of the image's
path, modification time and size (and the thumbnail size), so a changed file gets a new
thumbnail and an unchanged one is never made twice. An item shows a placeholder until its
thumbnail arrives. Items the view paints are asked for first; once those are queued, the rest
are queued behind them at a lower priority, so scrolling finds them ready.

Actions: open an image full size (inside the editor; "Open in the default app" hands it to
the system viewer), open the run folder in the system file manager, copy an image's path.
:meth:`AssetGallery.open_external` is the one place that hands a URL to the desktop (tests
replace it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QDesktopServices, QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.store.index import RunIndex
from genarun_studio.store.runlogs import IMAGE_SUFFIXES, read_log_records

__all__ = [
    "IMAGE_SUFFIXES",
    "THUMB_SIZE",
    "Asset",
    "AssetGallery",
    "AssetModel",
    "make_thumbnail",
    "thumbnail_path",
    "thumbnails_of",
    "wait_for_thumbnails",
]

THUMB_SIZE = 160
"""Longest side of a thumbnail, in pixels."""
PATH_ROLE = int(Qt.ItemDataRole.UserRole)
ModelIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class Asset:
    """One image of a run: its file, the instance that made it and the prompt it sent."""

    path: Path
    key: str
    node_id: str
    prompt: str


def thumbnail_path(cache_dir: Path, image: Path, size: int = THUMB_SIZE) -> Path:
    """Where the thumbnail of ``image`` (as it is now on disk) is cached."""
    stat = image.stat()
    key = f"{image.resolve()}|{stat.st_mtime_ns}|{stat.st_size}|{size}"
    return cache_dir / f"{hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()}.png"


def thumbnails_of(cache_dir: Path, run_dir: Path, size: int = THUMB_SIZE) -> list[Path]:
    """The cached thumbnails of a run's images (as they are on disk now), made or not:
    what deleting the run should take with it."""
    try:
        files = [p for p in (run_dir / "assets").iterdir() if p.is_file()]
    except OSError:
        return []
    found: list[Path] = []
    for image in files:
        try:
            found.append(thumbnail_path(cache_dir, image, size))
        except OSError:
            continue
    return found


def make_thumbnail(image: Path, cache_dir: Path, size: int = THUMB_SIZE) -> Path:
    """The cached thumbnail of ``image``, made with Pillow when missing; raises OSError
    (or Pillow's errors) for a file that is not a readable image."""
    from PIL import Image

    target = thumbnail_path(cache_dir, image, size)
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with Image.open(image) as source:
        source.draft("RGB", (size, size))  # JPEG: decode at a fraction of the size
        thumb = source.convert("RGBA") if source.mode in ("P", "LA") else source.copy()
        thumb.thumbnail((size, size))
    fd, tmp = tempfile.mkstemp(prefix=".thumb-", suffix=".png", dir=cache_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            thumb.save(fh, format="PNG")
        os.replace(tmp, target)  # two makers of one thumbnail never show half a file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


class _ThumbnailSignals(QObject):
    made = Signal(str, QImage)
    failed = Signal(str, str)


class _ThumbnailJob(QRunnable):
    def __init__(self, image: Path, cache_dir: Path, signals: _ThumbnailSignals) -> None:
        super().__init__()
        self.image = image
        self.cache_dir = cache_dir
        self.signals = signals

    def run(self) -> None:
        try:
            thumb = QImage(str(make_thumbnail(self.image, self.cache_dir)))
            if thumb.isNull():
                raise OSError("the thumbnail could not be read back")
        except Exception as exc:  # any unreadable file: report it on the item, go on
            with contextlib.suppress(RuntimeError):  # RuntimeError: the gallery is gone
                self.signals.failed.emit(str(self.image), f"{type(exc).__name__}: {exc}")
            return
        with contextlib.suppress(RuntimeError):
            self.signals.made.emit(str(self.image), thumb)


class AssetModel(QAbstractListModel):
    """The images of one run. ``DecorationRole`` asks for a thumbnail the first time an
    item is painted; :attr:`thumbnailReady` says when one arrives."""

    thumbnailReady = Signal(int)
    """The row whose thumbnail arrived (or failed)."""
    allThumbnailsMade = Signal()

    def __init__(self, cache_dir: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache_dir = cache_dir or Path(tempfile.gettempdir()) / "genarun-thumbs"
        self.assets: list[Asset] = []
        self._rows: dict[str, int] = {}
        self._pixmaps: dict[str, QPixmap] = {}
        self._errors: dict[str, str] = {}
        self._requested: set[str] = set()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, min(2, QThreadPool.globalInstance().maxThreadCount())))
        self._signals = _ThumbnailSignals(self)
        self._signals.made.connect(self._on_made)
        self._signals.failed.connect(self._on_failed)
        self._placeholder = QPixmap(THUMB_SIZE, THUMB_SIZE)
        self._placeholder.fill(QColor("#2a3038"))
        self._broken = QPixmap(THUMB_SIZE, THUMB_SIZE)
        self._broken.fill(QColor("#5a1e1e"))

    def set_assets(self, assets: list[Asset]) -> None:
        self.beginResetModel()
        self.pool.clear()  # queued jobs of the previous run are not needed any more
        self.assets = assets
        self._rows = {str(a.path): row for row, a in enumerate(assets)}
        self._pixmaps = {}
        self._errors = {}
        self._requested = set()
        self.endResetModel()

    @property
    def pending(self) -> int:
        """Thumbnails asked for and not arrived yet."""
        return len(self._requested) - len(self._pixmaps) - len(self._errors)

    @property
    def requested(self) -> int:
        """Thumbnails asked for so far (painted items, then the rest in the background)."""
        return len(self._requested)

    @property
    def complete(self) -> bool:
        """Every thumbnail of the model is made (or failed)."""
        return self.pending == 0 and len(self._requested) == len(self.assets)

    @property
    def made(self) -> int:
        return len(self._pixmaps)

    def has_thumbnail(self, row: int) -> bool:
        return str(self.assets[row].path) in self._pixmaps

    def error(self, row: int) -> str | None:
        return self._errors.get(str(self.assets[row].path))

    def request(self, row: int, priority: int = 1) -> None:
        """Queue the thumbnail of ``row`` unless it is made or already queued."""
        path = str(self.assets[row].path)
        if path in self._requested:
            return
        self._requested.add(path)
        job = _ThumbnailJob(self.assets[row].path, self.cache_dir, self._signals)
        self.pool.start(job, priority)

    def request_all(self) -> None:
        """Queue every thumbnail not yet queued, behind those already asked for."""
        for row in range(len(self.assets)):
            self.request(row, priority=0)

    def shutdown(self) -> None:
        """Drop queued jobs and wait for the running ones (before the model goes away)."""
        self.pool.clear()
        self.pool.waitForDone()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.assets)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        asset = self.assets[index.row()]
        path = str(asset.path)
        if role == Qt.ItemDataRole.DecorationRole:
            pixmap = self._pixmaps.get(path)
            if pixmap is not None:
                return pixmap
            if path in self._errors:
                return self._broken
            self.request(index.row(), priority=1)
            return self._placeholder
        if role == Qt.ItemDataRole.DisplayRole:
            return asset.key
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [asset.key, asset.prompt[:600] or "(no prompt recorded)", path]
            if path in self._errors:
                lines.append(f"cannot show it: {self._errors[path]}")
            return "\n".join(lines)
        if role == PATH_ROLE:
            return path
        return None

    def _on_made(self, path: str, image: QImage) -> None:
        row = self._rows.get(path)
        if row is None or path not in self._requested:  # asked for before a reset
            return
        self._pixmaps[path] = QPixmap.fromImage(image)
        self._changed(row)

    def _on_failed(self, path: str, error: str) -> None:
        row = self._rows.get(path)
        if row is None or path not in self._requested:
            return
        self._errors[path] = error
        self._changed(row)

    def _changed(self, row: int) -> None:
        index = self.index(row, 0)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
        self.thumbnailReady.emit(row)
        if self.complete:
            self.allThumbnailsMade.emit()


def run_assets(index: RunIndex, run_id: str) -> list[Asset]:
    """The image files of a run, in instance order, with each one's node and prompt.

    The files come from the index; the prompts from the run's ``logs.json`` (or journal).
    Files that are gone are left out."""
    run = index.run(run_id)
    if run is None:
        return []
    run_dir = Path(str(run["run_dir"]))
    records, _source = read_log_records(run_dir, run_id)
    prompts: dict[str, str] = {}
    for record in records:
        for call in record.get("calls") or []:
            prompt = call.get("prompt") if isinstance(call, dict) else None
            if prompt:
                prompts[str(record["key"])] = str(prompt)
    assets: list[Asset] = []
    for inst in index.instances(run_id):
        try:
            files = json.loads(inst.get("assets_json") or "[]")
        except ValueError:
            continue
        for rel in files:
            path = run_dir / str(rel)
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                key = str(inst["key"])
                assets.append(Asset(path, key, str(inst["node_id"]), prompts.get(key, "")))
    return assets


def wait_for_thumbnails(gallery: AssetGallery, timeout_s: float = 60.0) -> bool:
    """Process events until every thumbnail of ``gallery`` is made (for screenshots and
    benchmarks); whether they all came within ``timeout_s``."""
    import time

    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout_s
    QCoreApplication.processEvents()
    while not gallery.model.complete:
        if time.monotonic() > deadline:
            return False
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.002)
    QCoreApplication.processEvents()
    return True


class ImageViewer(QDialog):
    """One image at full size (scrollable), its node, key and prompt."""

    def __init__(self, asset: Asset, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{asset.node_id} — {asset.path.name}")
        self.image = QLabel(self)
        self.pixmap = QPixmap(str(asset.path))
        self.image.setPixmap(self.pixmap)
        scroll = QScrollArea(self)
        scroll.setWidget(self.image)
        scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        caption = QLabel(f"{asset.key}\n{asset.prompt}", self)
        caption.setWordWrap(True)
        caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(caption)
        screen = QGuiApplication.primaryScreen()
        limit = screen.availableSize() * 0.8 if screen is not None else QSize(1200, 900)
        self.resize(
            min(self.pixmap.width() + 40, limit.width()),
            min(self.pixmap.height() + 100, limit.height()),
        )


class AssetGallery(QWidget):
    """The Assets view of one run: a node filter, actions, and the thumbnail grid."""

    def __init__(self, index: RunIndex | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._index = index
        self._run_id: str | None = None
        self._run_dir: Path | None = None
        self._all: list[Asset] = []
        self._later: str | None = None
        self.viewers: list[ImageViewer] = []
        self.model = AssetModel(self._cache_dir(), self)

        self.title = QLabel("<i>No run selected</i>", self)
        self.node_combo = QComboBox(self)
        self.node_combo.setToolTip("Show the images of one node")
        self.node_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.open_button = QPushButton("Open full size", self)
        self.folder_button = QPushButton("Open run folder", self)
        self.folder_button.setToolTip("Show the run's folder in the system file manager")
        self.copy_button = QPushButton("Copy path", self)

        self.view = QListView(self)
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(100)
        self.view.setUniformItemSizes(True)
        self.view.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.view.setGridSize(QSize(THUMB_SIZE + 24, THUMB_SIZE + 2 * self.fontMetrics().height()))
        self.view.setSpacing(4)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for text, slot in (
            ("Open full size", self.open_full_size),
            ("Open in the default app", self.open_in_default_app),
            ("Copy path", self.copy_path),
            ("Open run folder", self.open_run_folder),
        ):
            action = QAction(text, self.view)
            action.triggered.connect(slot)
            self.view.addAction(action)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.title, 1)
        bar.addWidget(self.node_combo)
        bar.addWidget(self.open_button)
        bar.addWidget(self.copy_button)
        bar.addWidget(self.folder_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

        self.node_combo.currentIndexChanged.connect(self._apply_node)
        self.open_button.clicked.connect(self.open_full_size)
        self.folder_button.clicked.connect(self.open_run_folder)
        self.copy_button.clicked.connect(self.copy_path)
        self.view.doubleClicked.connect(lambda _i: self.open_full_size())
        self.view.selectionModel().currentChanged.connect(self._update_buttons)
        self._update_buttons()

    # -- data ----------------------------------------------------------------------------

    def _cache_dir(self) -> Path | None:
        return self._index.path.parent / "thumbs" if self._index is not None else None

    def thumbnails_of(self, run_id: str) -> list[Path]:
        """The cache files of a run's thumbnails (to remove with the run)."""
        cache = self._cache_dir()
        row = self._index.run(run_id) if self._index is not None else None
        if cache is None or row is None:
            return []
        return thumbnails_of(cache, Path(row["run_dir"]))

    def set_index(self, index: RunIndex | None) -> None:
        self._index = index
        cache = self._cache_dir()
        if cache is not None:
            self.model.cache_dir = cache
        self.show_run(None)

    @property
    def run_id(self) -> str | None:
        return self._run_id

    def show_run(self, run_id: str | None) -> bool:
        """Show the images of ``run_id`` (``None``: none); False for a run not in the index."""
        run = self._index.run(run_id) if self._index is not None and run_id else None
        self._run_id = run_id if run is not None else None
        self._run_dir = Path(str(run["run_dir"])) if run is not None else None
        self._all = (
            run_assets(self._index, run_id)
            if run is not None and self._index is not None and run_id
            else []
        )
        nodes = list(dict.fromkeys(a.node_id for a in self._all))
        self.node_combo.blockSignals(True)
        self.node_combo.clear()
        self.node_combo.addItem("All nodes", None)
        for node in nodes:
            self.node_combo.addItem(node, node)
        self.node_combo.blockSignals(False)
        self._apply_node()
        if run is None:
            self.title.setText(
                "<i>No run selected</i>" if not run_id else f"No run {run_id} in this project"
            )
            return False
        noun = "image" if len(self._all) == 1 else "images"
        self.title.setText(f"<b>{run_id}</b> · {len(self._all)} {noun}")
        return True

    def show_run_when_visible(self, run_id: str) -> None:
        """Show ``run_id`` now if the gallery is visible, else the next time it is shown
        (a hidden dock reads no files)."""
        if self.isVisible():
            self._later = None
            self.show_run(run_id)
        else:
            self._later = run_id

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._later is not None:
            run_id, self._later = self._later, None
            self.show_run(run_id)

    def _apply_node(self, *_args: object) -> None:
        node = self.node_combo.currentData()
        self.model.set_assets([a for a in self._all if node is None or a.node_id == node])
        self._update_buttons()
        # the view asks for the thumbnails it paints first; queue the rest after those
        QTimer.singleShot(0, self.model.request_all)

    # -- actions -------------------------------------------------------------------------

    def current_asset(self) -> Asset | None:
        index = self.view.currentIndex()
        return self.model.assets[index.row()] if index.isValid() else None

    def select(self, row: int) -> None:
        self.view.setCurrentIndex(self.model.index(row, 0))

    def open_full_size(self) -> ImageViewer | None:
        asset = self.current_asset()
        if asset is None:
            return None
        viewer = ImageViewer(asset, self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        viewer.destroyed.connect(lambda _o=None, v=viewer: self._forget(v))
        self.viewers.append(viewer)
        viewer.show()
        return viewer

    def _forget(self, viewer: ImageViewer) -> None:
        if viewer in self.viewers:
            self.viewers.remove(viewer)

    def open_in_default_app(self) -> None:
        asset = self.current_asset()
        if asset is not None:
            self.open_external(QUrl.fromLocalFile(str(asset.path)))

    def open_run_folder(self) -> None:
        if self._run_dir is not None:
            self.open_external(QUrl.fromLocalFile(str(self._run_dir)))

    def copy_path(self) -> None:
        asset = self.current_asset()
        if asset is not None:
            QGuiApplication.clipboard().setText(str(asset.path))

    def open_external(self, url: QUrl) -> bool:
        """Hand ``url`` to the desktop (file manager, image viewer); replaceable in tests."""
        return bool(QDesktopServices.openUrl(url))

    # -- internals -----------------------------------------------------------------------

    def _update_buttons(self, *_args: object) -> None:
        has = self.view.currentIndex().isValid()
        self.open_button.setEnabled(has)
        self.copy_button.setEnabled(has)
        self.folder_button.setEnabled(self._run_dir is not None)

    def closeEvent(self, event: Any) -> None:
        self.model.shutdown()
        super().closeEvent(event)
