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
import html
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_API", "pyside6")

from NodeGraphQt import BaseNode, NodeGraph
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.widgets.node_widgets import NodeBaseWidget, _NodeGroupBox
from PySide6 import QtCore, QtGui, QtWidgets

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


def _restyle_once() -> None:
    """NodeGraphQt restyles each node widget's frame (a costly ``setStyleSheet``) on every
    redraw, with the same style for the same alignment: do it once per widget and align."""
    original = _NodeGroupBox.setTitleAlign
    if getattr(original, "_once", False):
        return

    def set_title_align(self: Any, align: str = "center") -> None:
        if getattr(self, "_genarun_align", None) != align:
            original(self, align)
            self._genarun_align = align

    set_title_align._once = True  # type: ignore[attr-defined]
    _NodeGroupBox.setTitleAlign = set_title_align


_restyle_once()


@contextlib.contextmanager
def _deferred_drawing() -> Iterator[None]:
    """Build many nodes without redrawing each after every port and widget it gets.

    NodeGraphQt redraws a node (restyling its widgets) on every ``add_input``,
    ``add_checkbox``, ``set_color``...: six times per node. Inside this block those redraws
    are collected, and each node is drawn once at the end.
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


class StatusWidget(NodeBaseWidget):  # type: ignore[misc]
    """A line under the node's title: state, instance counts, and the latest image."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent, name="status", label="")
        box = QtWidgets.QWidget()
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_TranslucentBackground)
        layout = QtWidgets.QVBoxLayout(box)
        layout.setContentsMargins(2, 0, 2, 2)
        layout.setSpacing(2)
        self.label = QtWidgets.QLabel("")
        self.label.setStyleSheet("color: #c9d1d9; font-size: 10px;")
        self.thumb = QtWidgets.QLabel()
        self.thumb.hide()
        layout.addWidget(self.label)
        layout.addWidget(self.thumb)
        self.set_custom_widget(box)
        self._text = ""

    def get_value(self) -> str:
        return self._text

    def set_value(self, text: str = "") -> None:
        self._text = text
        self.label.setText(text)

    def show_state(self, state: str | None, text: str, image: Path | None) -> None:
        color = STATE_COLORS.get(state or "", "#8b949e")
        self._text = text
        shown = html.escape(text)
        self.label.setText(f'<span style="color:{color}">●</span> {shown}' if text else "")
        if image is not None and image.is_file():
            pixmap = QtGui.QPixmap(str(image))
            if not pixmap.isNull():
                self.thumb.setPixmap(
                    pixmap.scaled(
                        160,
                        110,
                        QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                        QtCore.Qt.TransformationMode.SmoothTransformation,
                    )
                )
                self.thumb.show()
        elif image is None:
            self.thumb.hide()
        self.widget().adjustSize()
        if self.node is not None:
            self.node.view.draw_node()


def _node_class(node_type: NodeType) -> type[BaseNode]:  # type: ignore[type-arg]
    """The NodeGraphQt class of a node type: generated, never written per type."""

    def __init__(self: BaseNode) -> None:
        BaseNode.__init__(self)
        self.add_input("parent", multi_input=False)
        self.add_output("children", multi_output=True)
        self.add_checkbox(
            "enabled",
            text="enabled",
            state=True,
            tooltip="Unticked: this node and its subtree are skipped",
        )
        self.add_custom_widget(StatusWidget(self.view))
        self.set_color(*LANE_COLORS.get(node_type.lane, (70, 74, 80)))

    name = "N_" + "".join(c if c.isalnum() else "_" for c in node_type.type_id)
    return type(
        name,
        (BaseNode,),
        {"__identifier__": IDENTIFIER, "NODE_NAME": node_type.title, "__init__": __init__},
    )


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
        self.graph = NodeGraph()
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
        self._unsubscribe()

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
        """Make the canvas match the document: nodes, names, wires, enabled state."""
        with _deferred_drawing():
            self._reconcile_now()

    def _reconcile_now(self) -> None:
        doc_nodes = {n.id: n for n in self.document.tree.walk()}
        parents = self.document.tree.parents()
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
            self._wire(node_id, parents.get(node_id))
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
            self._items[parent_id].output(0).connect_to(port, push_undo=False)

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
        if self._syncing or name != "enabled":
            return
        node_id = self._ids.get(item.id)
        if node_id is not None and self.document.node(node_id).enabled != bool(value):
            self._edit(lambda: self.document.set_fields(node_id, enabled=bool(value)))

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
        widget = self._items[node_id].get_widget("status")
        if state is None and node_id in self._problems:
            severity, message = self._problems[node_id]
            widget.show_state(
                "failed" if severity == "error" else "waiting", f"⚠ {message[:60]}", None
            )
            widget.setToolTip(message)
            return
        widget.show_state(state, text or node_id, image)
