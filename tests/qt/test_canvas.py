"""The canvas as a mouse and keyboard drive it: moving nodes, dragging wires between ports,
deleting a wire, adding with Tab or a double-click, renaming in place, zooming, dropping a
node type. Real events sent to the view's viewport, offscreen; every edit lands in the
document (one source of undo), and the canvas redraws from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from genarun_studio.core.document import TreeDocument
from genarun_studio.core.registry import default_registry
from genarun_studio.qt.canvas import NODE_MIME, NodeItem, TreeCanvas

LIZARD = Path(__file__).parents[2] / "resources" / "examples" / "lizard-blog.genarun.json"
LEFT = QtCore.Qt.MouseButton.LeftButton
NONE = QtCore.Qt.MouseButton.NoButton


@pytest.fixture
def canvas(qtbot: Any) -> Iterator[TreeCanvas]:
    registry = default_registry()
    document = TreeDocument.open(LIZARD, registry)
    canvas = TreeCanvas(document, registry)
    qtbot.addWidget(canvas.view)
    canvas.view.resize(1200, 700)
    canvas.view.show()
    canvas.fit()
    QtWidgets.QApplication.processEvents()
    yield canvas
    canvas.close()


def send(
    canvas: TreeCanvas,
    kind: QtCore.QEvent.Type,
    scene_point: QtCore.QPointF,
    button: QtCore.Qt.MouseButton = LEFT,
    buttons: QtCore.Qt.MouseButton = LEFT,
    modifiers: QtCore.Qt.KeyboardModifier = QtCore.Qt.KeyboardModifier.NoModifier,
) -> None:
    """One mouse event at a scene point (QTest's mouseMove cannot hold a button in Qt 6)."""
    viewport = canvas.view.viewport()
    local = QtCore.QPointF(canvas.view.mapFromScene(scene_point))
    event = QtGui.QMouseEvent(
        kind, local, QtCore.QPointF(viewport.mapToGlobal(local)), button, buttons, modifiers
    )
    QtWidgets.QApplication.sendEvent(viewport, event)


def drag(canvas: TreeCanvas, start: QtCore.QPointF, end: QtCore.QPointF) -> None:
    send(canvas, QtCore.QEvent.Type.MouseButtonPress, start)
    for step in range(1, 6):
        send(
            canvas,
            QtCore.QEvent.Type.MouseMove,
            start + (end - start) * (step / 5),
            button=NONE,
        )
    send(canvas, QtCore.QEvent.Type.MouseButtonRelease, end, buttons=NONE)


def show(canvas: TreeCanvas, *node_ids: str) -> None:
    """Zoom to 100% with the nodes in view (a drag needs readable ports)."""
    canvas.view.resetTransform()
    rect = QtCore.QRectF()
    for node_id in node_ids:
        rect = rect.united(canvas.item(node_id).sceneBoundingRect())
    canvas.view.centerOn(rect.center())
    QtWidgets.QApplication.processEvents()


def test_every_node_and_wire_of_the_tree_is_drawn(canvas: TreeCanvas) -> None:
    assert {i.node_id for i in canvas.scene.items() if isinstance(i, NodeItem)} == {
        "site",
        "topics",
        "article",
        "hero",
    }
    assert canvas.parent_of("site") is None
    assert canvas.children_of("topics") == ["article", "hero"]
    assert canvas.item("hero").type_id == "image"
    assert canvas.item("site").title == "Site plan"


def test_dragging_a_node_moves_it_and_keeps_the_position_in_the_document(
    canvas: TreeCanvas,
) -> None:
    show(canvas, "article")
    item = canvas.item("article")
    before = item.pos()
    grab = item.mapToScene(QtCore.QPointF(60, item.body_rect().bottom() - 6))
    drag(canvas, grab, grab + QtCore.QPointF(80, 40))
    assert item.pos() == before + QtCore.QPointF(80, 40)
    assert canvas.document.node("article").ui["pos"] == [before.x() + 80, before.y() + 40]
    # its wire follows it
    wire = item.wire_in
    assert wire is not None
    assert wire.path().currentPosition() == item.in_port_scene()
    assert canvas.selected_ids() == ["article"]


def test_a_wire_dragged_from_children_onto_a_root_makes_it_a_child(canvas: TreeCanvas) -> None:
    canvas.document.set_parent("hero", None)  # hero is a root now
    show(canvas, "site", "hero")
    site, hero = canvas.item("site"), canvas.item("hero")
    send(canvas, QtCore.QEvent.Type.MouseButtonPress, site.out_port_scene())
    send(canvas, QtCore.QEvent.Type.MouseMove, hero.in_port_scene(), button=NONE)
    assert hero.targeted  # where the wire would land is outlined
    assert not site.targeted
    send(canvas, QtCore.QEvent.Type.MouseButtonRelease, hero.in_port_scene(), buttons=NONE)
    assert not hero.targeted
    assert canvas.document.parent_id("hero") == "site"
    assert canvas.parent_of("hero") == "site"
    canvas.document.undo()
    assert canvas.parent_of("hero") is None


def test_a_wire_onto_a_node_that_has_a_parent_is_refused(canvas: TreeCanvas) -> None:
    refused: list[str] = []
    canvas.refused.connect(refused.append)
    show(canvas, "site", "article")
    drag(canvas, canvas.item("site").out_port_scene(), canvas.item("article").in_port_scene())
    assert canvas.document.parent_id("article") == "topics"
    assert refused
    assert "one parent" in refused[0]
    assert canvas.parent_of("article") == "topics"


def test_a_parent_port_dragged_away_disconnects_and_onto_a_node_reparents(
    canvas: TreeCanvas,
) -> None:
    show(canvas, "article")
    article = canvas.item("article")
    drag(canvas, article.in_port_scene(), article.in_port_scene() + QtCore.QPointF(-150, 200))
    assert canvas.document.parent_id("article") is None
    assert canvas.parent_of("article") is None
    canvas.document.undo()
    assert canvas.parent_of("article") == "topics"
    show(canvas, "site", "article")
    site = canvas.item("site")
    drag(canvas, article.in_port_scene(), site.mapToScene(site.body_rect().center()))
    assert canvas.document.parent_id("article") == "site"
    assert canvas.parent_of("article") == "site"
    assert article.wire_in is not None
    assert article.wire_in.isVisible()


def test_a_cycle_is_refused_with_the_documents_message(canvas: TreeCanvas) -> None:
    refused: list[str] = []
    canvas.refused.connect(refused.append)
    show(canvas, "site", "hero")
    site = canvas.item("site")
    drag(canvas, site.in_port_scene(), canvas.item("hero").out_port_scene())
    assert canvas.document.parent_id("site") is None
    assert len(refused) == 1


def test_a_selected_wire_is_deleted_and_the_child_becomes_a_root(canvas: TreeCanvas) -> None:
    wire = canvas.item("hero").wire_in
    assert wire is not None
    canvas.scene.clearSelection()
    wire.setSelected(True)
    canvas.delete_selected()
    assert canvas.document.parent_id("hero") is None
    assert canvas.parent_of("hero") is None
    assert canvas.item("hero") in canvas.scene.items()


def test_clicking_the_enable_box_disables_the_subtree(canvas: TreeCanvas, qtbot: Any) -> None:
    show(canvas, "topics")
    item = canvas.item("topics")
    point = canvas.view.mapFromScene(item.mapToScene(item.check_rect().center()))
    qtbot.mouseClick(canvas.view.viewport(), LEFT, pos=point)
    assert canvas.document.node("topics").enabled is False
    assert [canvas.item(n).dimmed for n in ("site", "topics", "article", "hero")] == [
        False,
        True,
        True,
        True,
    ]


def test_double_clicks_add_rename_and_open_properties(canvas: TreeCanvas, qtbot: Any) -> None:
    added: list[QtCore.QPointF] = []
    activated: list[str] = []
    canvas.addRequested.connect(added.append)
    canvas.nodeActivated.connect(activated.append)
    show(canvas, "site")
    site = canvas.item("site")
    empty = site.mapToScene(QtCore.QPointF(-200, -200))
    send(canvas, QtCore.QEvent.Type.MouseButtonDblClick, empty, buttons=LEFT)
    assert len(added) == 1
    assert (added[0] - empty).manhattanLength() < 2
    send(canvas, QtCore.QEvent.Type.MouseButtonDblClick, site.mapToScene(QtCore.QPointF(60, 50)))
    assert activated == ["site"]
    send(canvas, QtCore.QEvent.Type.MouseButtonDblClick, site.mapToScene(QtCore.QPointF(40, 12)))
    editor = canvas._title_editor
    assert editor is not None
    assert editor.toPlainText() == "Site plan"
    editor.setPlainText("Plan")
    qtbot.keyClick(canvas.view.viewport(), QtCore.Qt.Key.Key_Return)
    assert canvas.document.node("site").title == "Plan"
    assert site.title == "Plan"


def test_tab_asks_to_add_a_node(canvas: TreeCanvas, qtbot: Any) -> None:
    added: list[QtCore.QPointF] = []
    canvas.addRequested.connect(added.append)
    canvas.view.setFocus()
    qtbot.keyClick(canvas.view, QtCore.Qt.Key.Key_Tab)
    assert len(added) == 1


def test_the_wheel_zooms_within_limits(canvas: TreeCanvas) -> None:
    show(canvas, "site")
    viewport = canvas.view.viewport()
    centre = QtCore.QPointF(viewport.rect().center())

    def wheel(delta: int) -> None:
        event = QtGui.QWheelEvent(
            centre,
            QtCore.QPointF(viewport.mapToGlobal(centre)),
            QtCore.QPoint(0, 0),
            QtCore.QPoint(0, delta),
            NONE,
            QtCore.Qt.KeyboardModifier.NoModifier,
            QtCore.Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QtWidgets.QApplication.sendEvent(viewport, event)

    wheel(120)
    assert canvas.view.zoom() > 1.0
    for _ in range(40):
        wheel(-1200)
    assert canvas.view.zoom() == pytest.approx(0.001)


def test_a_node_type_dropped_from_the_palette_is_added_where_it_fell(canvas: TreeCanvas) -> None:
    canvas.scene.clearSelection()
    mime = QtCore.QMimeData()
    mime.setData(NODE_MIME, QtCore.QByteArray(b"template"))
    canvas.drop(mime, QtCore.QPointF(900, 600))
    [new] = [n for n in canvas.document.tree.walk() if n.type == "template"]
    assert new.ui["pos"] == [900, 600]
    assert canvas.item(new.id).pos() == QtCore.QPointF(900, 600)
    assert canvas.selected_ids() == [new.id]


def test_auto_layout_keeps_the_positions_in_the_tree(canvas: TreeCanvas) -> None:
    canvas.item("hero").setPos(5000, 5000)
    canvas.document.set_ui("hero", pos=[5000, 5000])
    canvas.auto_layout()
    from genarun_studio.core.layout import tree_layout

    expected = tree_layout(canvas.document)
    for node_id, (x, y) in expected.items():
        assert canvas.document.node(node_id).ui["pos"] == [x, y]
        assert canvas.item(node_id).pos() == QtCore.QPointF(x, y)


def test_an_undo_while_a_wire_is_dragged_ends_the_drag(canvas: TreeCanvas) -> None:
    """The node under the mouse goes (Ctrl+Z with the button down): the drag must not stay
    stuck, or every later drag of a node would draw wires."""
    canvas.select(["article"])
    new_id = canvas.add_node("template")
    assert new_id is not None
    show(canvas, new_id)
    item = canvas.item(new_id)
    send(canvas, QtCore.QEvent.Type.MouseButtonPress, item.out_port_scene())
    send(
        canvas,
        QtCore.QEvent.Type.MouseMove,
        item.out_port_scene() + QtCore.QPointF(80, 0),
        button=NONE,
    )
    canvas.document.undo()
    assert new_id not in {n.id for n in canvas.document.tree.walk()}
    send(
        canvas,
        QtCore.QEvent.Type.MouseButtonRelease,
        item.out_port_scene() + QtCore.QPointF(80, 0),
        buttons=NONE,
    )
    assert canvas._dragging is None
    assert not [i for i in canvas.scene.items() if type(i) is QtWidgets.QGraphicsPathItem]
    show(canvas, "hero")
    hero = canvas.item("hero")
    before = hero.pos()
    grab = hero.mapToScene(QtCore.QPointF(60, hero.body_rect().bottom() - 6))
    drag(canvas, grab, grab + QtCore.QPointF(30, 30))
    assert hero.pos() == before + QtCore.QPointF(30, 30)


def test_a_click_on_a_port_changes_no_wire(canvas: TreeCanvas) -> None:
    show(canvas, "article")
    port = canvas.item("article").in_port_scene()
    send(canvas, QtCore.QEvent.Type.MouseButtonPress, port)
    send(
        canvas,
        QtCore.QEvent.Type.MouseButtonRelease,
        port + QtCore.QPointF(-4, 0),
        buttons=NONE,
    )
    assert canvas.document.parent_id("article") == "topics"
    assert not canvas.document.can_undo


def test_an_emptied_title_shows_the_id_and_the_file_still_opens(
    canvas: TreeCanvas, tmp_path: Path
) -> None:
    editor = canvas.edit_title("article")
    editor.setPlainText("   ")
    editor.finish(True)
    assert canvas.document.node("article").title == ""
    assert canvas.item("article").title == "article"
    saved = canvas.document.save(tmp_path / "t.genarun.json")
    assert TreeDocument.open(saved).node("article").title == ""


def test_an_undo_while_a_title_is_edited_drops_the_edit(canvas: TreeCanvas) -> None:
    canvas.document.set_fields("site", title="Renamed")
    editor = canvas.edit_title("article")
    editor.setPlainText("Typed meanwhile")
    canvas.document.undo()
    assert canvas._title_editor is None
    assert editor.scene() is None
    assert canvas.document.node("article").title == "Article"
    assert canvas.document.can_redo  # the undo was not overwritten by the editor's text


def test_deleting_many_selected_nodes_says_the_selection_once(
    canvas: TreeCanvas, qtbot: Any
) -> None:
    said: list[list[str]] = []
    canvas.select(["article", "hero", "topics"])
    canvas.selectionChanged.connect(said.append)
    canvas.delete_selected()
    QtWidgets.QApplication.processEvents()
    assert said == [[]]
    assert [n.id for n in canvas.document.tree.walk()] == ["site"]


def test_only_a_plain_left_double_click_adds_and_a_drop_at_the_origin_stays_there(
    canvas: TreeCanvas,
) -> None:
    added: list[QtCore.QPointF] = []
    canvas.addRequested.connect(added.append)
    show(canvas, "site")
    empty = canvas.item("site").mapToScene(QtCore.QPointF(-200, -200))
    right = QtCore.Qt.MouseButton.RightButton
    send(canvas, QtCore.QEvent.Type.MouseButtonDblClick, empty, button=right, buttons=right)
    alt = QtCore.Qt.KeyboardModifier.AltModifier
    send(canvas, QtCore.QEvent.Type.MouseButtonDblClick, empty, modifiers=alt)
    assert added == []
    canvas.scene.clearSelection()
    new_id = canvas.add_node("template", QtCore.QPointF(0, 0))
    assert new_id is not None
    assert canvas.document.node(new_id).ui["pos"] == [0.0, 0.0]


def test_a_node_type_that_does_not_exist_is_refused_not_raised(canvas: TreeCanvas) -> None:
    refused: list[str] = []
    canvas.refused.connect(refused.append)
    mime = QtCore.QMimeData()
    mime.setData(NODE_MIME, QtCore.QByteArray(b"no-such-type"))
    canvas.drop(mime, QtCore.QPointF(10, 10))
    assert len(refused) == 1
    assert "no-such-type" in refused[0]


def test_the_rubber_band_selects_nodes_not_wires(canvas: TreeCanvas) -> None:
    show(canvas, "site", "topics")
    site, topics = canvas.item("site"), canvas.item("topics")
    wire = topics.wire_in
    assert wire is not None
    start = site.sceneBoundingRect().topLeft() + QtCore.QPointF(-30, -30)
    end = topics.sceneBoundingRect().bottomRight() + QtCore.QPointF(30, 30)
    drag(canvas, start, end)
    assert sorted(canvas.selected_ids()) == ["site", "topics"]
    assert not wire.isSelected()


def test_escape_drops_a_wire_being_dragged(canvas: TreeCanvas, qtbot: Any) -> None:
    canvas.document.set_parent("hero", None)
    show(canvas, "site", "hero")
    site, hero = canvas.item("site"), canvas.item("hero")
    send(canvas, QtCore.QEvent.Type.MouseButtonPress, site.out_port_scene())
    send(canvas, QtCore.QEvent.Type.MouseMove, hero.in_port_scene(), button=NONE)
    assert canvas._dragging is not None
    qtbot.keyClick(canvas.view, QtCore.Qt.Key.Key_Escape)
    send(canvas, QtCore.QEvent.Type.MouseButtonRelease, hero.in_port_scene(), buttons=NONE)
    assert canvas.document.parent_id("hero") is None
    assert canvas._dragging is None


def test_a_wire_dropped_on_the_background_asks_for_a_child_there(canvas: TreeCanvas) -> None:
    asked: list[QtCore.QPointF] = []
    canvas.addRequested.connect(asked.append)
    show(canvas, "hero")
    hero = canvas.item("hero")
    end = hero.out_port_scene() + QtCore.QPointF(150, 60)
    drag(canvas, hero.out_port_scene(), end)
    assert len(asked) == 1
    assert (asked[0] - end).manhattanLength() < 2
    assert canvas.selected_ids() == ["hero"]  # what the quick-add puts the new node under
    new_id = canvas.add_node("template", asked[0])
    assert new_id is not None
    assert canvas.parent_of(new_id) == "hero"


def test_space_and_drag_pans(canvas: TreeCanvas, qtbot: Any) -> None:
    show(canvas, "site")
    canvas.view.setFocus()
    bar = canvas.view.horizontalScrollBar()
    before = bar.value()
    QtWidgets.QApplication.sendEvent(
        canvas.view,
        QtGui.QKeyEvent(
            QtCore.QEvent.Type.KeyPress, QtCore.Qt.Key.Key_Space, QtCore.Qt.KeyboardModifier(0)
        ),
    )
    site = canvas.item("site")
    where = site.pos()
    grab = site.mapToScene(site.body_rect().center())  # even on a node: the view pans
    start = QtCore.QPointF(canvas.view.mapFromScene(grab))
    viewport = canvas.view.viewport()
    for kind, x, button, buttons in (
        (QtCore.QEvent.Type.MouseButtonPress, 0, LEFT, LEFT),
        (QtCore.QEvent.Type.MouseMove, -100, NONE, LEFT),
        (QtCore.QEvent.Type.MouseButtonRelease, -100, LEFT, NONE),
    ):
        local = start + QtCore.QPointF(x, 0)
        QtWidgets.QApplication.sendEvent(
            viewport,
            QtGui.QMouseEvent(
                kind,
                local,
                QtCore.QPointF(viewport.mapToGlobal(local)),
                button,
                buttons,
                QtCore.Qt.KeyboardModifier.NoModifier,
            ),
        )
    assert bar.value() == before + 100
    assert site.pos() == where  # the node did not move
    assert "pos" not in canvas.document.node("site").ui


def test_a_chosen_colour_is_kept_in_the_tree_and_drawn(canvas: TreeCanvas, tmp_path: Path) -> None:
    from genarun_studio.qt.canvas import NODE_COLOURS

    lane = QtGui.QColor(canvas.item("hero").color)
    canvas.set_colour(["hero", "site"], NODE_COLOURS["Green"])
    assert canvas.item("hero").color == QtGui.QColor(NODE_COLOURS["Green"])
    assert canvas.document.node("site").ui["color"] == NODE_COLOURS["Green"]
    saved = canvas.document.save(tmp_path / "c.genarun.json")
    reopened = TreeCanvas(TreeDocument.open(saved, canvas.registry), canvas.registry)
    assert reopened.item("site").color == QtGui.QColor(NODE_COLOURS["Green"])
    reopened.close()
    canvas.set_colour(["hero"], None)
    assert canvas.item("hero").color == lane
    canvas.document.set_ui("article", color="not a colour")  # a hand-edited file
    assert canvas.item("article").color == QtGui.QColor(38, 76, 120)  # its lane's


def test_the_node_menu_offers_colours(canvas: TreeCanvas) -> None:
    canvas.node_actions = [None]
    show(canvas, "site")
    item = canvas.item("site")
    at = canvas.view.mapFromScene(item.mapToScene(item.body_rect().center()))
    event = QtGui.QContextMenuEvent(
        QtGui.QContextMenuEvent.Reason.Mouse, at, canvas.view.viewport().mapToGlobal(at)
    )
    QtWidgets.QApplication.sendEvent(canvas.view.viewport(), event)
    [menu] = [m for m in canvas.view.findChildren(QtWidgets.QMenu) if m.isVisible()]
    [colours] = [a.menu() for a in menu.actions() if a.text() == "Colour"]
    assert colours is not None
    purple = next(a for a in colours.actions() if a.text() == "Purple")
    purple.trigger()
    assert canvas.document.node("site").ui["color"] == "#5d3f86"
    menu.close()
