"""Choosing a node type to add: the palette panel and the canvas's quick-add popup.

Both are built from a :class:`~genarun_studio.core.registry.Registry`, so node types from
plugins appear beside the built-in ones with no change here. Neither touches the tree: they
only say which type the user asked for (a signal, a drag's MIME data or a return value);
the canvas decides where the node goes and adds it through the document's API.

Matching (the palette's filter and the popup's search) is case-insensitive: every word of
the query must occur in the type's title, id, category or description. Results rank by
where the query matches: title prefix, id prefix, title, id, then the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFrame,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.core.nodetype import NodeType
from genarun_studio.core.registry import Registry, default_registry

__all__ = ["NODE_TYPE_MIME", "NodePalette", "QuickAddPopup", "match_rank", "ranked_types"]

NODE_TYPE_MIME = "application/x-genarun-node-type"
"""MIME type of a dragged node type; the data is the type id in UTF-8."""

TYPE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role holding the type id (absent on category and broken-plugin items)."""

_BROKEN_CATEGORY = "Unavailable plugins"


def match_rank(node_type: NodeType, query: str) -> int | None:  # type: ignore[type-arg]
    """How well ``node_type`` matches ``query``: 0 is best, ``None`` is no match.

    An empty query matches everything with rank 0.
    """
    words = query.lower().split()
    if not words:
        return 0
    title = node_type.title.lower()
    type_id = node_type.type_id.lower()
    haystack = " ".join((title, type_id, node_type.category.lower(), node_type.description.lower()))
    if not all(w in haystack for w in words):
        return None
    whole = " ".join(words)
    if title.startswith(whole):
        return 0
    if type_id.startswith(whole):
        return 1
    if whole in title:
        return 2
    if whole in type_id:
        return 3
    return 4


def ranked_types(registry: Registry, query: str) -> list[NodeType]:  # type: ignore[type-arg]
    """The registry's types matching ``query``, best first (then by title)."""
    scored = [
        (rank, t.title.lower(), t.type_id, t)
        for t in registry.types()
        if (rank := match_rank(t, query)) is not None
    ]
    return [t for *_, t in sorted(scored, key=lambda s: s[:3])]


def _tooltip(node_type: NodeType) -> str:  # type: ignore[type-arg]
    description = node_type.description or "No description."
    return (
        f"<b>{_escape(node_type.title)}</b> <code>{_escape(node_type.type_id)}</code>"
        f"<br>{_escape(description)}<br><i>lane: {_escape(node_type.lane)}</i>"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _TypeTree(QTreeWidget):
    """A tree whose type items drag out as :data:`NODE_TYPE_MIME`."""

    def mimeTypes(self) -> list[str]:
        return [NODE_TYPE_MIME]

    def mimeData(self, items: Iterable[QTreeWidgetItem]) -> QMimeData:
        mime = QMimeData()
        ids = [i.data(0, TYPE_ID_ROLE) for i in items if i.data(0, TYPE_ID_ROLE)]
        if ids:
            mime.setData(NODE_TYPE_MIME, ids[0].encode("utf-8"))
            mime.setText(ids[0])
        return mime


class NodePalette(QWidget):
    """A searchable tree of the registry's node types, grouped by category.

    Double-click or Enter on a type, or Enter in the search box (the first visible type),
    emits :attr:`nodeRequested` with the type id. Types drag out with MIME type
    :data:`NODE_TYPE_MIME`. Plugins that failed to load are listed, greyed out, with the
    reason as tooltip.
    """

    nodeRequested = Signal(str)

    def __init__(self, registry: Registry | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search nodes…")
        self.search.setClearButtonEnabled(True)
        self.tree = _TypeTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(1)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setIndentation(14)
        self.empty = QLabel("No node type matches.", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setEnabled(False)
        self.empty.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty)

        self.search.textChanged.connect(self.set_filter)
        self.search.returnPressed.connect(self._request_current)
        self.search.installEventFilter(self)
        self.tree.itemActivated.connect(self._on_activated)

        self._registry = registry or default_registry()
        self._items: dict[str, QTreeWidgetItem] = {}
        self._categories: dict[str, QTreeWidgetItem] = {}
        self._build()

    # -- public API --------------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        return self._registry

    def set_registry(self, registry: Registry) -> None:
        """Rebuild from another registry (e.g. after installing a node pack)."""
        self._registry = registry
        self._build()

    def set_filter(self, text: str) -> None:
        """Show only types matching ``text`` (see :func:`match_rank`); the search box calls
        this as you type. While searching, the first visible type becomes current (what
        Enter requests)."""
        if self.search.text() != text:
            self.search.setText(text)  # re-enters through textChanged
            return
        query = text.strip()
        first: QTreeWidgetItem | None = None
        for category in self._categories.values():
            visible = 0
            for index in range(category.childCount()):
                item = category.child(index)
                type_id = item.data(0, TYPE_ID_ROLE)
                if type_id is None:  # a broken plugin: only when not searching
                    shown = not query
                else:
                    shown = match_rank(self._registry.get(type_id), query) is not None
                item.setHidden(not shown)
                visible += shown
                if shown and first is None and type_id is not None:
                    first = item
            category.setHidden(visible == 0)
            if query and visible:
                category.setExpanded(True)
        if query and first is not None:
            self.tree.setCurrentItem(first)
        else:
            self.tree.clearSelection()
        self.empty.setVisible(first is None and bool(query))

    def visible_type_ids(self) -> list[str]:
        """Type ids currently shown, in tree order."""
        return [
            type_id
            for category in self._categories.values()
            if not category.isHidden()
            for index in range(category.childCount())
            if not (item := category.child(index)).isHidden()
            and (type_id := item.data(0, TYPE_ID_ROLE))
        ]

    def categories(self) -> dict[str, list[str]]:
        """Category → its type ids, as listed (hidden ones included)."""
        return {
            name: [
                category.child(i).data(0, TYPE_ID_ROLE)
                for i in range(category.childCount())
                if category.child(i).data(0, TYPE_ID_ROLE)
            ]
            for name, category in self._categories.items()
            if name != _BROKEN_CATEGORY
        }

    def item_for(self, type_id: str) -> QTreeWidgetItem | None:
        return self._items.get(type_id)

    # -- internals ---------------------------------------------------------------------

    def _build(self) -> None:
        self.tree.clear()
        self._items.clear()
        self._categories.clear()
        bold = QFont(self.tree.font())
        bold.setBold(True)
        by_category: dict[str, list[NodeType]] = {}  # type: ignore[type-arg]
        for node_type in self._registry.types():
            by_category.setdefault(node_type.category or "General", []).append(node_type)
        for name in sorted(by_category, key=str.lower):
            category = self._category_item(name, bold)
            for node_type in sorted(by_category[name], key=lambda t: t.title.lower()):
                item = QTreeWidgetItem(category, [node_type.title])
                item.setData(0, TYPE_ID_ROLE, node_type.type_id)
                item.setToolTip(0, _tooltip(node_type))
                item.setStatusTip(0, node_type.description)
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsDragEnabled
                )
                self._items[node_type.type_id] = item
        if self._registry.broken:
            category = self._category_item(_BROKEN_CATEGORY, bold)
            for name, reason in sorted(self._registry.broken.items()):
                item = QTreeWidgetItem(category, [name])
                item.setToolTip(0, f"This plugin failed to load:\n{reason}")
                item.setFlags(Qt.ItemFlag.NoItemFlags)
            category.setExpanded(False)
        self.set_filter(self.search.text())

    def _category_item(self, name: str, font: QFont) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree, [name])
        item.setFont(0, font)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        item.setExpanded(True)
        self._categories[name] = item
        return item

    def _on_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        type_id = item.data(0, TYPE_ID_ROLE)
        if type_id:
            self.nodeRequested.emit(type_id)

    def _request_current(self) -> None:
        item = self.tree.currentItem()
        if item is not None and not item.isHidden() and item.data(0, TYPE_ID_ROLE):
            self.nodeRequested.emit(item.data(0, TYPE_ID_ROLE))
            return
        visible = self.visible_type_ids()
        if visible:
            self.nodeRequested.emit(visible[0])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.search
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
        ):
            self.tree.setFocus()
            return True
        return super().eventFilter(watched, event)


class QuickAddPopup(QDialog):
    """ComfyUI-style quick add: a search field over a ranked list of node types.

    Type to filter; Up/Down move the selection; Enter picks the selected match (the first
    one unless moved); a click picks an item; Esc or a click outside cancels. The outcome
    is emitted once per opening by :attr:`chosen`: the type id, or ``None`` when cancelled.

    :meth:`ask` is the blocking form (a modal ``exec``); :meth:`open_at` shows the popup
    and returns at once, for callers (and tests) that listen to :attr:`chosen`.
    """

    chosen = Signal(object)
    """``str`` (the picked type id) or ``None`` (cancelled)."""

    def __init__(self, registry: Registry | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup | Qt.WindowType.FramelessWindowHint)
        self._registry = registry or default_registry()
        self._picked: str | None = None
        self._announced = False

        frame = QFrame(self)
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        self.search = QLineEdit(frame)
        self.search.setPlaceholderText("Add a node…")
        self.results = QTreeWidget(frame)
        self.results.setColumnCount(2)
        self.results.setHeaderHidden(True)
        self.results.setRootIsDecorated(False)
        self.results.setUniformRowHeights(True)
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.results.setAllColumnsShowFocus(True)
        self.results.header().setStretchLastSection(False)
        self.results.header().setSectionResizeMode(0, self.results.header().ResizeMode.Stretch)
        self.results.header().setSectionResizeMode(
            1, self.results.header().ResizeMode.ResizeToContents
        )
        self.hint = QLabel(frame)
        self.hint.setWordWrap(True)
        self.hint.setEnabled(False)

        inner = QVBoxLayout(frame)
        inner.setContentsMargins(6, 6, 6, 6)
        inner.setSpacing(4)
        inner.addWidget(self.search)
        inner.addWidget(self.results, 1)
        inner.addWidget(self.hint)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        self.resize(340, 300)

        self.search.textChanged.connect(self._refilter)
        self.search.returnPressed.connect(self._pick_current)
        self.search.installEventFilter(self)
        self.results.itemClicked.connect(lambda item, _col: self._pick(item))
        self.results.currentItemChanged.connect(self._show_hint)

    # -- public API --------------------------------------------------------------------

    @classmethod
    def ask(cls, parent: QWidget | None, registry: Registry, global_pos: QPoint) -> str | None:
        """Show the popup at ``global_pos`` and wait: the picked type id, or ``None``."""
        popup = cls(registry, parent)
        try:
            popup._prepare(global_pos)
            popup.exec()
            return popup.picked
        finally:
            popup.deleteLater()

    def open_at(self, global_pos: QPoint) -> None:
        """Show (non-blocking) at ``global_pos``, search cleared; :attr:`chosen` follows."""
        self._prepare(global_pos)
        self.show()
        self.raise_()
        self.activateWindow()
        self.search.setFocus()

    @property
    def picked(self) -> str | None:
        """The type id picked at the last opening (``None`` if cancelled or still open)."""
        return self._picked

    def matches(self) -> list[str]:
        """Type ids listed for the current search, best first."""
        items = (self.results.topLevelItem(i) for i in range(self.results.topLevelItemCount()))
        return [str(item.data(0, TYPE_ID_ROLE)) for item in items if item is not None]

    # -- internals ---------------------------------------------------------------------

    def _prepare(self, global_pos: QPoint) -> None:
        self._picked = None
        self._announced = False
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self._refilter("")
        self.move(self._on_screen(global_pos))
        self.search.setFocus()

    def _on_screen(self, pos: QPoint) -> QPoint:
        screen = QGuiApplication.screenAt(pos) or QGuiApplication.primaryScreen()
        if screen is None:
            return pos
        area = screen.availableGeometry()
        x = min(max(pos.x(), area.left()), area.right() - self.width())
        y = min(max(pos.y(), area.top()), area.bottom() - self.height())
        return QPoint(x, y)

    def _refilter(self, text: str) -> None:
        self.results.clear()
        for node_type in ranked_types(self._registry, text):
            item = QTreeWidgetItem(self.results, [node_type.title, node_type.category])
            item.setData(0, TYPE_ID_ROLE, node_type.type_id)
            item.setToolTip(0, _tooltip(node_type))
            item.setForeground(1, self.palette().placeholderText())
        first = self.results.topLevelItem(0)
        if first is not None:
            self.results.setCurrentItem(first)
        else:
            self.hint.setText("No node type matches.")

    def _show_hint(self, current: QTreeWidgetItem | None, _previous: object = None) -> None:
        if current is None:
            return
        node_type = self._registry.get(current.data(0, TYPE_ID_ROLE))
        self.hint.setText(node_type.description or node_type.type_id)

    def _pick_current(self) -> None:
        item = self.results.currentItem()
        if item is not None:
            self._pick(item)

    def _pick(self, item: QTreeWidgetItem) -> None:
        self._picked = item.data(0, TYPE_ID_ROLE)
        self.accept()

    def _move_selection(self, step: int) -> None:
        count = self.results.topLevelItemCount()
        if not count:
            return
        current = self.results.indexOfTopLevelItem(self.results.currentItem())
        row = min(max(current + step, 0), count - 1)
        target = self.results.topLevelItem(row)
        if target is not None:
            self.results.setCurrentItem(target)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.search
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
        ):
            steps = {
                Qt.Key.Key_Down: 1,
                Qt.Key.Key_Up: -1,
                Qt.Key.Key_PageDown: 8,
                Qt.Key.Key_PageUp: -8,
            }
            if event.key() in steps:
                self._move_selection(steps[Qt.Key(event.key())])
                return True
        return super().eventFilter(watched, event)

    def done(self, result: int) -> None:
        """Close; emits :attr:`chosen` once per opening (``None`` unless a type was picked)."""
        if result != QDialog.DialogCode.Accepted:
            self._picked = None
        super().done(result)
        if not self._announced:
            self._announced = True
            self.chosen.emit(self._picked)
