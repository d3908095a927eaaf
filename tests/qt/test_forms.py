"""The generated property forms (NodeForm, TreeForm) and the template highlighter."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
)

from genarun_studio.core import template as tpl
from genarun_studio.core.document import Change, TreeDocument
from genarun_studio.core.tree import Node, Tree
from genarun_studio.core.validate import Problem, node_paths
from genarun_studio.errors import TemplateError
from genarun_studio.qt.forms import NodeForm, TreeForm
from genarun_studio.qt.forms.highlight import TemplateHighlighter, template_spans

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


@pytest.fixture
def doc() -> TreeDocument:
    return TreeDocument.open(EXAMPLES / "lizard-blog.genarun.json")


def make_form(qtbot, doc: TreeDocument, node_id: str, **kwargs) -> NodeForm:  # type: ignore[no-untyped-def]
    form = NodeForm(doc, node_id, sorted(doc.tree.models), **kwargs)
    qtbot.addWidget(form)
    form.resize(480, 900)
    form.show()
    return form


def config_changes(doc: TreeDocument) -> list[Change]:
    changes: list[Change] = []
    doc.subscribe(lambda c: changes.append(c) if c.fields == ("config",) else None)
    return changes


# -- NodeForm ----------------------------------------------------------------------------------


def test_form_is_generated_from_the_config_schema(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "article")
    prompt = form.editor("config.prompt")
    assert prompt is not None
    assert prompt.count() == 2  # type: ignore[attr-defined]
    first = form.field_widget("config.prompt[0].template")
    second = form.field_widget("config.prompt[1].template")
    system = form.field_widget("config.prompt[0].system")
    assert isinstance(first, QPlainTextEdit)
    assert isinstance(second, QPlainTextEdit)
    assert first.toPlainText().startswith('Outline an article titled "${topics}"')
    assert second.toPlainText().startswith("Now write the article")
    assert isinstance(system, QPlainTextEdit)
    assert "${site.title}" in system.toPlainText()
    assert first.font().fixedPitch() or first.font().styleHint() == first.font().StyleHint.Monospace
    assert isinstance(form.field_widget("config.prompt[0].parse_json"), QCheckBox)
    profile = form.field_widget("config.profile")
    assert isinstance(profile, QComboBox)
    assert profile.isEditable()
    assert [profile.itemText(i) for i in range(profile.count())] == ["image", "text"]
    assert isinstance(form.field_widget("config.params"), QPlainTextEdit)  # JSON
    assert isinstance(form.field_widget("config.validation.min_items"), QSpinBox)
    assert isinstance(form.field_widget("config.validation.required"), QLineEdit)
    on_error = form.field_widget("on_error")
    assert isinstance(on_error, QComboBox)
    assert [on_error.itemText(i) for i in range(on_error.count())] == [
        "inherit",
        "continue",
        "stop",
    ]
    assert isinstance(form.field_widget("enabled"), QCheckBox)
    # Loading sends nothing back.
    assert not doc.can_undo


def test_typing_in_a_turn_applies_after_the_debounce_and_undoes(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "article")
    changes = config_changes(doc)
    edit = form.field_widget("config.prompt[0].template")
    assert isinstance(edit, QPlainTextEdit)
    before = edit.toPlainText()
    edit.setFocus()
    edit.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(edit, " Be brief.")

    def applied() -> None:
        assert doc.node("article").config["prompt"][0]["template"] == before + " Be brief."

    qtbot.waitUntil(applied, timeout=3000)
    assert len(changes) == 1  # one edit for ten keystrokes, not one per key
    config = doc.node("article").config
    assert config["prompt"][0]["system"] == "You write for ${site.title}, in a ${site.tone} voice."
    assert config["prompt"][1] == {
        "template": "Now write the article from that outline, about 300 words, as Markdown."
    }

    assert doc.undo() == "edit article"
    assert doc.node("article").config["prompt"][0]["template"] == before
    assert edit.toPlainText() == before
    assert not doc.can_undo  # the reload sent no edit back


def test_adding_and_removing_a_turn(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "article")
    prompt = form.editor("config.prompt")
    prompt.add_button.click()  # type: ignore[union-attr]
    assert prompt.count() == 3  # type: ignore[union-attr]
    turns = doc.node("article").config["prompt"]
    assert len(turns) == 3
    assert turns[2] == {"template": ""}
    qtbot.keyClicks(form.field_widget("config.prompt[2].template"), "And a title.")
    form.flush()
    assert doc.node("article").config["prompt"][2] == {"template": "And a title."}
    prompt.remove_button(0).click()  # type: ignore[union-attr]
    turns = doc.node("article").config["prompt"]
    assert [t["template"] for t in turns] == [
        "Now write the article from that outline, about 300 words, as Markdown.",
        "And a title.",
    ]
    assert form.editor("config.prompt[1].template") is not None


def test_the_last_turn_cannot_be_removed(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "topics")
    prompt = form.editor("config.prompt")
    assert prompt.count() == 1  # type: ignore[union-attr]
    assert not prompt.remove_button(0).isEnabled()  # type: ignore[union-attr]


def test_toggles_apply_at_once_and_undo_reloads(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "article")
    enabled = form.field_widget("enabled")
    assert isinstance(enabled, QCheckBox)
    qtbot.mouseClick(enabled, Qt.MouseButton.LeftButton)
    assert doc.node("article").enabled is False
    doc.undo()
    assert doc.node("article").enabled is True
    assert enabled.isChecked()
    on_error = form.field_widget("on_error")
    assert isinstance(on_error, QComboBox)
    on_error.setCurrentIndex(on_error.findText("stop"))
    assert doc.node("article").on_error == "stop"
    on_error.setCurrentIndex(on_error.findText("inherit"))
    assert doc.node("article").on_error is None


def test_node_text_fields(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "article")
    title = form.field_widget("title")
    assert isinstance(title, QLineEdit)
    title.selectAll()
    qtbot.keyClicks(title, "Blog post")
    qtbot.keyClick(title, Qt.Key.Key_Return)
    assert doc.node("article").title == "Blog post"
    assert form.heading.text() == "Blog post"
    key = form.field_widget("output_key")
    assert isinstance(key, QLineEdit)
    assert key.placeholderText() == "article"
    qtbot.keyClicks(key, "not valid!")
    qtbot.keyClick(key, Qt.Key.Key_Return)
    assert doc.node("article").output_key is None
    assert form.editor("output_key").messages()  # type: ignore[union-attr]
    key.clear()
    qtbot.keyClicks(key, "post")
    qtbot.keyClick(key, Qt.Key.Key_Return)
    assert doc.node("article").output_key == "post"
    assert form.editor("output_key").messages() == []  # type: ignore[union-attr]
    required = form.field_widget("required_inputs")
    assert isinstance(required, QLineEdit)
    qtbot.keyClicks(required, "species,  articles ,")
    qtbot.keyClick(required, Qt.Key.Key_Return)
    assert doc.node("article").required_inputs == ["species", "articles"]


def test_invalid_json_is_not_applied_and_shows_an_error(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "article")
    params = form.field_widget("config.params")
    assert isinstance(params, QPlainTextEdit)
    editor = form.editor("config.params")
    qtbot.keyClicks(params, '{"temperature": 0.2')
    form.flush()
    assert "params" not in doc.node("article").config
    assert any("Not valid JSON" in m for m in editor.messages())  # type: ignore[union-attr]
    assert not doc.can_undo
    qtbot.keyClicks(params, "}")
    form.flush()
    assert doc.node("article").config["params"] == {"temperature": 0.2}
    assert editor.messages() == []  # type: ignore[union-attr]


def test_an_invalid_id_shows_an_error_and_is_not_applied(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "article")
    line = form.field_widget("id")
    assert isinstance(line, QLineEdit)
    id_editor = form.editor("id")
    line.selectAll()
    qtbot.keyClicks(line, "2 bad")
    assert id_editor.messages()  # type: ignore[union-attr]  # shown while typing
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert doc.node("article").id == "article"
    assert form.node_id == "article"
    assert id_editor.messages()  # type: ignore[union-attr]

    line.selectAll()
    qtbot.keyClicks(line, "topics")  # valid, but taken: the document refuses it
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert doc.node("article").id == "article"
    assert any("already used" in m for m in id_editor.messages())  # type: ignore[union-attr]

    line.selectAll()
    with qtbot.waitSignal(form.renamed) as renamed:
        qtbot.keyClicks(line, "story")
        qtbot.keyClick(line, Qt.Key.Key_Return)
    assert renamed.args == ["article", "story"]
    assert doc.node("story").type == "text"
    assert form.node_id == "story"
    assert id_editor.messages() == []  # type: ignore[union-attr]
    doc.undo()
    assert form.node_id == "article"
    assert line.text() == "article"


def test_min_max_items_spin_boxes(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "topics")
    low = form.field_widget("config.validation.min_items")
    high = form.field_widget("config.validation.max_items")
    assert isinstance(low, QSpinBox)
    assert isinstance(high, QSpinBox)
    assert (low.value(), high.value()) == (3, 6)
    high.setValue(5)
    config = doc.node("topics").config
    assert config["validation"] == {"min_items": 3, "max_items": 5}
    assert isinstance(config["prompt"], str)  # the file's short form is kept
    assert high.specialValueText() == "—"
    high.setValue(high.minimum())  # unset
    assert doc.node("topics").config["validation"] == {"min_items": 3}
    low.setValue(low.minimum())
    assert "validation" not in doc.node("topics").config  # empty groups are left out


def test_a_template_node_value_edits_as_json(qtbot) -> None:
    doc = TreeDocument.open(EXAMPLES / "city-guide.genarun.json")
    form = make_form(qtbot, doc, "pages")
    value = form.field_widget("config.value")
    assert isinstance(value, QPlainTextEdit)
    assert value.toPlainText() == '"${neighbourhoods}"'
    template = form.field_widget("config.template")
    assert isinstance(template, QPlainTextEdit)
    assert template.toPlainText() == ""
    value.setPlainText('["${neighbourhoods}", "Graça"]')
    form.flush()
    assert doc.node("pages").config == {"value": ["${neighbourhoods}", "Graça"]}
    # The profile combo lists the tree's own profiles.
    facts = make_form(qtbot, doc, "facts")
    profile = facts.field_widget("config.profile")
    assert isinstance(profile, QComboBox)
    assert profile.currentText() == "fast"
    schema = facts.field_widget("config.validation.schema")
    assert isinstance(schema, QPlainTextEdit)
    assert '"getting_there"' in schema.toPlainText()


def test_outside_changes_reload_without_feedback(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "hero")
    changes = config_changes(doc)
    doc.set_config("hero", {"prompt": "A ${species}", "size": "512x512", "quality": "high"})
    assert len(changes) == 1
    template = form.field_widget("config.prompt[0].template")
    assert isinstance(template, QPlainTextEdit)
    assert template.toPlainText() == "A ${species}"
    quality = form.field_widget("config.quality")
    assert isinstance(quality, QLineEdit)
    assert quality.text() == "high"
    size = form.field_widget("config.size")
    assert isinstance(size, QLineEdit)
    assert size.text() == "512x512"
    size.clear()  # empty: the default applies, shown as the placeholder
    qtbot.keyClick(size, Qt.Key.Key_Return)
    assert size.placeholderText() == "1024x1024"
    assert doc.node("hero").config == {"prompt": "A ${species}", "quality": "high"}
    doc.remove_node("hero")
    assert not form.page.isEnabled()
    doc.undo()
    assert form.page.isEnabled()


def test_problems_show_at_their_fields(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "article", auto_problems=False)
    prefix = node_paths(doc.tree)["article"]
    other = node_paths(doc.tree)["hero"]
    form.set_problems(
        [
            Problem("warning", f"{prefix}.config.prompt[1].template", "unknown x", "article"),
            Problem("error", f"{prefix}.config", "set exactly one", "article"),
            Problem("error", f"{other}.config.prompt[0].template", "not mine", "hero"),
        ]
    )
    assert form.editor("config.prompt[1].template").messages() == ["unknown x"]  # type: ignore[union-attr]
    assert form.editor("config").messages() == ["set exactly one"]  # type: ignore[union-attr]
    assert form.problem_list.count() == 2
    assert not form.problem_list.isHidden()
    form.set_problems([])
    assert form.problem_list.isHidden()
    assert form.editor("config.prompt[1].template").messages() == []  # type: ignore[union-attr]


def test_automatic_problems_and_known_variables(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "article")
    edit = form.field_widget("config.prompt[1].template")
    assert isinstance(edit, QPlainTextEdit)
    editor = form.editor("config.prompt[1].template")
    highlighter = editor.highlighter  # type: ignore[union-attr]
    assert {"species", "site", "topics"} <= set(highlighter.known())
    edit.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClicks(edit, " ${nope}")
    form.flush()

    def shown() -> None:
        assert any("unknown variable 'nope'" in m for m in editor.messages())  # type: ignore[union-attr]

    qtbot.waitUntil(shown, timeout=3000)
    assert form.problem_list.count() == 1


def test_an_unknown_node_type_edits_its_config_as_json(qtbot) -> None:
    doc = TreeDocument(Tree(nodes=[Node(id="m", type="mystery", config={"a": 1})]))
    form = make_form(qtbot, doc, "m")
    edit = form.field_widget("config")
    assert isinstance(edit, QPlainTextEdit)
    assert json.loads(edit.toPlainText()) == {"a": 1}
    assert any("unknown node type" in p.message for p in form.problems())
    edit.setPlainText('{"a": 2}')
    form.flush()
    assert doc.node("m").config == {"a": 2}


def test_hiding_the_form_applies_a_pending_edit(qtbot, doc: TreeDocument) -> None:
    form = make_form(qtbot, doc, "article")
    model = form.field_widget("config.model")
    assert isinstance(model, QLineEdit)
    qtbot.keyClicks(model, "gpt-4o")
    form.hide()
    assert doc.node("article").config["model"] == "gpt-4o"


def test_the_form_unsubscribes_when_deleted(qtbot, doc: TreeDocument) -> None:
    form = NodeForm(doc, "article", [])
    form.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    doc.set_config("article", {"prompt": "x"})  # would reach a deleted widget otherwise
    doc.undo()


def test_screenshot(qtbot, doc: TreeDocument, tmp_path: Path) -> None:
    form = make_form(qtbot, doc, "article")
    form.resize(460, 800)
    qtbot.wait(10)
    form.resize(460, form.page.sizeHint().height() + 8)
    qtbot.wait(10)
    target = Path(os.environ.get("GENARUN_SCREENSHOT_DIR", tmp_path)) / "form.png"
    image = form.grab()
    assert image.save(str(target))
    assert image.width() == 460


# -- TreeForm ------------------------------------------------------------------------------------


def test_tree_form(qtbot, doc: TreeDocument) -> None:
    form = TreeForm(doc)
    qtbot.addWidget(form)
    form.show()
    name = form.field_widget("name")
    assert isinstance(name, QLineEdit)
    assert name.text() == "Pet lizard care blog"
    name.selectAll()
    qtbot.keyClicks(name, "Gecko blog")
    qtbot.keyClick(name, Qt.Key.Key_Return)
    assert doc.tree.name == "Gecko blog"

    retries = form.field_widget("limits.retries")
    assert isinstance(retries, QSpinBox)
    retries.setValue(5)
    assert doc.tree.limits.retries == 5
    text_lane = form.editor("limits.concurrency").spin("text")  # type: ignore[union-attr]
    text_lane.setValue(8)
    assert doc.tree.limits.concurrency["text"] == 8
    budget = form.field_widget("limits.budget_usd")
    assert isinstance(budget, QDoubleSpinBox)
    assert budget.value() == budget.minimum()  # unset
    budget.setValue(2.5)
    assert doc.tree.limits.budget_usd == 2.5

    seed = form.field_widget("seed")
    assert isinstance(seed, QLineEdit)
    assert seed.text() == "7"
    seed.clear()
    qtbot.keyClick(seed, Qt.Key.Key_Return)
    assert doc.tree.seed is None

    models = form.field_widget("models")
    assert isinstance(models, QPlainTextEdit)
    models.setPlainText('{"text": {"provider": "openai"}}')  # valid JSON, but no model
    form.flush()
    assert doc.tree.models["text"].model == "gpt-4o-mini"
    assert any("model" in m for m in form.editor("models").messages())  # type: ignore[union-attr]
    models.setPlainText('{"text": {"model": "llama3", "base_url": "http://localhost:11434/v1"}}')
    form.flush()
    assert doc.tree.models["text"].model == "llama3"
    assert form.editor("models").messages() == []  # type: ignore[union-attr]

    doc.undo()
    assert '"gpt-4o-mini"' in models.toPlainText()
    doc.undo()
    assert seed.text() == "7"


# -- highlighter ---------------------------------------------------------------------------------

TEMPLATE_CHARS = st.sampled_from(list("${}[]|\\:.ab_0 \n\u2028😀é"))
TEMPLATE_TEXT = st.text(TEMPLATE_CHARS, max_size=60) | st.text(max_size=60)


@settings(max_examples=200, deadline=None)
@given(text=TEMPLATE_TEXT)
def test_spans_never_raise_and_agree_with_the_parser(text: str) -> None:
    spans = template_spans(text, known={"a"})
    end = 0
    for span in spans:
        assert span.start >= end
        assert span.length > 0
        end = span.start + span.length
        assert end <= len(text)
    try:
        parsed = tpl.parse(text)
    except TemplateError:
        return
    variables = {(s.start, s.kind) for s in spans if s.kind in ("variable", "unknown")}
    for ref in parsed.variables():
        known = ref.namespace is not None or ref.root in ("a", "i", "index", "parent", "item")
        assert (ref.position, "variable" if known else "unknown") in variables
    assert parsed.has_picks() == any(s.kind == "pick" for s in spans)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=TEMPLATE_TEXT)
def test_highlighter_never_raises(qtbot, text: str) -> None:
    edit = QPlainTextEdit()
    highlighter = TemplateHighlighter(edit.document(), known={"a"})
    edit.setPlainText(text)
    edit.moveCursor(QTextCursor.MoveOperation.Start)
    edit.insertPlainText("|${a}[")
    highlighter.set_known({"b"})
    QCoreApplication.processEvents()
    block = edit.document().firstBlock()
    while block.isValid():
        for fmt in block.layout().formats():
            assert fmt.start >= 0
            assert fmt.start + fmt.length <= block.length()
        block = block.next()
    edit.deleteLater()


def test_highlighter_marks_references_picks_and_unknown_names(qtbot) -> None:
    edit = QPlainTextEdit()
    qtbot.addWidget(edit)
    highlighter = TemplateHighlighter(edit.document(), known={"x"})
    edit.setPlainText("Hi ${x} and ${y}: [a | b] \\[c | d] ['j', 'k']\n[one |\ntwo]")
    QCoreApplication.processEvents()
    first = edit.document().firstBlock()
    formats = {(f.start, f.length): QTextCharFormat(f.format) for f in first.layout().formats()}
    wave = QTextCharFormat.UnderlineStyle.WaveUnderline
    assert formats[(3, 4)].underlineStyle() != wave  # ${x}: known
    assert formats[(12, 4)].underlineStyle() == wave  # ${y}: unknown
    assert formats[(3, 4)].foreground().color() == formats[(12, 4)].foreground().color()
    assert {(18, 1), (21, 1), (24, 1)} <= set(formats)  # [ | ] of the pick
    assert (26, 2) in formats  # the \[ escape
    assert not any(start >= 28 for start, _ in formats)  # "c | d]" and JSON stay plain
    # A pick over two lines: both brackets are coloured.
    second = first.next()
    third = second.next()
    assert (0, 1) in {(f.start, f.length) for f in second.layout().formats()}
    assert (3, 1) in {(f.start, f.length) for f in third.layout().formats()}
    highlighter.set_known({"x", "y"})
    formats = {(f.start, f.length): QTextCharFormat(f.format) for f in first.layout().formats()}
    assert formats[(12, 4)].underlineStyle() != wave
    assert [s.kind for s in template_spans("${x}", {"x"})] == ["variable"]
