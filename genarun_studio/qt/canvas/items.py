"""The canvas's own graphics items: :class:`NodeItem` (one item painting a whole node),
:class:`WireItem` (a parent → child wire) and the in-place title editor.

Items hold no tree state of their own: a click, drag or edit is handed to their
:class:`~genarun_studio.qt.canvas.view.TreeCanvas`, which turns it into a document edit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtGui, QtWidgets

from genarun_studio.qt.canvas.style import (
    _CENTER,
    _LEFT,
    _RIGHT,
    BODY,
    DIM_TEXT,
    NODE_W,
    OUTLINED_STATES,
    PORT_H,
    PORT_R,
    PROXY_LOD,
    SELECTED,
    STATE_COLORS,
    STATUS_H,
    TARGET,
    TEXT,
    THUMB_H,
    THUMB_W,
    TITLE_H,
    WIRE,
    _Fonts,
    _lane_color,
)

if TYPE_CHECKING:
    from genarun_studio.qt.canvas.view import TreeCanvas


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
