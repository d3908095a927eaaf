"""The editor's side panels: node palette, quick-add popup, run log, inspector, problems.

The log pane and the inspector are fed by real mock runs of the lizard-blog example.
Set ``GENARUN_SCREENSHOTS=<dir>`` to keep the panels' screenshots there.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget

from genarun_studio.core.formats import load_tree
from genarun_studio.core.nodetype import NodeContext, NodeType, Plan
from genarun_studio.core.registry import Registry, default_registry
from genarun_studio.core.validate import Problem, check_tree
from genarun_studio.engine import Engine, Run, RunOptions
from genarun_studio.engine import events as ev
from genarun_studio.engine.instance import NodeInstance
from genarun_studio.qt.panels.inspector import THUMBNAIL_PX, InstanceInspector, image_asset
from genarun_studio.qt.panels.logpane import LogPane
from genarun_studio.qt.panels.palette import NODE_TYPE_MIME, NodePalette, QuickAddPopup
from genarun_studio.qt.panels.problems import ProblemsList
from genarun_studio.resources import resource_path
from genarun_studio.store import Project

LIZARD = resource_path("examples", "lizard-blog.genarun.json")
BUILTIN = {"text", "text-array", "object", "image", "template", "api", "collect"}


def run_tree(tree_file: Path, project_dir: Path, *subscribers: Callable[[Any], None]) -> Run:
    """Run a tree on the mock provider to its end, with ``subscribers`` on its events."""
    project = Project(project_dir)
    tree = load_tree(tree_file)

    async def main() -> Run:
        run = Engine(project=project).start(tree, {}, RunOptions(mock=True, seed=1))
        for subscriber in subscribers:
            run.subscribe(subscriber)
        await run.wait()
        return run

    try:
        return asyncio.run(main())
    finally:
        project.close()


def instances_of(run: Run, node_id: str) -> list[NodeInstance]:
    return [i for i in run.instances.values() if i.node_id == node_id]


def double_click(qtbot: Any, view: QAbstractItemView, pos: QPoint) -> None:
    """What a real double-click delivers: press, release, then the double-click event.

    Qt 6's ``QTest.mouseDClick`` sends only the last, which item views take as a press.
    """
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def screenshot(widget: QWidget, name: str, fallback: Path) -> Path:
    folder = Path(os.environ.get("GENARUN_SCREENSHOTS") or fallback)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    QApplication.processEvents()  # let pending relayouts (scroll areas) settle
    image = widget.grab()
    assert not image.isNull()
    assert image.save(str(path))
    return path


@pytest.fixture
def failing_tree(tmp_path: Path) -> Path:
    """The lizard blog with ``hero`` requiring an input nobody gives: every hero fails."""
    data = json.loads(LIZARD.read_text())
    hero = data["nodes"][0]["children"][0]["children"][1]
    assert hero["id"] == "hero"
    hero["required_inputs"] = ["photographer"]
    path = tmp_path / "failing.genarun.json"
    path.write_text(json.dumps(data))
    return path


# -- palette ---------------------------------------------------------------------------


class _StampNode(NodeType[BaseModel]):
    type_id: ClassVar[str] = "stamp"
    title: ClassVar[str] = "Rubber stamp"
    category: ClassVar[str] = "Plugins"
    description: ClassVar[str] = "A third-party node for tests."
    Config = BaseModel

    def plan(self, ctx: NodeContext, config: BaseModel) -> Plan:
        return {}

    async def run(self, ctx: NodeContext, config: BaseModel, plan: Plan) -> Any:
        return "stamped"


def test_palette_lists_builtin_types_under_their_categories(qtbot: Any) -> None:
    registry = default_registry()
    palette = NodePalette(registry)
    qtbot.addWidget(palette)

    categories = palette.categories()
    listed = {t for ids in categories.values() for t in ids}
    assert listed >= BUILTIN
    for type_id in BUILTIN:
        assert type_id in categories[registry.get(type_id).category]
    assert "image" in categories["Generate"]
    assert categories["Data"] == ["api", "collect", "template"]
    item = palette.item_for("image")
    assert item is not None
    assert item.text(0) == "Image"
    assert "Generate an image" in item.toolTip(0)


def test_palette_filter_and_double_click(qtbot: Any) -> None:
    palette = NodePalette(default_registry())
    qtbot.addWidget(palette)
    palette.resize(260, 400)
    palette.show()
    qtbot.waitExposed(palette)

    qtbot.keyClicks(palette.search, "ima")
    # the retrieval nodes mention images in their descriptions
    assert set(palette.visible_type_ids()) <= {"image", "rag-index", "rag-query"}
    assert "image" in palette.visible_type_ids()
    assert palette.item_for("text").isHidden()
    assert not palette.item_for("image").isHidden()

    tree = palette.tree
    rect = tree.visualItemRect(palette.item_for("image"))
    with qtbot.waitSignal(palette.nodeRequested, timeout=1000) as blocker:
        double_click(qtbot, tree, rect.center())
    assert blocker.args == ["image"]

    palette.search.clear()
    assert set(palette.visible_type_ids()) >= BUILTIN
    qtbot.keyClicks(palette.search, "no such node")
    assert palette.visible_type_ids() == []
    assert palette.empty.isVisible()


def test_palette_enter_and_drag_give_the_type_id(qtbot: Any) -> None:
    palette = NodePalette(default_registry())
    qtbot.addWidget(palette)
    qtbot.keyClicks(palette.search, "template")
    with qtbot.waitSignal(palette.nodeRequested, timeout=1000) as blocker:
        qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert blocker.args == ["template"]

    mime = palette.tree.mimeData([palette.item_for("image")])
    assert bytes(mime.data(NODE_TYPE_MIME)).decode() == "image"
    assert NODE_TYPE_MIME in palette.tree.mimeTypes()


def test_palette_shows_plugins_and_broken_plugins(qtbot: Any) -> None:
    registry = Registry()
    registry.register(_StampNode)
    registry.broken["melted"] = "ImportError: no module named 'wax'"
    palette = NodePalette(registry)
    qtbot.addWidget(palette)
    assert palette.categories() == {"Plugins": ["stamp"]}
    texts = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())]
    assert "Unavailable plugins" in texts
    qtbot.keyClicks(palette.search, "stamp")
    assert palette.visible_type_ids() == ["stamp"]


# -- quick add -------------------------------------------------------------------------


def test_quick_add_enter_picks_the_first_match(qtbot: Any) -> None:
    popup = QuickAddPopup(default_registry())
    qtbot.addWidget(popup)
    popup.open_at(QPoint(40, 40))
    qtbot.waitExposed(popup)
    qtbot.keyClicks(popup.search, "text")
    assert popup.matches()[:2] == ["text", "text-array"]
    with qtbot.waitSignal(popup.chosen, timeout=1000) as blocker:
        qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert blocker.args == ["text"]
    assert not popup.isVisible()


def test_quick_add_arrow_keys_move_the_choice(qtbot: Any) -> None:
    popup = QuickAddPopup(default_registry())
    qtbot.addWidget(popup)
    popup.open_at(QPoint(40, 40))
    qtbot.keyClicks(popup.search, "text")
    qtbot.keyClick(popup.search, Qt.Key.Key_Down)
    with qtbot.waitSignal(popup.chosen, timeout=1000) as blocker:
        qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert blocker.args == ["text-array"]


def test_quick_add_escape_cancels(qtbot: Any) -> None:
    popup = QuickAddPopup(default_registry())
    qtbot.addWidget(popup)
    popup.open_at(QPoint(40, 40))
    qtbot.keyClicks(popup.search, "ima")
    with qtbot.waitSignal(popup.chosen, timeout=1000) as blocker:
        qtbot.keyClick(popup.search, Qt.Key.Key_Escape)
    assert blocker.args == [None]
    assert popup.picked is None


@pytest.mark.parametrize(("keys", "expected"), [("ima", "image"), ("", None)])
def test_quick_add_ask_blocks_until_picked_or_cancelled(
    qtbot: Any, keys: str, expected: str | None
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)

    def answer() -> None:
        popup = parent.findChild(QuickAddPopup)
        assert popup is not None
        try:
            assert popup.isVisible()
            if keys:
                qtbot.keyClicks(popup.search, keys)
                qtbot.keyClick(popup.search, Qt.Key.Key_Return)
            else:
                qtbot.keyClick(popup.search, Qt.Key.Key_Escape)
        finally:
            if popup.isVisible():  # never leave the test blocked in exec()
                popup.done(99)

    QTimer.singleShot(50, answer)
    assert QuickAddPopup.ask(parent, default_registry(), QPoint(10, 10)) == expected


# -- log pane --------------------------------------------------------------------------


def test_log_pane_follows_a_real_run_and_filters_by_level(qtbot: Any, tmp_path: Path) -> None:
    pane = LogPane()
    qtbot.addWidget(pane)
    run = run_tree(LIZARD, tmp_path, pane.on_event)
    pane.log("warning", "the tree was changed while it ran")

    pane.set_level_filter("debug")
    lines = pane.visible_lines()
    assert lines[0].level == "info"
    assert "started" in lines[0].message
    assert any("run finished" in line.message for line in lines)
    assert {line.key for line in lines if line.level == "debug"} >= set(run.instances)
    assert set(pane.node_ids()) == {"site", "topics", "article", "hero"}

    pane.set_level_filter("info")
    assert {line.level for line in pane.visible_lines()} == {"info", "warning"}

    pane.set_level_filter("warning")
    visible = pane.visible_lines()
    assert [line.message for line in visible] == ["the tree was changed while it ran"]
    assert len(pane.lines()) > len(visible)
    assert pane.count_label.text() == f"1 of {len(pane.lines())}"


def test_log_pane_shows_failures_as_errors_per_node(
    qtbot: Any, tmp_path: Path, failing_tree: Path
) -> None:
    pane = LogPane()
    qtbot.addWidget(pane)
    run = run_tree(failing_tree, tmp_path / "project", pane.on_event)
    heroes = instances_of(run, "hero")
    assert heroes
    assert all(i.state == "failed" for i in heroes)

    pane.set_level_filter("error")
    errors = pane.visible_lines()
    assert [line.key for line in errors] == [i.key for i in heroes]
    assert all("photographer" in line.message for line in errors)

    pane.set_level_filter("debug")
    pane.set_node_filter("article")
    assert pane.visible_lines()
    assert {line.node_id for line in pane.visible_lines()} == {"article"}

    pane.set_node_filter(None)
    pane.set_text_filter("PHOTOGRAPHER")
    assert len(pane.visible_lines()) == len(heroes)

    pane.clear()
    assert pane.lines() == []
    assert pane.visible_lines() == []


def test_log_pane_caps_lines_and_keeps_the_newest(qtbot: Any) -> None:
    pane = LogPane(max_lines=100)
    qtbot.addWidget(pane)
    for n in range(250):
        pane.on_event(ev.LogEvent(run_id="r", level="info", message=f"line {n}"))
    lines = pane.lines()
    assert 0 < len(lines) <= 100
    assert lines[-1].message == "line 249"


def test_log_pane_autoscrolls_unless_scrolled_up(qtbot: Any) -> None:
    pane = LogPane()
    qtbot.addWidget(pane)
    pane.resize(600, 200)
    pane.show()
    qtbot.waitExposed(pane)
    bar = pane.view.verticalScrollBar()

    def add(count: int) -> None:
        for n in range(count):
            pane.on_event(ev.LogEvent(run_id="r", level="info", message=f"line {n}"))
        qtbot.wait(20)

    add(200)
    assert bar.maximum() > 0
    assert bar.value() == bar.maximum()

    bar.setValue(0)
    assert not pane.following
    add(20)
    assert bar.value() == 0

    bar.setValue(bar.maximum())
    assert pane.following
    add(20)
    assert bar.value() == bar.maximum()


# -- inspector -------------------------------------------------------------------------


def test_inspector_lists_hero_instances_with_a_thumbnail(qtbot: Any, tmp_path: Path) -> None:
    run = run_tree(LIZARD, tmp_path)
    topics = run.instances["site/topics"].output
    inspector = InstanceInspector()
    qtbot.addWidget(inspector)
    inspector.resize(420, 760)
    inspector.show_node("hero", instances_of(run, "hero"), run.folder.path)

    assert len(inspector.keys()) == len(topics)
    assert inspector.keys() == [f"site/topics[{n}]/hero" for n in range(len(topics))]
    assert inspector.current_key == "site/topics[0]/hero"
    assert inspector.heading.text() == f"hero — {len(topics)} instances"
    [thumbnail] = inspector.thumbnails
    pixmap = thumbnail.pixmap()
    assert not pixmap.isNull()
    assert max(pixmap.width(), pixmap.height()) == THUMBNAIL_PX
    assert any(topics[0] in text for text in inspector.section_texts("Prompt"))
    assert any("→" in text for text in inspector.section_texts("Picks"))

    inspector.select_instance("site/topics[1]/hero")
    assert any(topics[1] in text for text in inspector.section_texts("Prompt"))
    assert len(inspector.thumbnails) == 1

    inspector.show()
    qtbot.waitExposed(inspector)
    screenshot(inspector, "inspector.png", tmp_path)


def test_inspector_shows_both_prompt_turns_of_an_article(qtbot: Any, tmp_path: Path) -> None:
    run = run_tree(LIZARD, tmp_path)
    inspector = InstanceInspector()
    qtbot.addWidget(inspector)
    inspector.resize(420, 900)
    articles = instances_of(run, "article")
    inspector.show_node("article", articles, run.folder.path)

    texts = inspector.section_texts("Prompt")
    turns = articles[0].plan["turns"]
    assert len(turns) == 2
    assert turns[0]["user"] in texts
    assert turns[1]["user"] in texts
    assert turns[0]["system"] in texts
    assert any("Turn 2 · user" in text for text in texts)
    answers = inspector.section_texts("Answers")
    assert all(call["answer"] in answers for call in articles[0].calls)
    assert articles[0].output in inspector.section_texts("Output")
    assert inspector.thumbnails == []
    assert any("in ·" in t and "out" in t for t in inspector.section_texts("Summary"))

    inspector.show()
    qtbot.waitExposed(inspector)
    screenshot(inspector, "inspector-article.png", tmp_path)


def test_inspector_shows_json_output_as_a_tree(qtbot: Any, tmp_path: Path) -> None:
    run = run_tree(LIZARD, tmp_path)
    inspector = InstanceInspector()
    qtbot.addWidget(inspector)
    inspector.show_node("site", instances_of(run, "site"), run.folder.path)
    tree = inspector.output_tree
    assert tree is not None
    keys = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert keys == ["title", "tagline", "tone"]
    assert tree.topLevelItem(0).text(1) == run.instances["site"].output["title"]


def test_inspector_updates_live_during_a_run(qtbot: Any, tmp_path: Path) -> None:
    inspector = InstanceInspector()
    qtbot.addWidget(inspector)
    first_row_states: list[str] = []
    project = Project(tmp_path)

    async def main() -> Run:
        run = Engine(project=project).start(load_tree(LIZARD), {}, RunOptions(mock=True, seed=1))
        inspector.show_node("article", [], run.folder.path)
        assert inspector.heading.text() == "article — not run yet"

        def on_event(event: ev.Event) -> None:
            if isinstance(event, ev.InstanceEvent) and inspector.update_instance(
                run.instances[event.key]
            ):
                first_row_states.append(inspector.instance_list.topLevelItem(0).text(1))

        run.subscribe(on_event)
        await run.wait()
        return run

    try:
        run = asyncio.run(main())
    finally:
        project.close()
    articles = instances_of(run, "article")
    assert inspector.keys() == [i.key for i in articles]
    assert first_row_states[0] == "queued"
    assert "running" in first_row_states
    assert first_row_states[-1] == "done"
    assert inspector.current_key == articles[0].key
    assert inspector.section_texts("Output") == [articles[0].output]


def test_inspector_shows_a_failure_in_red(qtbot: Any, tmp_path: Path, failing_tree: Path) -> None:
    run = run_tree(failing_tree, tmp_path / "project")
    inspector = InstanceInspector()
    qtbot.addWidget(inspector)
    inspector.show_node("hero", instances_of(run, "hero"), run.folder.path)
    [error] = inspector.section_texts("Error")
    assert "photographer" in error
    assert inspector.section("Output") is None
    assert inspector.thumbnails == []
    item = inspector.instance_list.topLevelItem(0)
    assert item.text(1) == "failed"


def test_inspector_opens_no_file_outside_the_run_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "assets").mkdir(parents=True)
    (run_dir / "assets" / "a.png").write_bytes(b"png")
    (tmp_path / "secret.png").write_bytes(b"png")
    assert image_asset("assets/a.png", run_dir) == (run_dir / "assets" / "a.png").resolve()
    assert image_asset("../secret.png", run_dir) is None
    assert image_asset(str(tmp_path / "secret.png"), run_dir) is None
    assert image_asset("assets/missing.png", run_dir) is None
    assert image_asset("assets/a.png", None) is None


def test_inspector_clear_shows_nothing(qtbot: Any) -> None:
    inspector = InstanceInspector()
    qtbot.addWidget(inspector)
    inspector.clear()
    assert inspector.keys() == []
    assert inspector.node_id is None
    assert inspector.heading.text() == "No node selected"


# -- problems --------------------------------------------------------------------------


def test_problems_list_counts_and_activates_nodes(qtbot: Any, tmp_path: Path) -> None:
    problems = ProblemsList()
    qtbot.addWidget(problems)
    problems.resize(640, 200)
    problems.show()
    qtbot.waitExposed(problems)
    problems.set_problems(
        [
            Problem("error", "nodes[0].children[0].id", "node id 'hero' is already used", "hero"),
            Problem("warning", "nodes[0].config.prompt", "unknown variable ${specis}", "site"),
            Problem("error", "inputs.articles", "default is not an integer"),
        ]
    )
    assert problems.summary_text() == "2 errors, 1 warning"
    assert problems.tree.topLevelItemCount() == 3

    tree = problems.tree
    rect = tree.visualItemRect(tree.topLevelItem(1))
    with qtbot.waitSignal(problems.nodeActivated, timeout=1000) as blocker:
        double_click(qtbot, tree, rect.center())
    assert blocker.args == ["site"]

    rect = tree.visualItemRect(tree.topLevelItem(2))
    with qtbot.assertNotEmitted(problems.nodeActivated):
        double_click(qtbot, tree, rect.center())
    screenshot(problems, "problems.png", tmp_path)

    problems.set_problems([])
    assert problems.summary_text() == "No problems"


def test_problems_list_shows_a_real_validation_warning(qtbot: Any, tmp_path: Path) -> None:
    data = json.loads(LIZARD.read_text())
    data["nodes"][0]["children"][0]["config"]["prompt"] += " Mention ${habitat}."
    path = tmp_path / "t.genarun.json"
    path.write_text(json.dumps(data))
    found = check_tree(load_tree(path), default_registry())
    problems = ProblemsList()
    qtbot.addWidget(problems)
    problems.set_problems(found)
    assert problems.summary_text() == "1 warning"
    assert problems.tree.topLevelItem(0).text(2) == "topics"


def test_log_pane_screenshot(qtbot: Any, tmp_path: Path, failing_tree: Path) -> None:
    pane = LogPane()
    qtbot.addWidget(pane)
    pane.resize(900, 320)
    run_tree(failing_tree, tmp_path / "project", pane.on_event)
    pane.set_level_filter("debug")
    pane.show()
    qtbot.waitExposed(pane)
    qtbot.wait(20)
    screenshot(pane, "logpane.png", tmp_path)
    palette = NodePalette(default_registry())
    qtbot.addWidget(palette)
    palette.resize(240, 320)
    palette.show()
    qtbot.waitExposed(palette)
    screenshot(palette, "palette.png", tmp_path)
    QApplication.processEvents()
