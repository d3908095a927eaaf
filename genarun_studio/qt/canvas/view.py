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
from genarun_studio.core.registry import Registry
from genarun_studio.errors import GenarunError

__all__ = [
    "NODE_MIME",
    "STATE_COLORS",
    "CanvasView",
    "NodeItem",
    "TreeCanvas",
    "WireItem",
    "tree_layout",
]

NODE_MIME = "application/x-genarun-node-type"
X_STEP, Y_STEP = 300, 110
"""Auto-layout spacing: depth → x, one row per leaf → y."""

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
    "warning": "#d29922",
}
NODE_COLOURS = {
    "Red": "#8e3b3b",
    "Orange": "#8a5a2b",
    "Yellow": "#7d7028",
    "Green": "#2f6b3a",
    "Teal": "#24686a",
    "Blue": "#2c4f86",
    "Purple": "#5d3f86",
    "Grey": "#4b5158",
}
"""Title-bar colours offered on a node's right-click menu (dark enough for light text)."""
OUTLINED_STATES = ("running", "failed", "waiting")
"""States that also draw a coloured outline round the node (where to look, on a big tree)."""

NODE_W = 230.0
TITLE_H = 24.0
PORT_H = 20.0
STATUS_H = 18.0
PORT_R = 5.5
THUMB_W, THUMB_H = 160, 110
SCENE_EXTENT = 1_000_000.0
"""Half the side of the scene rectangle: fixed, so adding items never recomputes it."""
MIN_ZOOM, MAX_ZOOM, FIT_MAX_ZOOM = 0.001, 3.0, 1.25
"""Zoom limits: far enough out for 5,000 nodes in one view, and fit never zooms past 125%."""
PROXY_LOD = 0.4
"""Below this zoom a node is drawn as a plain coloured box (nothing readable is lost)."""

TEXT = QtGui.QColor(201, 209, 217)
DIM_TEXT = QtGui.QColor(139, 148, 158)
BODY = QtGui.QColor(33, 38, 45)
SELECTED = QtGui.QColor(240, 136, 62)
TARGET = QtGui.QColor(88, 166, 255)
WIRE = QtGui.QColor(139, 148, 158)
BACKGROUND = QtGui.QColor(22, 27, 34)
GRID = QtGui.QColor(30, 36, 44)
GRID_MAJOR = QtGui.QColor(38, 45, 54)

_LEFT = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
_RIGHT = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
_CENTER = QtCore.Qt.AlignmentFlag.AlignCenter


class _Fonts:
    """Fonts and metrics shared by every node, made once the application exists."""

    title: QtGui.QFont
    small: QtGui.QFont
    title_metrics: QtGui.QFontMetricsF
    small_metrics: QtGui.QFontMetricsF
    ready = False

    @classmethod
    def get(cls) -> type[_Fonts]:
        if not cls.ready:
            cls.title = QtGui.QFont(QtWidgets.QApplication.font())
            cls.title.setPointSizeF(9.5)
            cls.title.setBold(True)
            cls.small = QtGui.QFont(QtWidgets.QApplication.font())
            cls.small.setPointSizeF(7.5)
            cls.title_metrics = QtGui.QFontMetricsF(cls.title)
            cls.small_metrics = QtGui.QFontMetricsF(cls.small)
            cls.ready = True
        return cls


def _lane_color(lane: str) -> QtGui.QColor:
    return QtGui.QColor(*LANE_COLORS.get(lane, LANE_COLORS["local"]))


class NodeItem(QtWidgets.QGraphicsItem):
    """One node: title bar with the enable box, a row with the ``parent`` and ``children``
    ports and the node's type, a status line (state dot and text such as ``done 7/10``) and,
    for image nodes, the latest output's thumbnail. Everything is painted; nothing is a child
    item, so a node costs one Python object and one C++ item."""

    def __init__(self, canvas: TreeCanvas, node_id: str) -> None:
        super().__init__()
        self.canvas = canvas
        self.node_id = node_id
        self.title = ""
        self._title_shown = ""
        self.type_id = ""
        self.color = _lane_color("local")
        self.checked = True
        self.dimmed = False
        """Drawn faded: the node or an ancestor is disabled (runs skip it)."""
        self.status_state: str | None = None
        self.status_text = ""
        self.thumbnail: QtGui.QPixmap | None = None
        self._shown: tuple[str | None, str, Path | None] | None = None
        self.wire_in: WireItem | None = None
        self.wires_out: set[WireItem] = set()
        self._height = TITLE_H + PORT_H + STATUS_H
        self._clicked_box = False
        self.targeted = False
        """A dragged wire would land on this node if released now."""
        self.setFlags(
            QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )

    # -- geometry (item coordinates; the origin is the body's top-left corner) -------------

    def body_rect(self) -> QtCore.QRectF:
        return QtCore.QRectF(0.0, 0.0, NODE_W, self._height)

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(-PORT_R - 2, -2.0, NODE_W + 2 * PORT_R + 4, self._height + 4)

    def check_rect(self) -> QtCore.QRectF:
        """The enable box, at the right end of the title bar."""
        return QtCore.QRectF(NODE_W - 22.0, (TITLE_H - 12.0) / 2, 12.0, 12.0)

    def title_rect(self) -> QtCore.QRectF:
        return QtCore.QRectF(8.0, 0.0, NODE_W - 36.0, TITLE_H)

    def in_port(self) -> QtCore.QPointF:
        """The ``parent`` port's centre, in item coordinates."""
        return QtCore.QPointF(0.0, TITLE_H + PORT_H / 2)

    def out_port(self) -> QtCore.QPointF:
        """The ``children`` port's centre, in item coordinates."""
        return QtCore.QPointF(NODE_W, TITLE_H + PORT_H / 2)

    def in_port_scene(self) -> QtCore.QPointF:
        return self.pos() + self.in_port()

    def out_port_scene(self) -> QtCore.QPointF:
        return self.pos() + self.out_port()

    def port_at(self, pos: QtCore.QPointF) -> str | None:
        """``"in"`` or ``"out"`` when ``pos`` (item coordinates) is on or next to a port."""
        for name, centre in (("in", self.in_port()), ("out", self.out_port())):
            if math.hypot(pos.x() - centre.x(), pos.y() - centre.y()) <= PORT_R + 6:
                return name
        return None

    # -- state -----------------------------------------------------------------------------

    def set_title(self, title: str) -> None:
        if title != self.title:
            self.title = title
            fonts = _Fonts.get()
            self._title_shown = fonts.title_metrics.elidedText(
                title, QtCore.Qt.TextElideMode.ElideRight, self.title_rect().width()
            )
            self.update()

    def set_type(self, type_id: str, lane: str, colour: Any = None) -> None:
        """The node's type, drawn in its lane's colour unless ``colour`` (``ui.color``, a
        ``#rrggbb`` the user chose) says otherwise."""
        chosen = QtGui.QColor(colour) if isinstance(colour, str) else QtGui.QColor()
        color = chosen if chosen.isValid() else _lane_color(lane)
        if type_id != self.type_id or color != self.color:
            self.type_id = type_id
            self.color = color
            self.update()

    def set_targeted(self, targeted: bool) -> None:
        if self.targeted != targeted:
            self.targeted = targeted
            self.update()

    def set_checked(self, checked: bool) -> None:
        if self.checked != checked:
            self.checked = checked
            self.update()

    def set_dimmed(self, dimmed: bool) -> None:
        if self.dimmed != dimmed:
            self.dimmed = dimmed
            self.update()
            if self.wire_in is not None:
                self.wire_in.update()  # a wire is drawn faded with its child

    def set_status(self, state: str | None, text: str, image: Path | None) -> None:
        """Show a state, a line of text and (when given) an image file's thumbnail."""
        if (state, text, image) == self._shown:
            return  # unchanged: no repaint (a big tree reconciles every node on each edit)
        self._shown = (state, text, image)
        if image is not None and image.is_file():
            thumbnail = _thumbnail(image)
            if thumbnail is not None:
                self.thumbnail = thumbnail
        elif image is None:
            self.thumbnail = None
        self.status_state, self.status_text = state, text
        height = TITLE_H + PORT_H + STATUS_H
        if self.thumbnail is not None:
            height += self.thumbnail.height() + 6
        if height != self._height:
            self.prepareGeometryChange()  # the node grows or shrinks
            self._height = height
        self.update()

    # -- painting --------------------------------------------------------------------------

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        body = self.body_rect()
        if self.dimmed:
            painter.setOpacity(painter.opacity() * 0.4)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < PROXY_LOD:  # zoomed far out: a plain box in the node's colour
            painter.fillRect(body, self.color)
            self._paint_outline(painter, body, 6.0 / max(lod, 0.05))
            return
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(BODY)
        painter.drawRoundedRect(body, 5.0, 5.0)
        title_bar = QtGui.QPainterPath()
        title_bar.setFillRule(QtCore.Qt.FillRule.WindingFill)
        title_bar.addRoundedRect(QtCore.QRectF(0, 0, NODE_W, TITLE_H), 5.0, 5.0)
        title_bar.addRect(QtCore.QRectF(0, TITLE_H - 6, NODE_W, 6))
        painter.setBrush(self.color)
        painter.drawPath(title_bar)
        fonts = _Fonts.get()
        painter.setFont(fonts.title)
        painter.setPen(TEXT)
        painter.drawText(self.title_rect(), _LEFT, self._title_shown)
        self._paint_check(painter)
        self._paint_ports(painter, fonts)
        self._paint_status_line(painter, fonts)
        if self.thumbnail is not None:
            x = (NODE_W - self.thumbnail.width()) / 2
            painter.drawPixmap(QtCore.QPointF(x, TITLE_H + PORT_H + STATUS_H), self.thumbnail)
        self._paint_outline(painter, body, 2.5)

    def _paint_check(self, painter: QtGui.QPainter) -> None:
        box = self.check_rect()
        painter.setPen(QtGui.QPen(TEXT, 1.0))
        painter.setBrush(QtGui.QColor(13, 17, 23, 170))
        painter.drawRoundedRect(box, 2.0, 2.0)
        if self.checked:
            tick = QtGui.QPainterPath()
            tick.moveTo(box.left() + 2.5, box.center().y())
            tick.lineTo(box.left() + 5.0, box.bottom() - 2.5)
            tick.lineTo(box.right() - 2.0, box.top() + 2.5)
            painter.setPen(QtGui.QPen(QtGui.QColor(92, 184, 92), 2.0))
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawPath(tick)

    def _paint_ports(self, painter: QtGui.QPainter, fonts: type[_Fonts]) -> None:
        row = QtCore.QRectF(0, TITLE_H, NODE_W, PORT_H)
        painter.setFont(fonts.small)
        painter.setPen(DIM_TEXT)
        painter.drawText(row.adjusted(12, 0, 0, 0), _LEFT, "parent")
        painter.drawText(row.adjusted(0, 0, -12, 0), _RIGHT, "children")
        painter.drawText(row.adjusted(60, 0, -60, 0), _CENTER, self.type_id)
        painter.setPen(QtGui.QPen(BODY, 1.5))
        for centre, connected in (
            (self.in_port(), self.wire_in is not None),
            (self.out_port(), bool(self.wires_out)),
        ):
            painter.setBrush(WIRE if connected else QtGui.QColor(72, 79, 88))
            painter.drawEllipse(centre, PORT_R, PORT_R)

    def _paint_status_line(self, painter: QtGui.QPainter, fonts: type[_Fonts]) -> None:
        if not self.status_text:
            return
        line = QtCore.QRectF(8.0, TITLE_H + PORT_H - 1, NODE_W - 16.0, STATUS_H)
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(QtGui.QColor(STATE_COLORS.get(self.status_state or "", "#8b949e")))
        painter.drawEllipse(QtCore.QPointF(line.left() + 4, line.center().y()), 3.5, 3.5)
        painter.setFont(fonts.small)
        painter.setPen(TEXT)
        text_rect = line.adjusted(12, 0, 0, 0)
        text = fonts.small_metrics.elidedText(
            self.status_text, QtCore.Qt.TextElideMode.ElideRight, text_rect.width()
        )
        painter.drawText(text_rect, _LEFT, text)

    def _paint_outline(self, painter: QtGui.QPainter, body: QtCore.QRectF, width: float) -> None:
        if self.targeted:
            color: QtGui.QColor | None = TARGET
        elif self.isSelected():
            color = SELECTED
        elif self.status_state in OUTLINED_STATES:  # seen even zoomed far out
            color = QtGui.QColor(STATE_COLORS[self.status_state or ""])
        else:
            color = None
        if color is not None:
            painter.setPen(QtGui.QPen(color, width))
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(body, 5.0, 5.0)

    # -- interaction -----------------------------------------------------------------------

    def itemChange(self, change: QtWidgets.QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QtWidgets.QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            if self.wire_in is not None:
                self.wire_in.update_path()
            for wire in self.wires_out:
                wire.update_path()
        return super().itemChange(change, value)

    def _on_box(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> bool:
        return self.check_rect().adjusted(-4, -4, 4, 4).contains(event.pos())

    def mousePressEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            if self._on_box(event):  # a click on the box toggles; the selection stays
                self._clicked_box = True
                self.canvas._toggle(self.node_id)
                event.accept()
                return
            port = self.port_at(event.pos())
            if port is not None:  # a wire once the mouse moves (a click changes nothing)
                self.canvas._press_port(self, port, event.scenePos())
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        if self.canvas._port_pressed(self):
            self.canvas._drag_wire(event.scenePos())
            return
        if self._clicked_box:
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        if self.canvas._port_pressed(self):
            self.canvas._end_wire(event.scenePos())
            return
        if self._clicked_box:
            self._clicked_box = False
            return
        super().mouseReleaseEvent(event)
        self.canvas._commit_moves()

    def sceneEvent(self, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.UngrabMouse:  # a popup, a window switch...
            self._clicked_box = False
            if self.canvas._port_pressed(self):
                self.canvas._cancel_wire()
        return super().sceneEvent(event)

    def mouseDoubleClickEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            event.ignore()
            return
        if self._on_box(event):  # the second click of a quick double toggle
            self._clicked_box = True
            self.canvas._toggle(self.node_id)
        elif self.title_rect().contains(event.pos()):
            self.canvas.edit_title(self.node_id)
        else:
            self.canvas.nodeActivated.emit(self.node_id)
        event.accept()


class WireItem(QtWidgets.QGraphicsPathItem):
    """A parent → child wire: a curve from the parent's ``children`` port to the child's
    ``parent`` port. Select it and press Delete to disconnect the child."""

    def __init__(self, parent_node: NodeItem, child_node: NodeItem) -> None:
        super().__init__()
        self.parent_node = parent_node
        self.child_node = child_node
        self.setZValue(-1.0)
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self._shape: QtGui.QPainterPath | None = None
        self.update_path()

    def update_path(self) -> None:
        self._shape = None
        self.setPath(_curve(self.parent_node.out_port_scene(), self.child_node.in_port_scene()))

    def shape(self) -> QtGui.QPainterPath:  # easy to click: 12 px wide; made once per path
        if self._shape is None:
            stroker = QtGui.QPainterPathStroker()
            stroker.setWidth(12.0)
            self._shape = stroker.createStroke(self.path())
        return self._shape

    def paint(
        self,
        painter: QtGui.QPainter,
        option: QtWidgets.QStyleOptionGraphicsItem,
        widget: QtWidgets.QWidget | None = None,
    ) -> None:
        if self.child_node.dimmed:
            painter.setOpacity(painter.opacity() * 0.35)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, lod >= PROXY_LOD)
        color = SELECTED if self.isSelected() else WIRE
        painter.setPen(QtGui.QPen(color, 2.5 if self.isSelected() else 1.8))
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())


def _thumbnail(image: Path) -> QtGui.QPixmap | None:
    """An image file decoded at thumbnail size (a big image is never decoded in full)."""
    reader = QtGui.QImageReader(str(image))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid():
        reader.setScaledSize(
            size.scaled(THUMB_W, THUMB_H, QtCore.Qt.AspectRatioMode.KeepAspectRatio)
        )
    decoded = reader.read()
    return None if decoded.isNull() else QtGui.QPixmap.fromImage(decoded)


def _curve(a: QtCore.QPointF, b: QtCore.QPointF) -> QtGui.QPainterPath:
    dx = max(abs(b.x() - a.x()) * 0.5, 40.0)
    path = QtGui.QPainterPath(a)
    path.cubicTo(a.x() + dx, a.y(), b.x() - dx, b.y(), b.x(), b.y())
    return path


class _TitleEditor(QtWidgets.QGraphicsTextItem):
    """The title, edited in place: Return or leaving it keeps the text, Escape drops it."""

    def __init__(self, item: NodeItem, on_done: Callable[[str | None], None]) -> None:
        super().__init__(item.title, item)
        self._on_done: Callable[[str | None], None] | None = on_done
        self.setDefaultTextColor(TEXT)
        self.setFont(_Fonts.get().title)
        self.setTextWidth(item.title_rect().width())
        self.setPos(item.title_rect().left() - 4, 1.0)
        self.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextEditorInteraction)
        self.setZValue(1.0)
        cursor = self.textCursor()
        cursor.select(QtGui.QTextCursor.SelectionType.Document)
        self.setTextCursor(cursor)
        self.setFocus()

    def finish(self, keep: bool) -> None:
        done, self._on_done = self._on_done, None
        if done is not None:
            done(self.toPlainText() if keep else None)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter):
            self.finish(True)
        elif event.key() == QtCore.Qt.Key.Key_Escape:
            self.finish(False)
        else:
            super().keyPressEvent(event)

    def focusOutEvent(self, event: QtGui.QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.finish(True)


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


WRAP_AT = 12
"""A node with more leaf children than this gets them in a grid of columns, not one column."""


def tree_layout(document: TreeDocument) -> dict[str, tuple[float, float]]:
    """Left-to-right tree layout: depth gives x, leaves take rows, parents sit centred.

    A wide fan-out of leaves (a generated dataset: hundreds of pages under one node) is laid
    out in a roughly square grid of columns, so that fit to view still shows readable nodes.
    """
    positions: dict[str, tuple[float, float]] = {}
    row = 0.0

    def place(node: Any, depth: int) -> float:
        nonlocal row
        children = node.children
        if not children:
            y = row * Y_STEP
            row += 1
        elif len(children) > WRAP_AT and not any(c.children for c in children):
            rows = max(WRAP_AT, math.ceil(math.sqrt(len(children) * X_STEP / Y_STEP)))
            for i, child in enumerate(children):
                column, line = divmod(i, rows)
                positions[child.id] = ((depth + 1 + column) * X_STEP, (row + line) * Y_STEP)
            y = (row + (min(rows, len(children)) - 1) / 2) * Y_STEP
            row += min(rows, len(children))
        else:
            ys = [place(child, depth + 1) for child in children]
            y = (ys[0] + ys[-1]) / 2
        positions[node.id] = (depth * X_STEP, y)
        return y

    for root in document.tree.nodes:
        place(root, 0)
        row += 0.5
    return positions


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
