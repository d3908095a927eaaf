"""The node canvas: a tree document drawn as wired nodes with NodeGraphQt.

The canvas is a view of a :class:`~genarun_studio.core.document.TreeDocument`. It never
changes its own wiring: a wire the user drags, a node they delete or an enable box they tick
becomes a document edit, and the document's change notification redraws the canvas. That
keeps undo, validation and files in one place and the canvas free of its own state.

NodeGraphQt pitfalls (ARCHITECTURE.md §9) are avoided here: no spin boxes or PropertiesBin,
no OpenGL, its own undo stack and tab search are bypassed, and nodes are created without
undo entries.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_API", "pyside6")

from PySide6 import QtCore, QtGui, QtWidgets

from genarun_studio.qt._qtshim import nodegraphqt_imports

with nodegraphqt_imports():  # ~0.3 s less cold start: see _qtshim
    from NodeGraphQt import BaseNode, NodeGraph
    from NodeGraphQt.base.commands import PortConnectedCmd
    from NodeGraphQt.constants import PortTypeEnum
    from NodeGraphQt.qgraphics.node_base import NodeItem

from genarun_studio.core.document import Change, EditError, TreeDocument
from genarun_studio.core.nodetype import NodeType
from genarun_studio.core.registry import Registry

__all__ = ["NODE_MIME", "STATE_COLORS", "TreeCanvas", "tree_layout"]

NODE_MIME = "application/x-genarun-node-type"
IDENTIFIER = "genarun"
X_STEP, Y_STEP = 340, 170

LANE_COLORS = {
    "text": (38, 76, 120),
    "image": (96, 52, 120),
    "local": (70, 74, 80),
    "http": (128, 84, 36),
    "human": (36, 110, 90),
}
STATE_COLORS = {
    "queued": "#7f8c9d",
    "running": "#f2c14e",
    "done": "#5cb85c",
    "cached": "#3fb0ac",
    "failed": "#e5534b",
    "skipped": "#6e7681",
    "stopped": "#b07cd8",
    "waiting": "#c58af9",
}


@contextlib.contextmanager
def _deferred_drawing() -> Iterator[None]:
    """Build many nodes without laying each out again after every port and property.

    NodeGraphQt redraws a node on every ``add_input``, ``set_color``, property change...
    Inside this block those redraws are collected, and each node is drawn once at the end.
    """
    real = NodeItem.draw_node
    if getattr(real, "_deferred", False):  # nested: the outer block draws
        yield
        return
    pending: dict[int, Any] = {}

    def collect(self: Any) -> None:
        pending[id(self)] = self

    collect._deferred = True  # type: ignore[attr-defined]
    NodeItem.draw_node = collect
    try:
        yield
    finally:
        NodeItem.draw_node = real
        for view in pending.values():
            view.draw_node()


OUTLINED_STATES = ("running", "failed", "waiting")
"""States that also draw a coloured outline round the node (where to look, on a big tree)."""
STATUS_H = 18.0
"""Height of the status line painted under the ports."""
THUMB_W, THUMB_H = 160, 110
NODE_MIN_W = 190.0


class _PortLabel(QtWidgets.QGraphicsSimpleTextItem):
    """A port's name: plain text, with the one method NodeGraphQt calls on its labels that a
    simple text item lacks."""

    def __init__(self, text: str, parent: QtWidgets.QGraphicsItem) -> None:
        super().__init__(text, parent)
        font = self.font()
        font.setPointSize(8)
        self.setFont(font)

    def setDefaultTextColor(self, color: QtGui.QColor) -> None:
        self.setBrush(color)

    # NodeGraphQt places port labels for a rich-text item, which has a 4 px document margin
    _MARGIN = 4.0

    def boundingRect(self) -> QtCore.QRectF:
        m = self._MARGIN
        return super().boundingRect().adjusted(0, 0, 2 * m, 2 * m)

    def paint(self, painter: QtGui.QPainter, option: Any, widget: Any = None) -> None:
        painter.translate(self._MARGIN, self._MARGIN)
        super().paint(painter, option, widget)


class GenarunNodeItem(NodeItem):  # type: ignore[misc]
    """A node drawn by painting, not by embedded widgets.

    NodeGraphQt's node widgets are ``QGraphicsProxyWidget``s around real QWidgets with style
    sheets: ~2 ms per node to build and lay out, most of the time of opening a big tree. This
    item paints the enable box, the status line (state dot, text such as ``done 7/10``) and
    the latest image thumbnail itself, and takes the enable box's clicks.
    """

    def __init__(self, name: str = "node", parent: Any = None) -> None:
        super().__init__(name, parent)
        self.checked = True
        self.status_state: str | None = None
        self.status_text = ""
        self.thumbnail: QtGui.QPixmap | None = None
        self.on_toggle: Callable[[], None] | None = None
        self._shown: tuple[str | None, str, Path | None] | None = None

    def _add_port(self, port: Any) -> Any:
        """A port with a plain label: NodeGraphQt gives each port's name a rich-text item with
        its own text document, the costliest part of a node after its widgets."""
        text = _PortLabel(port.name, self)
        text.setVisible(port.display_name)
        if port.port_type == PortTypeEnum.IN.value:
            self._input_items[port] = text
        else:
            self._output_items[port] = text
        if self.scene():
            self.post_init()
        return port

    # -- geometry ---------------------------------------------------------------------------

    def calc_size(self, add_w: float = 0.0, add_h: float = 0.0) -> tuple[float, float]:
        width, height = super().calc_size(add_w, add_h)
        extra = STATUS_H + (THUMB_H + 4 if self.thumbnail is not None else 0)
        return max(width + 70.0, NODE_MIN_W), height + extra

    def _ports_bottom(self) -> float:
        bottom = self._text_item.boundingRect().height() + 4.0
        for port in list(self._input_items) + list(self._output_items):
            if port.isVisible():
                bottom = max(bottom, port.pos().y() + port.boundingRect().height())
        return float(bottom)

    def check_rect(self) -> QtCore.QRectF:
        """The enable box, in item coordinates: between the two ports, under the title."""
        top = self._text_item.boundingRect().height() + 6.0
        return QtCore.QRectF(self._width / 2 - 34.0, top, 12.0, 12.0)

    def status_rect(self) -> QtCore.QRectF:
        return QtCore.QRectF(8.0, self._ports_bottom() + 1.0, self._width - 16.0, STATUS_H - 2)

    # -- painting ---------------------------------------------------------------------------

    def paint(self, painter: QtGui.QPainter, option: Any, widget: Any) -> None:
        super().paint(painter, option, widget)
        painter.save()
        if self.status_state in OUTLINED_STATES:  # seen even zoomed far out
            pen = QtGui.QPen(QtGui.QColor(STATE_COLORS[self.status_state]), 2.5)
            painter.setPen(pen)
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(self.boundingRect().adjusted(1.2, 1.2, -1.2, -1.2), 4.0, 4.0)
        if self._proxy_mode:  # zoomed far out: the plain box is enough
            painter.restore()
            return
        box = self.check_rect()
        painter.setPen(QtGui.QPen(QtGui.QColor(201, 209, 217), 1.0))
        painter.setBrush(QtGui.QColor(13, 17, 23, 160))
        painter.drawRoundedRect(box, 2.0, 2.0)
        if self.checked:
            tick = QtGui.QPainterPath()
            tick.moveTo(box.left() + 2.5, box.center().y())
            tick.lineTo(box.left() + 5.0, box.bottom() - 2.5)
            tick.lineTo(box.right() - 2.0, box.top() + 2.5)
            painter.setPen(QtGui.QPen(QtGui.QColor(92, 184, 92), 2.0))
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawPath(tick)
        font = painter.font()
        font.setPointSizeF(7.5)
        painter.setFont(font)
        painter.setPen(QtGui.QColor(201, 209, 217))
        painter.drawText(
            QtCore.QRectF(box.right() + 4, box.top() - 2, 60, box.height() + 4),
            int(QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignLeft),
            "enabled",
        )
        line = self.status_rect()
        if self.status_text:
            color = QtGui.QColor(STATE_COLORS.get(self.status_state or "", "#8b949e"))
            painter.setPen(QtCore.Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawEllipse(QtCore.QPointF(line.left() + 4, line.center().y()), 3.5, 3.5)
            painter.setPen(QtGui.QColor(201, 209, 217))
            text_rect = line.adjusted(12, 0, 0, 0)
            text = painter.fontMetrics().elidedText(
                self.status_text, QtCore.Qt.TextElideMode.ElideRight, int(text_rect.width())
            )
            painter.drawText(
                text_rect,
                int(QtCore.Qt.AlignmentFlag.AlignVCenter | QtCore.Qt.AlignmentFlag.AlignLeft),
                text,
            )
        if self.thumbnail is not None:
            x = (self._width - self.thumbnail.width()) / 2
            painter.drawPixmap(QtCore.QPointF(x, line.bottom() + 2), self.thumbnail)
        painter.restore()

    # -- state ------------------------------------------------------------------------------

    def set_checked(self, checked: bool) -> None:
        if self.checked != checked:
            self.checked = checked
            self.update()

    def set_status(self, state: str | None, text: str, image: Path | None) -> None:
        """Show a state, a line of text and (when given) an image file's thumbnail."""
        if (state, text, image) == self._shown:
            return  # unchanged: no repaint (a big tree reconciles every node on each edit)
        self._shown = (state, text, image)
        had_thumb = self.thumbnail is not None
        if image is not None and image.is_file():
            pixmap = QtGui.QPixmap(str(image))
            if not pixmap.isNull():
                self.thumbnail = pixmap.scaled(
                    THUMB_W,
                    THUMB_H,
                    QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                    QtCore.Qt.TransformationMode.SmoothTransformation,
                )
        elif image is None:
            self.thumbnail = None
        self.status_state, self.status_text = state, text
        if had_thumb != (self.thumbnail is not None):
            self.draw_node()  # the node grows or shrinks
        else:
            self.update()

    def mousePressEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        if (
            event.button() == QtCore.Qt.MouseButton.LeftButton
            and self.on_toggle is not None
            and self.check_rect().adjusted(-3, -3, 60, 3).contains(event.pos())
        ):
            self.on_toggle()
            event.accept()
            return
        super().mousePressEvent(event)


class _Graph(NodeGraph):  # type: ignore[misc]
    """NodeGraph without its quadratic unique-name search.

    NodeGraphQt lists every node's name for each node it creates or renames, to make names
    unique; our nodes are identified by id, and their shown names need not differ.
    """

    def get_unique_name(self, name: str) -> str:
        return " ".join(name.split())


class _GenarunNode(BaseNode):  # type: ignore[misc]
    """The base of every generated node class: two ports, an enable box, a status line."""

    def __init__(self) -> None:
        super().__init__(qgraphics_item=GenarunNodeItem)
        self.add_input("parent", multi_input=False)
        self.add_output("children", multi_output=True)
        self.create_property("enabled", True)
        self.view.on_toggle = self._toggle

    def _toggle(self) -> None:
        self.set_property("enabled", not self.get_property("enabled"), push_undo=False)

    def set_property(self, name: str, value: Any, push_undo: bool = True) -> None:
        super().set_property(name, value, push_undo=push_undo)
        if name == "enabled":
            self.view.set_checked(bool(value))


def _node_class(node_type: NodeType) -> type[BaseNode]:  # type: ignore[type-arg]
    """The NodeGraphQt class of a node type: generated, never written per type."""
    color = LANE_COLORS.get(node_type.lane, (70, 74, 80))

    def __init__(self: _GenarunNode) -> None:
        _GenarunNode.__init__(self)
        self.set_color(*color)

    name = "N_" + "".join(c if c.isalnum() else "_" for c in node_type.type_id)
    return type(
        name,
        (_GenarunNode,),
        {"__identifier__": IDENTIFIER, "NODE_NAME": node_type.title, "__init__": __init__},
    )


def _combined_rect(items: list[QtWidgets.QGraphicsItem]) -> QtCore.QRectF:
    """The scene rectangle around the given node items (ports included), in linear time.

    NodeGraphQt builds and destroys a ``QGraphicsItemGroup`` for this, which takes seconds
    for a thousand nodes (fit to view, centre on selection).
    """
    rect = QtCore.QRectF()
    for item in items:
        rect = rect.united(item.mapRectToScene(item.boundingRect() | item.childrenBoundingRect()))
    return rect


def tree_layout(document: TreeDocument) -> dict[str, tuple[float, float]]:
    """Left-to-right tree layout: depth gives x, leaves take rows, parents sit centred."""
    positions: dict[str, tuple[float, float]] = {}
    row = 0.0

    def place(node: Any, depth: int) -> float:
        nonlocal row
        if not node.children:
            y = row * Y_STEP
            row += 1
        else:
            ys = [place(child, depth + 1) for child in node.children]
            y = (ys[0] + ys[-1]) / 2
        positions[node.id] = (depth * X_STEP, y)
        return y

    for root in document.tree.nodes:
        place(root, 0)
        row += 0.5
    return positions


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
        self.graph = _Graph()
        self.graph.set_acyclic(True)
        self.graph.set_background_color(22, 27, 34)
        self.graph.set_grid_mode(1)
        self._classes: dict[str, str] = {}
        for node_type in registry.types():
            cls = _node_class(node_type)
            self.graph.register_node(cls)
            self._classes[node_type.type_id] = f"{IDENTIFIER}.{cls.__name__}"
        self._items: dict[str, BaseNode] = {}
        self._ids: dict[str, str] = {}  # NodeGraphQt node id → our node id
        self._syncing = False
        self._status: dict[str, tuple[str | None, str, Path | None]] = {}
        self._problems: dict[str, tuple[str, str]] = {}
        viewer = self.graph.viewer()
        viewer._combined_rect = _combined_rect  # its own is quadratic (an item group)
        # its tab-search menu (unused: we have our own quick-add) is a parentless top-level
        # widget that would outlive the view; make it the view's, keeping its window flags
        search = viewer._search_widget
        search.setParent(viewer, search.windowFlags())
        # our document is the only source of wiring, undo and deletion
        viewer.connection_changed.disconnect()
        viewer.connection_changed.connect(self._on_wires_changed)
        viewer.connection_sliced.disconnect()
        viewer.connection_sliced.connect(self._on_wires_sliced)
        viewer.moved_nodes.connect(self._on_moved)
        viewer.data_dropped.disconnect()  # NodeGraphQt would import its own sessions
        viewer.data_dropped.connect(self._on_dropped)
        viewer.installEventFilter(self)
        viewer.viewport().installEventFilter(self)
        self.graph.node_selection_changed.connect(self._on_selection)
        self.graph.node_double_clicked.connect(
            lambda n: self.nodeActivated.emit(self._ids.get(n.id, ""))
        )
        self.graph.property_changed.connect(self._on_property)
        self._unsubscribe = document.subscribe(self._on_change)
        self.rebuild()

    @property
    def widget(self) -> QtWidgets.QWidget:
        return self.graph.widget  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop following the document; the window drops this canvas (and its view)."""
        self._unsubscribe()
        self.deleteLater()

    def item(self, node_id: str) -> BaseNode:
        return self._items[node_id]

    # -- drawing the document ---------------------------------------------------------------

    def rebuild(self) -> None:
        """Draw the whole document again (on open); positions from ``ui.pos`` or a layout."""
        self._syncing = True
        try:
            if self._items:
                self.graph.delete_nodes(list(self._items.values()), push_undo=False)
            self._items.clear()
            self._ids.clear()
            self._reconcile()
        finally:
            self._syncing = False

    def _reconcile(self) -> None:
        """Make the canvas match the document: nodes, names, wires, enabled state.

        Nodes are laid out once (drawing deferred) before any wire is drawn, so each wire is
        drawn once rather than again for every port that moves under it.
        """
        doc_nodes = {n.id: n for n in self.document.tree.walk()}
        with _deferred_drawing():
            self._reconcile_nodes(doc_nodes)
        parents = self.document.tree.parents()
        for node_id in doc_nodes:
            self._wire(node_id, parents.get(node_id))

    def _reconcile_nodes(self, doc_nodes: dict[str, Any]) -> None:
        for gone in [i for i in self._items if i not in doc_nodes]:
            self.graph.delete_node(self._items.pop(gone), push_undo=False)
        self._ids = {item.id: nid for nid, item in self._items.items()}
        layout: dict[str, tuple[float, float]] | None = None
        for node_id, node in doc_nodes.items():
            if node_id in self._items:
                continue
            pos = node.ui.get("pos")
            if not (isinstance(pos, list) and len(pos) == 2):
                layout = layout or tree_layout(self.document)
                pos = list(layout[node_id])
            type_name = self._classes.get(node.type)
            if type_name is None:  # a type from a plugin that is not installed
                type_name = next(iter(self._classes.values()))
            item = self.graph.create_node(
                type_name,
                name=node.title or node.id,
                selected=False,
                pos=[float(pos[0]), float(pos[1])],
                push_undo=False,
            )
            self._items[node_id] = item
            self._ids[item.id] = node_id
        disabled = self._disabled_ids()
        for node_id, node in doc_nodes.items():
            item = self._items[node_id]
            label = node.title or node.id
            if item.name() != label:
                item.set_name(label)
            if item.get_property("enabled") != node.enabled:
                item.set_property("enabled", node.enabled, push_undo=False)
            item.set_disabled(node_id in disabled)
            self._paint_status(node_id)

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

    def _wire(self, node_id: str, parent_id: str | None) -> None:
        port = self._items[node_id].input(0)
        connected = port.connected_ports()
        current = self._ids.get(connected[0].node().id) if connected else None
        if current == parent_id:
            return
        for other in connected:
            port.disconnect_from(other, push_undo=False)
        if parent_id is not None and parent_id in self._items:
            # Port.connect_to lists all of the parent's wires to check for this one, for a
            # second input and for cycles: quadratic on a wide fan-out. The document has
            # already refused cycles and second parents, so connect directly (no undo entry,
            # no signal: our document is the one source of edits).
            PortConnectedCmd(self._items[parent_id].output(0), port, False).redo()

    def _on_change(self, change: Change) -> None:
        if change.kind in ("saved",):
            return
        if change.kind == "ui" and self._syncing:
            return
        self._syncing = True
        try:
            if change.kind == "renamed" and change.node_id in self._status:
                self._status[change.fields[0]] = self._status.pop(change.node_id)
            if change.kind == "renamed" and change.node_id in self._items:
                self._items[change.fields[0]] = self._items.pop(change.node_id)
            if change.kind == "ui" and change.node_id in self._items:
                pos = self.document.node(change.node_id).ui.get("pos")
                if isinstance(pos, list) and len(pos) == 2:
                    self._items[change.node_id].set_pos(float(pos[0]), float(pos[1]))
                return
            self._reconcile()
        finally:
            self._syncing = False

    # -- user actions → document edits ---------------------------------------------------

    def _edit(self, action: Callable[[], None]) -> None:
        try:
            action()
        except EditError as exc:
            self.refused.emit(str(exc))
        # whatever happened, the canvas shows the document
        self._syncing = True
        try:
            self._reconcile()
        finally:
            self._syncing = False

    def _on_wires_changed(self, disconnected: list[Any], connected: list[Any]) -> None:
        def apply() -> None:
            for a, b in connected:
                child, parent = (a, b) if a.port_type == "in" else (b, a)
                child_id = self._ids[child.node.id]
                parent_id = self._ids[parent.node.id]
                current = self.document.parent_id(child_id)
                if (
                    current is not None
                    and current != parent_id
                    and not any(
                        self._ids.get(x.node.id) == child_id for pair in disconnected for x in pair
                    )
                ):
                    raise EditError(
                        f"{child_id!r} already has a parent ({current!r}): a node "
                        "has one parent in a tree; disconnect it first"
                    )
                self.document.set_parent(child_id, parent_id)
            moved = {self._ids[(a if a.port_type == "in" else b).node.id] for a, b in connected}
            for a, b in disconnected:
                child = a if a.port_type == "in" else b
                gone_id = self._ids.get(child.node.id)
                if gone_id and gone_id not in moved and self.document.parent_id(gone_id):
                    self.document.set_parent(gone_id, None)

        self._edit(apply)

    def _on_wires_sliced(self, pairs: list[Any]) -> None:
        self._on_wires_changed(pairs, [])

    def _on_property(self, item: BaseNode, name: str, value: Any) -> None:
        node_id = self._ids.get(item.id)
        if self._syncing or node_id is None:
            return
        node = self.document.node(node_id)
        if name == "enabled" and node.enabled != bool(value):
            self._edit(lambda: self.document.set_fields(node_id, enabled=bool(value)))
        elif name == "name" and (node.title or node.id) != value:
            # the title edited in place (double-click on it): the document's title
            title = str(value).strip() or None
            self._edit(lambda: self.document.set_fields(node_id, title=title))

    def _on_moved(self, moved: dict[Any, Any]) -> None:
        self._syncing = True
        try:
            for view in moved:
                node_id = self._ids.get(view.id)
                if node_id is not None:
                    x, y = view.xy_pos
                    self.document.set_ui(node_id, pos=[round(x, 1), round(y, 1)])
        finally:
            self._syncing = False

    def _on_selection(self, selected: list[Any], deselected: list[Any]) -> None:
        self.selectionChanged.emit(self.selected_ids())

    def _on_dropped(self, mime: QtCore.QMimeData, pos: Any) -> None:
        for url in mime.urls():
            if url.isLocalFile():
                self.fileDropped.emit(url.toLocalFile())
                return
        if mime.hasFormat(NODE_MIME):
            type_id = bytes(mime.data(NODE_MIME).data()).decode()
            self.add_node(type_id, QtCore.QPointF(pos.x(), pos.y()))

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        viewer = self.graph.viewer()
        if event.type() == QtCore.QEvent.Type.KeyPress and watched is viewer:
            key = event.key()  # type: ignore[attr-defined]
            if key == QtCore.Qt.Key.Key_Tab:
                self.addRequested.emit(self._cursor_scene_pos())
                return True
        if event.type() == QtCore.QEvent.Type.MouseButtonDblClick and watched is viewer.viewport():
            pos = event.position().toPoint()  # type: ignore[attr-defined]
            if viewer.itemAt(pos) is None:
                self.addRequested.emit(viewer.mapToScene(pos))
                return True
        return False

    def _cursor_scene_pos(self) -> QtCore.QPointF:
        viewer = self.graph.viewer()
        local = viewer.mapFromGlobal(QtGui.QCursor.pos())
        if not viewer.rect().contains(local):
            local = viewer.rect().center()
        return viewer.mapToScene(local)  # type: ignore[no-any-return]

    # -- commands (the main window's actions) -----------------------------------------------

    def selected_ids(self) -> list[str]:
        return [self._ids[n.id] for n in self.graph.selected_nodes() if n.id in self._ids]

    def select(self, node_ids: list[str]) -> None:
        self.graph.clear_selection()
        for node_id in node_ids:
            if node_id in self._items:
                self._items[node_id].set_selected(True)
        self.selectionChanged.emit(self.selected_ids())

    def add_node(self, type_id: str, scene_pos: QtCore.QPointF | None = None) -> str | None:
        """Add a node; as a child of the single selected node, else as a root."""
        selected = self.selected_ids()
        parent = selected[0] if len(selected) == 1 else None
        ui = {"pos": [round(scene_pos.x(), 1), round(scene_pos.y(), 1)]} if scene_pos else None
        if ui is None and parent is not None:
            px, py = self._items[parent].pos()
            ui = {"pos": [px + X_STEP, py + Y_STEP * len(self.document.node(parent).children)]}
        added: list[str] = []
        self._edit(lambda: added.append(self.document.add_node(type_id, parent, ui=ui).id))
        if added:
            self.select(added)
            return added[0]
        return None

    def delete_selected(self) -> None:
        """Delete the selected nodes; their children stay, as new roots (one undo step)."""
        ids = self.selected_ids()
        if ids:
            self._edit(lambda: self.document.delete_nodes(ids))

    def fit(self) -> None:
        if self._items:
            self.graph.center_on(list(self._items.values()))
            self.graph.viewer().zoom_to_nodes([n.view for n in self._items.values()])

    def auto_layout(self) -> None:
        """Lay the tree out left to right and keep the positions (saved with the tree)."""
        positions = tree_layout(self.document)
        for node_id, (x, y) in positions.items():
            self.document.set_ui(node_id, pos=[x, y])

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
        view = self._items[node_id].view
        if state is None and node_id in self._problems:
            severity, message = self._problems[node_id]
            view.set_status("failed" if severity == "error" else "waiting", f"⚠ {message}", None)
            view.setToolTip(message)
            return
        view.set_status(state, text or node_id, image)
