"""The node canvas: a tree document drawn as wired nodes, ComfyUI-style.

The canvas is a view of a :class:`~genarun_studio.core.document.TreeDocument`. It never
changes its own wiring: a wire the user drags, a node they delete, a title they edit or an
enable box they tick becomes a document edit, and the document's change notification
redraws the canvas. That keeps undo, validation and files in one place and the canvas free
of its own state.

It is a plain ``QGraphicsView`` with two light items of our own: a :class:`NodeItem` per node
(one item that paints its title, ports, enable box, status line and thumbnail) and a
:class:`WireItem` per parent → child wire. NodeGraphQt, which drew the canvas before, builds
a dozen Python and C++ objects per node (~3 ms each here), too slow for the 1,000-node
target; see docs/decisions.md, "Editor canvas".

Mouse: drag a node to move it (all selected nodes move), drag on the background to select
with a rubber band, middle button (or Alt + left) to pan, wheel to zoom. Drag from a node's
``children`` port onto another node to make it a child (onto the background to add a child
there); drag a node's ``parent`` port onto
another node to re-parent it, or onto the background to disconnect it. Double-click a title
to rename, a node to show its properties, the background (or press Tab) to add a node.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from PySide6 import QtCore, QtGui, QtWidgets

from genarun_studio.core.document import Change, EditError, TreeDocument
from genarun_studio.core.layout import X_STEP, Y_STEP, tree_layout
from genarun_studio.core.registry import Registry
from genarun_studio.errors import GenarunError
from genarun_studio.qt.canvas.items import NodeItem, WireItem, _curve, _TitleEditor
from genarun_studio.qt.canvas.style import (
    BACKGROUND,
    FIT_MAX_ZOOM,
    GRID,
    GRID_MAJOR,
    MAX_ZOOM,
    MIN_ZOOM,
    NODE_COLOURS,
    SCENE_EXTENT,
    SELECTED,
)

NODE_MIME = "application/x-genarun-node-type"


class CanvasView(QtWidgets.QGraphicsView):
    """Zoom with the wheel, pan with the middle button (or Alt + left), rubber-band select,
    a grid behind, drops of node types and files, Tab / double-click to add."""

    def __init__(self, canvas: TreeCanvas, scene: QtWidgets.QGraphicsScene) -> None:
        super().__init__(scene)
        self.canvas = canvas
        self.setRenderHints(
            QtGui.QPainter.RenderHint.Antialiasing
            | QtGui.QPainter.RenderHint.TextAntialiasing
            | QtGui.QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setViewportUpdateMode(QtWidgets.QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setTransformationAnchor(QtWidgets.QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QtWidgets.QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QtWidgets.QGraphicsView.DragMode.RubberBandDrag)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self._pan_from: QtCore.QPointF | None = None
        self._space = False

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        factor = min(max(self.zoom() * factor, MIN_ZOOM), MAX_ZOOM) / self.zoom()
        self.scale(factor, factor)

    def drawBackground(self, painter: QtGui.QPainter, area: QtCore.QRectF | QtCore.QRect) -> None:
        rect = QtCore.QRectF(area)
        painter.fillRect(rect, BACKGROUND)
        step = 25.0
        while step * self.zoom() < 12:  # never a grid denser than 12 px on screen
            step *= 4
        pen = QtGui.QPen(GRID, 0)  # cosmetic: one pixel at any zoom
        major = QtGui.QPen(GRID_MAJOR, 0)
        lines: list[QtCore.QLineF] = []
        majors: list[QtCore.QLineF] = []
        left = math.floor(rect.left() / step) * step
        top = math.floor(rect.top() / step) * step
        x = left
        while x < rect.right():
            line = QtCore.QLineF(x, rect.top(), x, rect.bottom())
            (majors if round(x / step) % 4 == 0 else lines).append(line)
            x += step
        y = top
        while y < rect.bottom():
            line = QtCore.QLineF(rect.left(), y, rect.right(), y)
            (majors if round(y / step) % 4 == 0 else lines).append(line)
            y += step
        painter.setPen(pen)
        painter.drawLines(lines)
        painter.setPen(major)
        painter.drawLines(majors)

    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(1.0015**delta)
        event.accept()

    def _pans(self, event: QtGui.QMouseEvent) -> bool:
        return event.button() == QtCore.Qt.MouseButton.MiddleButton or (
            event.button() == QtCore.Qt.MouseButton.LeftButton
            and (self._space or bool(event.modifiers() & QtCore.Qt.KeyboardModifier.AltModifier))
        )

    def keyReleaseEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event: QtGui.QFocusEvent) -> None:
        self._space = False  # its release went elsewhere
        super().focusOutEvent(event)

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        if self._pans(event):
            self._pan_from = event.position()
            self.viewport().setCursor(QtCore.Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            h, v = self.horizontalScrollBar(), self.verticalScrollBar()
            h.setValue(h.value() - round(delta.x()))
            v.setValue(v.value() - round(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QtGui.QMouseEvent) -> None:
        if (
            event.button() == QtCore.Qt.MouseButton.LeftButton
            and not event.modifiers() & QtCore.Qt.KeyboardModifier.AltModifier
            and self.itemAt(event.position().toPoint()) is None
        ):
            self.canvas.addRequested.emit(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event: QtGui.QContextMenuEvent) -> None:
        """Right-click: the node's menu (on the clicked node, selected first unless it is
        already part of the selection) or the background's."""
        node = self.canvas.node_at(self.mapToScene(event.pos()))
        if node is not None and not node.isSelected():
            self.canvas.select([node.node_id])
        actions = self.canvas.node_actions if node is not None else self.canvas.background_actions
        if not actions:
            return
        menu = QtWidgets.QMenu(self)
        menu.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        for action in actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        if node is not None:
            self._colour_menu(menu.addMenu("Colour"))
        menu.popup(event.globalPos())
        event.accept()

    def _colour_menu(self, menu: QtWidgets.QMenu) -> None:
        ids = self.canvas.selected_ids()
        menu.addAction("Lane colour", lambda: self.canvas.set_colour(ids, None))
        for name, hex_colour in NODE_COLOURS.items():
            swatch = QtGui.QPixmap(12, 12)
            swatch.fill(QtGui.QColor(hex_colour))
            menu.addAction(
                QtGui.QIcon(swatch),
                name,
                functools.partial(self.canvas.set_colour, ids, hex_colour),
            )

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        editing = isinstance(self.scene().focusItem(), _TitleEditor)
        if event.key() == QtCore.Qt.Key.Key_Space and not event.isAutoRepeat() and not editing:
            self._space = True  # Space + drag pans, as in most canvases
        if event.key() == QtCore.Qt.Key.Key_Escape and self.canvas._dragging is not None:
            self.canvas._cancel_wire()  # the wire drag is dropped, nothing changes
            event.accept()
            return
        super().keyPressEvent(event)

    def event(self, event: QtCore.QEvent) -> bool:
        # Tab adds a node (ComfyUI's habit) instead of moving the keyboard focus on
        if (
            event.type() == QtCore.QEvent.Type.KeyPress
            and isinstance(event, QtGui.QKeyEvent)
            and event.key() == QtCore.Qt.Key.Key_Tab
            and not isinstance(self.scene().focusItem(), _TitleEditor)
        ):
            self.canvas.addRequested.emit(self.cursor_scene_pos())
            return True
        return super().event(event)

    def cursor_scene_pos(self) -> QtCore.QPointF:
        local = self.mapFromGlobal(QtGui.QCursor.pos())
        if not self.rect().contains(local):
            local = self.rect().center()
        return self.mapToScene(local)

    # drops: a tree file opens, a node type from the palette is added where it fell
    def _accepts(self, mime: QtCore.QMimeData) -> bool:
        return mime.hasUrls() or mime.hasFormat(NODE_MIME)

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QtGui.QDragMoveEvent) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        self.canvas.drop(event.mimeData(), self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()


class WireDragEnd(NamedTuple):
    item: NodeItem
    port: str
    dragged: bool
    """The mouse moved far enough to make it a wire (else it was a click)."""


class _WireDrag:
    """A port pressed, and the wire dragged out of it once the mouse has moved."""

    def __init__(self, item: NodeItem, port: str, start: QtCore.QPointF) -> None:
        self.item = item
        self.port = port
        self.start = start
        self.line: QtWidgets.QGraphicsPathItem | None = None
        self.target: NodeItem | None = None


class TreeCanvas(QtCore.QObject):
    """The graph view of a document; ``widget`` is the QWidget to put in a window."""

    selectionChanged = QtCore.Signal(list)
    """Ids of the selected nodes."""
    nodeActivated = QtCore.Signal(str)
    """A node was double-clicked."""
    addRequested = QtCore.Signal(object)
    """The user asked to add a node at a scene position (QPointF): Tab or double-click."""
    fileDropped = QtCore.Signal(str)
    """A file was dropped on the canvas (the window opens ``.json`` trees)."""
    refused = QtCore.Signal(str)
    """An edit the tree cannot take, in one sentence (a second parent, a cycle)."""

    def __init__(
        self, document: TreeDocument, registry: Registry, parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.registry = registry
        self.scene = QtWidgets.QGraphicsScene(self)
        extent = SCENE_EXTENT
        self.scene.setSceneRect(-extent, -extent, 2 * extent, 2 * extent)
        self.view = CanvasView(self, self.scene)
        self._items: dict[str, NodeItem] = {}
        self._syncing = False
        self._selecting = False
        self._status: dict[str, tuple[str | None, str, Path | None]] = {}
        self._problems: dict[str, tuple[str, str]] = {}
        self._dragging: _WireDrag | None = None
        self._title_editor: _TitleEditor | None = None
        self._shown_selection: list[str] = []
        self.node_actions: list[QtGui.QAction | None] = []
        """The right-click menu on a node (None: a separator); the window fills it."""
        self.background_actions: list[QtGui.QAction | None] = []
        """The right-click menu on the background."""
        # one selectionChanged per event-loop turn, not one per item (a rubber band, a delete)
        self._selection_timer = QtCore.QTimer(self)
        self._selection_timer.setSingleShot(True)
        self._selection_timer.setInterval(0)
        self._selection_timer.timeout.connect(self._emit_selection)
        self.scene.selectionChanged.connect(self._on_selection)
        self.view.rubberBandChanged.connect(self._on_rubber_band)
        self._unsubscribe = document.subscribe(self._on_change)
        self.rebuild()

    @property
    def widget(self) -> QtWidgets.QWidget:
        return self.view

    def close(self) -> None:
        """Stop following the document; the window drops this canvas (and its view)."""
        self._unsubscribe()
        self.deleteLater()

    def item(self, node_id: str) -> NodeItem:
        return self._items[node_id]

    def parent_of(self, node_id: str) -> str | None:
        """The node the canvas draws a wire into ``node_id`` from."""
        wire = self._items[node_id].wire_in
        return wire.parent_node.node_id if wire is not None else None

    def children_of(self, node_id: str) -> list[str]:
        return sorted(w.child_node.node_id for w in self._items[node_id].wires_out)

    # -- drawing the document ---------------------------------------------------------------

    def rebuild(self) -> None:
        """Draw the whole document again (on open); positions from ``ui.pos`` or a layout."""
        self._syncing = True
        try:
            self.scene.clear()
            self._items.clear()
            self._reconcile()
        finally:
            self._syncing = False

    def _reconcile(self) -> None:
        """Make the canvas match the document: nodes, titles, types, wires, enabled state."""
        selecting, self._selecting = self._selecting, True
        try:
            self._reconcile_items()
        finally:
            self._selecting = selecting
        if not selecting:
            self._emit_selection()

    def _reconcile_items(self) -> None:
        doc_nodes = {n.id: n for n in self.document.tree.walk()}
        for gone in [i for i in self._items if i not in doc_nodes]:
            self._remove(self._items.pop(gone))
        layout: dict[str, tuple[float, float]] | None = None
        disabled = self._disabled_ids()
        for node_id, node in doc_nodes.items():
            item = self._items.get(node_id)
            if item is None:
                pos = node.ui.get("pos")
                if not (isinstance(pos, list) and len(pos) == 2):
                    layout = layout or tree_layout(self.document)
                    pos = list(layout[node_id])
                item = NodeItem(self, node_id)
                item.setPos(float(pos[0]), float(pos[1]))
                self._items[node_id] = item
                self.scene.addItem(item)
            item.set_title(node.title or node.id)
            item.set_type(node.type, self._lane(node.type), node.ui.get("color"))
            item.set_checked(node.enabled)
            item.set_dimmed(node_id in disabled)
            self._paint_status(node_id)
        parents = self.document.tree.parents()
        for node_id, item in self._items.items():
            self._wire(item, parents.get(node_id))

    def _lane(self, type_id: str) -> str:
        try:
            return self.registry.get(type_id).lane
        except GenarunError:  # a type from a plugin that is not installed
            return "local"

    def _remove(self, item: NodeItem) -> None:
        if self._dragging is not None and self._dragging.item is item:
            self._cancel_wire()  # its node went (an undo while the mouse is down)
        editor = self._title_editor
        if editor is not None and editor.parentItem() is item:
            editor.finish(False)
        for wire in list(item.wires_out):
            self._drop_wire(wire)
        if item.wire_in is not None:
            self._drop_wire(item.wire_in)
        self.scene.removeItem(item)

    def _drop_wire(self, wire: WireItem) -> None:
        wire.parent_node.wires_out.discard(wire)
        wire.parent_node.update()
        wire.child_node.wire_in = None
        wire.child_node.update()
        self.scene.removeItem(wire)

    def _wire(self, item: NodeItem, parent_id: str | None) -> None:
        wire = item.wire_in
        if (wire.parent_node.node_id if wire else None) == parent_id:
            return
        if wire is not None:
            self._drop_wire(wire)
        parent = self._items.get(parent_id) if parent_id is not None else None
        if parent is not None:
            wire = WireItem(parent, item)
            item.wire_in = wire
            parent.wires_out.add(wire)
            self.scene.addItem(wire)

    def _disabled_ids(self) -> set[str]:
        off: set[str] = set()
        for root in self.document.tree.nodes:
            stack = [(root, False)]
            while stack:
                node, under = stack.pop()
                dim = under or not node.enabled
                if dim:
                    off.add(node.id)
                stack.extend((c, dim) for c in node.children)
        return off

    def _on_change(self, change: Change) -> None:
        if change.kind in ("saved",):
            return
        if change.kind == "ui" and self._syncing:
            return
        if self._title_editor is not None and not self._syncing and change.kind != "ui":
            self._title_editor.finish(False)  # an undo or another panel's edit wins
        self._syncing = True
        try:
            if change.kind == "renamed" and change.node_id in self._status:
                self._status[change.fields[0]] = self._status.pop(change.node_id)
            if change.kind == "renamed" and change.node_id in self._items:
                item = self._items.pop(change.node_id)
                item.node_id = change.fields[0]
                self._items[item.node_id] = item
            if change.kind == "ui" and change.node_id in self._items:
                node = self.document.node(change.node_id)
                item = self._items[change.node_id]
                pos = node.ui.get("pos")
                if isinstance(pos, list) and len(pos) == 2:
                    item.setPos(float(pos[0]), float(pos[1]))
                if "color" in change.fields:
                    item.set_type(node.type, self._lane(node.type), node.ui.get("color"))
                return
            if not change.more:  # a batch: once, at its last change
                self._reconcile()
        finally:
            self._syncing = False

    # -- user actions → document edits ---------------------------------------------------

    def _edit(self, action: Callable[[], None]) -> None:
        """Make a document edit; the document's changes redraw the canvas. A refused edit
        is said (``refused``) and the canvas redrawn as the document still is."""
        try:
            action()
        except GenarunError as exc:  # a second parent, a cycle, an unknown node type...
            self.refused.emit(str(exc))
            self._syncing = True
            try:
                self._reconcile()
            finally:
                self._syncing = False

    def _toggle(self, node_id: str) -> None:
        enabled = not self.document.node(node_id).enabled
        self._edit(lambda: self.document.set_fields(node_id, enabled=enabled))

    def toggle_selected(self) -> None:
        """Disable the selected nodes, or enable them when all are disabled (one undo step)."""
        ids = self.selected_ids()
        if not ids:
            return
        enabled = all(not self.document.node(i).enabled for i in ids)

        def apply() -> None:
            with self.document.batch(f"{'enable' if enabled else 'disable'} {len(ids)} node(s)"):
                for node_id in ids:
                    self.document.set_fields(node_id, enabled=enabled)

        self._edit(apply)

    def set_colour(self, node_ids: list[str], colour: str | None) -> None:
        """Colour the nodes' title bars (``ui.color``, saved with the tree); None: their
        lane's colour again."""
        self.document.set_ui_many({node_id: {"color": colour} for node_id in node_ids})

    def connect_nodes(self, parent_id: str, child_id: str) -> None:
        """A wire dragged from ``parent_id``'s children port onto ``child_id``: the child
        must have no other parent (a tree), and the document refuses cycles."""

        def apply() -> None:
            current = self.document.parent_id(child_id)
            if current == parent_id:
                return
            if current is not None:
                raise EditError(
                    f"{child_id!r} already has a parent ({current!r}): a node has one parent "
                    "in a tree; disconnect it first (drag its parent port away)"
                )
            self.document.set_parent(child_id, parent_id)

        self._edit(apply)

    def reparent(self, child_id: str, parent_id: str | None) -> None:
        """A child's parent port dragged onto another node (or onto nothing: a root)."""
        if self.document.parent_id(child_id) != parent_id:
            self._edit(lambda: self.document.set_parent(child_id, parent_id))

    def _press_port(self, item: NodeItem, port: str, scene_pos: QtCore.QPointF) -> None:
        self._cancel_wire()
        self._dragging = _WireDrag(item, port, scene_pos)

    def _port_pressed(self, item: NodeItem) -> bool:
        return self._dragging is not None and self._dragging.item is item

    def _drag_wire(self, scene_pos: QtCore.QPointF) -> None:
        drag = self._dragging
        if drag is None:
            return
        if drag.line is None:  # not a wire until the mouse moves a little
            moved = self.view.mapFromScene(scene_pos) - self.view.mapFromScene(drag.start)
            if moved.manhattanLength() < QtWidgets.QApplication.startDragDistance():
                return
            drag.line = QtWidgets.QGraphicsPathItem()
            drag.line.setPen(QtGui.QPen(SELECTED, 2.0, QtCore.Qt.PenStyle.DashLine))
            drag.line.setZValue(2.0)
            self.scene.addItem(drag.line)
            if drag.port == "in" and drag.item.wire_in is not None:
                drag.item.wire_in.setVisible(False)  # picked up: it follows the mouse now
        target = self.node_at(scene_pos)
        if target is drag.item:
            target = None
        if target is not drag.target:
            if drag.target is not None:
                drag.target.set_targeted(False)
            if target is not None:
                target.set_targeted(True)
            drag.target = target
        if drag.port == "out":
            path = _curve(drag.item.out_port_scene(), scene_pos)
        elif drag.item.wire_in is not None:
            path = _curve(drag.item.wire_in.parent_node.out_port_scene(), scene_pos)
        else:
            path = _curve(scene_pos, drag.item.in_port_scene())
        drag.line.setPath(path)

    def _cancel_wire(self) -> WireDragEnd | None:
        """Drop the dragged wire, if any, and put a picked-up wire back."""
        drag, self._dragging = self._dragging, None
        if drag is None:
            return None
        if drag.line is not None and drag.line.scene() is self.scene:
            self.scene.removeItem(drag.line)
        if drag.target is not None:
            drag.target.set_targeted(False)
        if drag.item.wire_in is not None:
            drag.item.wire_in.setVisible(True)
        return WireDragEnd(drag.item, drag.port, drag.line is not None)

    def _end_wire(self, scene_pos: QtCore.QPointF) -> None:
        ended = self._cancel_wire()
        if ended is None or not ended.dragged or ended.item.node_id not in self._items:
            return  # a click on a port changes nothing
        target = self.node_at(scene_pos)
        if target is ended.item:
            return
        if ended.port == "out":
            if target is not None:
                self.connect_nodes(ended.item.node_id, target.node_id)
            else:  # onto the background: add a child there (ComfyUI's search on release)
                self.select([ended.item.node_id])
                self.addRequested.emit(scene_pos)
        else:
            self.reparent(ended.item.node_id, target.node_id if target is not None else None)

    def node_at(self, scene_pos: QtCore.QPointF) -> NodeItem | None:
        mode = QtCore.Qt.ItemSelectionMode.IntersectsItemBoundingRect  # no wire shapes built
        for found in self.scene.items(scene_pos, mode):
            if isinstance(found, NodeItem):
                return found
        return None

    def _commit_moves(self) -> None:
        """After a drag: the moved (selected) nodes' positions into the document's ``ui``."""
        moved = {
            item.node_id: {"pos": [round(item.x(), 1), round(item.y(), 1)]}
            for item in self.scene.selectedItems()
            if isinstance(item, NodeItem) and item.node_id in self._items
        }
        self._syncing = True
        try:
            self.document.set_ui_many(moved)  # unmoved nodes make no change
        finally:
            self._syncing = False

    def edit_title(self, node_id: str) -> _TitleEditor:
        """Edit a node's title in place (double-click on it); Return keeps it."""
        if self._title_editor is not None:
            self._title_editor.finish(True)
        item = self._items[node_id]

        def done(text: str | None) -> None:
            editor, self._title_editor = self._title_editor, None
            if editor is not None:
                self.scene.removeItem(editor)  # also detaches it from the node
                editor.deleteLater()
            if text is None or item.node_id not in self._items:
                return
            title = " ".join(text.split())  # empty: the node shows its id
            node = self.document.node(item.node_id)
            if title != node.title and (title or node.id) != (node.title or node.id):
                self._edit(lambda: self.document.set_fields(item.node_id, title=title))

        self._title_editor = _TitleEditor(item, done)
        return self._title_editor

    def _on_selection(self) -> None:
        if not self._selecting and not self._selection_timer.isActive():
            self._selection_timer.start()

    def _emit_selection(self) -> None:
        """``selectionChanged``, when the selected ids differ from the ones last said."""
        self._selection_timer.stop()
        ids = self.selected_ids()
        if ids != self._shown_selection:
            self._shown_selection = ids
            self.selectionChanged.emit(ids)

    def _on_rubber_band(
        self, rect: QtCore.QRect, start: QtCore.QPointF, end: QtCore.QPointF
    ) -> None:
        if rect.isNull():  # the band ended: it selects nodes, never the wires it crossed
            for item in self.scene.selectedItems():
                if isinstance(item, WireItem):
                    item.setSelected(False)

    def drop(self, mime: QtCore.QMimeData, scene_pos: QtCore.QPointF) -> None:
        """Something dropped on the canvas: a file (the window opens trees) or a node type."""
        for url in mime.urls():
            if url.isLocalFile():
                self.fileDropped.emit(url.toLocalFile())
                return
        if mime.hasFormat(NODE_MIME):
            type_id = bytes(mime.data(NODE_MIME).data()).decode()
            self.add_node(type_id, scene_pos)

    # -- commands (the main window's actions) -----------------------------------------------

    def selected_ids(self) -> list[str]:
        return [
            item.node_id
            for item in self.scene.selectedItems()
            if isinstance(item, NodeItem) and item.node_id in self._items
        ]

    def select(self, node_ids: list[str]) -> None:
        self._selecting = True
        try:
            self.scene.clearSelection()
            for node_id in node_ids:
                if node_id in self._items:
                    self._items[node_id].setSelected(True)
        finally:
            self._selecting = False
        self._shown_selection = self.selected_ids()
        self.selectionChanged.emit(self._shown_selection)

    def add_node(self, type_id: str, scene_pos: QtCore.QPointF | None = None) -> str | None:
        """Add a node; as a child of the single selected node, else as a root."""
        selected = self.selected_ids()
        parent = selected[0] if len(selected) == 1 else None
        ui = (
            {"pos": [round(scene_pos.x(), 1), round(scene_pos.y(), 1)]}
            if scene_pos is not None  # (a QPointF at the origin is falsy)
            else None
        )
        if ui is None and parent is not None:
            at = self._items[parent].pos()
            below = Y_STEP * len(self.document.node(parent).children)
            ui = {"pos": [at.x() + X_STEP, at.y() + below]}
        added: list[str] = []
        self._edit(lambda: added.append(self.document.add_node(type_id, parent, ui=ui).id))
        if added:
            self.select(added)
            return added[0]
        return None

    def delete_selected(self) -> None:
        """Delete the selected nodes (their children stay, as new roots), or else the
        selected wires (their children become roots); one undo step."""
        ids = self.selected_ids()
        if ids:
            self._edit(lambda: self.document.delete_nodes(ids))
            return
        children = [
            w.child_node.node_id for w in self.scene.selectedItems() if isinstance(w, WireItem)
        ]
        if children:

            def apply() -> None:
                with self.document.batch(f"disconnect {len(children)} node(s)"):
                    for child in children:
                        self.document.set_parent(child, None)

            self._edit(apply)

    def nodes_rect(self) -> QtCore.QRectF:
        rect = QtCore.QRectF()
        for item in self._items.values():
            rect = rect.united(item.sceneBoundingRect())
        return rect

    def fit(self) -> None:
        """Zoom and scroll so every node is in view (not closer than 125%)."""
        if not self._items:
            return
        rect = self.nodes_rect().adjusted(-40, -40, 40, 40)
        self.view.fitInView(rect, QtCore.Qt.AspectRatioMode.KeepAspectRatio)
        if self.view.zoom() > FIT_MAX_ZOOM:
            self.view.zoom_by(FIT_MAX_ZOOM / self.view.zoom())
        elif self.view.zoom() < MIN_ZOOM:
            self.view.zoom_by(MIN_ZOOM / self.view.zoom())
        self.view.centerOn(rect.center())

    def auto_layout(self) -> None:
        """Lay the tree out left to right and keep the positions (saved with the tree)."""
        positions = tree_layout(self.document)
        self.document.set_ui_many({nid: {"pos": [x, y]} for nid, (x, y) in positions.items()})

    def show_status(
        self, node_id: str, state: str | None, text: str, image: Path | None = None
    ) -> None:
        """Live run state on a node: colour dot, text such as ``done 7/10``, a thumbnail."""
        self._status[node_id] = (state, text, image)
        if node_id in self._items:
            self._paint_status(node_id)

    def clear_status(self) -> None:
        self._status.clear()
        for node_id in self._items:
            self._paint_status(node_id)

    def show_problems(self, problems: list[Any]) -> None:
        """Mark nodes with validation problems (shown while they have no run state)."""
        marks: dict[str, tuple[str, str]] = {}
        for problem in problems:
            if problem.node_id and (problem.node_id not in marks or problem.severity == "error"):
                marks[problem.node_id] = (problem.severity, problem.message)
        changed = set(marks) ^ set(self._problems) | {
            k for k in marks if self._problems.get(k) != marks[k]
        }
        self._problems = marks
        for node_id in changed:
            if node_id in self._items:
                self._paint_status(node_id)

    def _paint_status(self, node_id: str) -> None:
        state, text, image = self._status.get(node_id, (None, "", None))
        item = self._items[node_id]
        if state is None and node_id in self._problems:
            severity, message = self._problems[node_id]
            item.set_status("failed" if severity == "error" else "warning", f"⚠ {message}", None)
            item.setToolTip(message)
            return
        if item.toolTip():
            item.setToolTip("")
        item.set_status(state, text or node_id, image)
