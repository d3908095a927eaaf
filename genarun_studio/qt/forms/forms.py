"""Property forms generated from pydantic JSON Schemas: one node's panel and the tree's.

:class:`NodeForm` edits one node: its common fields (``Node``'s own schema: id, title,
enabled, output key, ...) and its type-specific ``config``, whose widgets are generated from
``node_type.Config.model_json_schema()`` — there is no per-type Qt code. :class:`TreeForm`
edits the tree-level settings the same way (``RunLimits``' schema for the limits).

How schema types map to widgets:

=============================================  =============================================
string                                         ``QLineEdit`` (a ``pattern`` is checked live)
template string (``x-template``) / long text   growing ``QPlainTextEdit`` with
(``template``, ``system``, ``prompt``, ...)    :class:`TemplateHighlighter` (monospace)
boolean                                        ``QCheckBox`` (applies at once)
integer / number with bounds                   ``QSpinBox`` / ``QDoubleSpinBox``; an optional
                                               one shows ``—`` at its lowest value for unset
integer without bounds (a seed)                ``QLineEdit`` taking digits; empty is unset
enum / Literal                                 ``QComboBox`` (an optional one has a
                                               "default" / "inherit" entry for unset)
the ``profile`` field                          editable ``QComboBox`` of the tree's profiles
list of strings                                comma-separated ``QLineEdit``
list of objects (prompt turns)                 repeatable boxes with ✕ and "+ turn"
``anyOf`` with a list of objects (the prompt:  edited as the list; saved back in the
string, turn or list of turns)                 file's own shorter form when it still fits
nested model (validation)                      titled sub-group
object of integers (lane concurrency)          one small spin box per key
object / Any / anything else                   JSON editor: a parse error is shown inline
                                               and the last valid value is kept
=============================================  =============================================

Edits go to the :class:`~genarun_studio.core.document.TreeDocument` only through its
methods: a config edit rebuilds the whole config dict (unset optional values and values
equal to their schema default are left out, keys the schema does not know are kept) and
calls ``set_config``; node fields go through ``set_fields``; tree fields through
``set_tree_fields``. Text edits apply after :data:`DEBOUNCE_MS` of quiet, or at once when
the field loses focus (``editingFinished``); toggles and combos apply at once, spin boxes on
a step, Enter or focus out. Nothing is sent while the form's output equals what it made of
the unedited node (so focusing through a form never creates an undo step). Changes made
elsewhere (undo, the canvas) reload the form without sending edits back; an edit still
waiting for its debounce when this form's node is changed from elsewhere is dropped (the
other change wins). Call :meth:`NodeForm.flush` before discarding a form (hiding or
closing it flushes too).

Limits: a stored value a widget cannot show (``min_items: "3"``, a number beyond a spin
box's range) is shown as the field's default or clamped, and is written that way once
another field of the same config is edited; the document's problems point such values out.
"""

from __future__ import annotations

import ast
import copy
import html
import inspect
import itertools
import json
import math
import re
import textwrap
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ValidationError
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import (
    QFocusEvent,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QHideEvent,
    QPalette,
    QRegularExpressionValidator,
    QResizeEvent,
    QShowEvent,
    QTextLayout,
    QTextOption,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.core.document import Change, EditError, TreeDocument
from genarun_studio.core.jsonpath import pydantic_problems
from genarun_studio.core.tree import LANES, Node, RunLimits, Tree
from genarun_studio.core.validate import Problem, node_paths
from genarun_studio.errors import GenarunError
from genarun_studio.qt.forms.highlight import TemplateHighlighter

__all__ = ["DEBOUNCE_MS", "UNSET", "FieldEditor", "NodeForm", "TreeForm"]

DEBOUNCE_MS: Final = 300
"""Quiet time after the last keystroke before a text edit is applied."""

_INT_MIN = -(2**31) + 1
_INT_MAX = 2**31 - 1
_LONG_TEXT = {"template": 4, "prompt": 4, "system": 2, "description": 2, "operation": 8}
"""String fields edited as multi-line text even when not templates: name → minimum lines."""
_WORDS = {
    "json": "JSON",
    "id": "ID",
    "url": "URL",
    "api": "API",
    "usd": "(USD)",
    "s": "(s)",
    "reasks": "re-asks",
}
_ERROR_COLOUR = "#d93025"
_WARNING_COLOUR = "#b26a00"


class _Unset:
    """The value of a field left unset (dropped from the config)."""

    _instance: ClassVar[_Unset | None] = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()
"""What :meth:`FieldEditor.get` returns for a field that should not be written."""


# -- schema helpers ----------------------------------------------------------------------------


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with ``$ref`` (and a one-item ``allOf``) replaced by its target; the
    referring schema's own keys (title, default, description, ...) win."""
    seen = 0
    while seen < 32:
        seen += 1
        if "$ref" in schema:
            name = str(schema["$ref"]).rsplit("/", 1)[-1]
            target = defs.get(name, {})
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **rest, "x-def": name}
        elif isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            schema = {**schema["allOf"][0], **rest}
        else:
            break
    return schema


def _split_nullable(schema: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``(schema without its null alternative, whether null is allowed)``."""
    schema = _resolve(schema, defs)
    variants = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(variants, list):
        non_null = [v for v in variants if v.get("type") != "null"]
        nullable = len(non_null) < len(variants)
        if nullable and len(non_null) == 1:
            outer = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            return {**_resolve(non_null[0], defs), **outer}, True
        return schema, nullable
    types_ = schema.get("type")
    if isinstance(types_, list) and "null" in types_:
        rest = [t for t in types_ if t != "null"]
        return {**schema, "type": rest[0] if len(rest) == 1 else rest}, True
    return schema, False


def _list_variant(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    """For an ``anyOf`` one of whose variants is a list of objects: that variant."""
    variants = schema.get("anyOf") or schema.get("oneOf") or []
    for variant in variants:
        variant = _resolve(variant, defs)
        if variant.get("type") == "array":
            items = _resolve(variant.get("items", {}), defs)
            if items.get("type") == "object" and items.get("properties"):
                return variant
    return None


def _label(name: str, schema: dict[str, Any]) -> str:
    """A readable label: the schema's title when it was set by hand, else from the name."""
    title = schema.get("title")
    if isinstance(title, str) and title and title != name.replace("_", " ").title():
        return title
    words = [_WORDS.get(word, word) for word in name.split("_") if word]
    text = " ".join(words) or name
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=256)
def _attribute_docs(cls: type[BaseModel]) -> dict[str, str]:
    """Field name (alias when it has one) → its description or attribute docstring.

    Attribute docstrings (a string literal under a field) are read from the source of the
    class and its bases; without source (a frozen app) only ``Field(description=...)`` counts.
    """
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass is BaseModel:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for first, second in itertools.pairwise(body):
            if (
                isinstance(first, ast.AnnAssign)
                and isinstance(first.target, ast.Name)
                and isinstance(second, ast.Expr)
                and isinstance(second.value, ast.Constant)
                and isinstance(second.value.value, str)
            ):
                docs[first.target.id] = inspect.cleandoc(second.value.value)
    result: dict[str, str] = {}
    for name, info in cls.model_fields.items():
        text = info.description or docs.get(name)
        if text:
            result[info.alias or name] = text
    return result


def _models_of(cls: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Every pydantic model reachable from ``cls`` through field annotations, by name."""
    found: dict[str, type[BaseModel]] = {}
    stack: list[Any] = [cls]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            if item.__name__ in found:
                continue
            found[item.__name__] = item
            stack.extend(info.annotation for info in item.model_fields.values())
        elif isinstance(item, typing.ForwardRef | str):
            continue
        else:
            stack.extend(typing.get_args(item))
            origin = typing.get_origin(item)
            if origin is not None and not isinstance(origin, types.UnionType):
                stack.append(origin)
    return found


def _tooltip(text: str | None) -> str:
    """Docstring text for a tooltip: RST literals unquoted, paragraphs kept."""
    if not text:
        return ""
    text = text.replace("``", "")
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


def _monospace() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


# -- small widgets -------------------------------------------------------------------------------


class _TextEdit(QPlainTextEdit):
    """A plain-text editor that grows with its text (``min_lines``..``max_lines``) and
    signals when it loses focus (its ``editingFinished``)."""

    focusLost = Signal()

    def __init__(self, min_lines: int = 2, max_lines: int = 16, parent: QWidget | None = None):
        super().__init__(parent)
        self._min_lines = max(1, min_lines)
        self._max_lines = max(self._min_lines, max_lines)
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().contentsChanged.connect(self._fit)
        self._fit()

    def setFont(self, font: QFont | str | Iterable[str]) -> None:
        super().setFont(font)
        self._fit()

    def _fit(self) -> None:
        """Set the height to the wrapped lines, laid out as the editor will lay them out."""
        margin = self.document().documentMargin()
        width = max(40.0, self.viewport().width() - 2 * margin - 4)
        option = QTextOption()
        option.setWrapMode(self.wordWrapMode())
        heights: list[float] = []
        block = self.document().firstBlock()
        while block.isValid() and len(heights) < self._max_lines:
            layout = QTextLayout(block.text(), self.font())
            layout.setTextOption(option)
            layout.beginLayout()
            while len(heights) < self._max_lines:
                line = layout.createLine()
                if not line.isValid():
                    break
                line.setLineWidth(width)
                heights.append(line.height())
            layout.endLayout()
            block = block.next()
        one = QFontMetricsF(self.font()).height()
        heights += [one] * (self._min_lines - len(heights))
        frame = self.contentsMargins().top() + self.contentsMargins().bottom()
        height = math.ceil(sum(heights) + 2 * margin) + frame + 2
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.focusLost.emit()


class _NoWheelMixin:
    """Spin boxes and combos in a scrolling form change only when focused: the wheel
    scrolls the form instead of silently editing the field under the pointer."""

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.hasFocus():  # type: ignore[attr-defined]
            super().wheelEvent(event)  # type: ignore[misc]
        else:
            event.ignore()


class _SpinBox(_NoWheelMixin, QSpinBox):
    pass


class _DoubleSpinBox(_NoWheelMixin, QDoubleSpinBox):
    pass


class _ComboBox(_NoWheelMixin, QComboBox):
    pass


def _prepare_spin(spin: QAbstractSpinBox) -> None:
    spin.setKeyboardTracking(False)  # valueChanged on Enter / focus out / arrows, not per key
    spin.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    spin.setMinimumWidth(90)
    spin.setMaximumWidth(160)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight)


# -- field editors ---------------------------------------------------------------------------------


class _Context:
    """What editors need while being built: schema definitions, docs, profiles."""

    def __init__(
        self,
        defs: dict[str, Any],
        docs: dict[str, dict[str, str]],
        profiles: list[str],
    ) -> None:
        self.defs = defs
        self.docs = docs
        self.profiles = profiles
        self.known: frozenset[str] | None = None
        self.label_width = 0
        """Minimum width of field labels, so the sections' columns line up."""


class FieldEditor(QObject):
    """One generated field: a widget editing one JSON value of a schema.

    ``changed(now)`` is emitted on user edits only: ``now`` true for edits to apply at once
    (toggles, combos, focus leaving a text field), false for typing (apply after the
    debounce). :meth:`get` returns the value to write, or :data:`UNSET` to leave the key
    out; :meth:`set` shows a value. ``path`` is the field's JSON path in the node
    (``config.prompt[0].template``), the form used to match problems to fields.
    """

    changed = Signal(bool)

    def __init__(self, schema: dict[str, Any], key: str | int, owner: FieldEditor | None):
        super().__init__(owner)
        self.schema = schema
        self.key = key
        self.owner = owner
        self.nullable = False
        self.required = False
        self.control: QWidget = QWidget()
        """The editing widget (line edit, check box, ...)."""
        self.widget: QWidget = QWidget()
        """What the parent lays out: the control and its message line."""
        self._local_error: str | None = None
        self._problems: list[tuple[str, str]] = []
        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.setTextFormat(Qt.TextFormat.PlainText)
        self._message.setVisible(False)
        self._message.setObjectName("fieldMessage")

    # -- identity ------------------------------------------------------------------------------

    @property
    def path(self) -> str:
        if self.owner is None:
            return str(self.key)
        base = self.owner.path
        if isinstance(self.key, int):
            return f"{base}[{self.key}]"
        return f"{base}.{self.key}" if base else str(self.key)

    def sub_editors(self) -> list[FieldEditor]:
        """Nested editors (object fields, list items)."""
        return []

    def walk(self) -> Iterator[FieldEditor]:
        stack: list[FieldEditor] = [self]
        while stack:
            editor = stack.pop()
            yield editor
            stack.extend(reversed(editor.sub_editors()))

    # -- value ---------------------------------------------------------------------------------

    def get(self) -> Any:
        raise NotImplementedError

    def set(self, value: Any) -> None:
        raise NotImplementedError

    def set_known(self, names: frozenset[str] | None) -> None:
        """Names ``${...}`` may use, for template highlighting."""
        for child in self.sub_editors():
            child.set_known(names)

    def set_profiles(self, profiles: list[str]) -> None:
        for child in self.sub_editors():
            child.set_profiles(profiles)

    # -- messages ------------------------------------------------------------------------------

    def set_problems(self, problems: list[tuple[str, str]]) -> None:
        """``(severity, message)`` pairs shown under the field."""
        self._problems = list(problems)
        self._show_messages()

    def set_local_error(self, message: str | None) -> None:
        """The field's own complaint (bad JSON, bad identifier), shown before problems."""
        self._local_error = message
        self._show_messages()

    def messages(self) -> list[str]:
        """The messages shown under the field now."""
        shown = [self._local_error] if self._local_error else []
        return shown + [message for _, message in self._problems]

    def _show_messages(self) -> None:
        lines = self.messages()
        self._message.setVisible(bool(lines))
        self._message.setText("\n".join(lines))
        error = bool(self._local_error) or any(s == "error" for s, _ in self._problems)
        colour = _ERROR_COLOUR if error else _WARNING_COLOUR
        self._message.setStyleSheet(f"color: {colour}; font-size: 90%;")
        self.control.setProperty("problem", "error" if error else ("warning" if lines else ""))
        self.control.setToolTip(self._tip if not lines else f"{self._tip}\n\n" + "\n".join(lines))

    _tip = ""

    def set_tip(self, text: str) -> None:
        self._tip = text.strip()
        self.control.setToolTip(self._tip)

    # -- helpers for leaves --------------------------------------------------------------------

    def _wrap(self, control: QWidget) -> None:
        """Lay ``control`` out above the message line."""
        self.control = control
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(control)
        layout.addWidget(self._message)
        self.widget = box

    def _empty_value(self) -> Any:
        """What an empty field means: "" when required, None when nullable with no
        other default, otherwise unset (the default applies)."""
        if self.required:
            return ""
        if self.nullable and self.schema.get("default", None) is None:
            return None
        return UNSET


class _LineEditor(FieldEditor):
    """A string in a ``QLineEdit``; a ``pattern`` is checked as you type.

    With ``apply_on_finish`` the field applies only when editing finishes (the node id);
    otherwise typing applies after the debounce.
    """

    def __init__(
        self,
        schema: dict[str, Any],
        key: str | int,
        owner: FieldEditor | None,
        *,
        apply_on_finish: bool = False,
    ) -> None:
        super().__init__(schema, key, owner)
        self.edit = QLineEdit()
        self.edit.setClearButtonEnabled(False)
        default = schema.get("default")
        if isinstance(default, str) and default:
            self.edit.setPlaceholderText(default)
        pattern = schema.get("pattern")
        self._pattern = re.compile(pattern) if isinstance(pattern, str) else None
        self._last_valid: Any = UNSET
        self._apply_on_finish = apply_on_finish
        self.edit.textEdited.connect(self._edited)
        self.edit.editingFinished.connect(self._finished)
        self._wrap(self.edit)

    def _edited(self, _text: str) -> None:
        self._check()
        if not self._apply_on_finish:
            self.changed.emit(False)

    def _finished(self) -> None:
        if self.edit.isModified() or not self._apply_on_finish:
            self.edit.setModified(False)
            self.changed.emit(True)

    def valid(self) -> bool:
        text = self.edit.text()
        return not (self._pattern and text and not self._pattern.search(text))

    def _check(self) -> None:
        if self.valid():
            self.set_local_error(None)
        else:
            self.set_local_error(
                f"{self.edit.text()!r} is not a valid name: use letters, digits, '_' and '-', "
                "starting with a letter or '_'"
            )

    def get(self) -> Any:
        if not self.valid():
            return self._last_valid
        text = self.edit.text()
        value = text if text else self._empty_value()
        self._last_valid = value
        return value

    def set(self, value: Any) -> None:
        text = "" if value is None or value is UNSET else str(value)
        if self.edit.text() != text:
            self.edit.setText(text)
        self.edit.setModified(False)
        self._last_valid = value
        self.set_local_error(None)


class _TextEditor(FieldEditor):
    """A string in a growing ``QPlainTextEdit``; templates get a highlighter."""

    def __init__(
        self,
        schema: dict[str, Any],
        key: str | int,
        owner: FieldEditor | None,
        *,
        template: bool,
        min_lines: int,
        monospace: bool,
    ) -> None:
        super().__init__(schema, key, owner)
        self.edit = _TextEdit(min_lines=min_lines)
        if monospace:
            self.edit.setFont(_monospace())
        default = schema.get("default")
        if isinstance(default, str) and default:
            self.edit.setPlaceholderText(default)
        self.highlighter = TemplateHighlighter(self.edit.document()) if template else None
        self.edit.textChanged.connect(lambda: self.changed.emit(False))
        self.edit.focusLost.connect(lambda: self.changed.emit(True))
        self._wrap(self.edit)

    def get(self) -> Any:
        text = self.edit.toPlainText()
        return text if text else self._empty_value()

    def set(self, value: Any) -> None:
        text = "" if value is None or value is UNSET else str(value)
        if self.edit.toPlainText() != text:
            self.edit.setPlainText(text)

    def set_known(self, names: frozenset[str] | None) -> None:
        if self.highlighter is not None:
            self.highlighter.set_known(names)


class _ProfileEditor(FieldEditor):
    """The model profile: an editable combo listing the tree's profiles."""

    def __init__(
        self, schema: dict[str, Any], key: str | int, owner: FieldEditor | None, profiles: list[str]
    ) -> None:
        super().__init__(schema, key, owner)
        self.combo = _ComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        default = schema.get("default")
        line = self.combo.lineEdit()
        if isinstance(default, str) and line is not None:
            line.setPlaceholderText(default)
        self.set_profiles(profiles)
        if line is not None:
            line.textEdited.connect(lambda _t: self.changed.emit(False))
            line.editingFinished.connect(lambda: self.changed.emit(True))
        self.combo.activated.connect(lambda _i: self.changed.emit(True))
        self._wrap(self.combo)

    def set_profiles(self, profiles: list[str]) -> None:
        text = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(profiles)
        self.combo.setEditText(text)
        self.combo.blockSignals(False)

    def get(self) -> Any:
        text = self.combo.currentText().strip()
        return text if text else self._empty_value()

    def set(self, value: Any) -> None:
        text = "" if value is None or value is UNSET else str(value)
        if self.combo.currentText() != text:
            self.combo.blockSignals(True)
            self.combo.setEditText(text)
            self.combo.blockSignals(False)


class _BoolEditor(FieldEditor):
    def __init__(self, schema: dict[str, Any], key: str | int, owner: FieldEditor | None) -> None:
        super().__init__(schema, key, owner)
        self.check = QCheckBox()
        # Only the box itself, not a row-wide strip whose clicks would miss it.
        self.check.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.check.toggled.connect(lambda _on: self.changed.emit(True))
        self._wrap(self.check)

    def get(self) -> Any:
        return self.check.isChecked()

    def set(self, value: Any) -> None:
        if value is UNSET or value is None:
            value = self.schema.get("default", False)
        checked = bool(value)
        if self.check.isChecked() != checked:
            self.check.blockSignals(True)
            self.check.setChecked(checked)
            self.check.blockSignals(False)


class _NumberEditor(FieldEditor):
    """An integer or number with bounds in a spin box; an optional one is unset at its
    lowest value, shown as ``—``."""

    def __init__(
        self,
        schema: dict[str, Any],
        key: str | int,
        owner: FieldEditor | None,
        *,
        integer: bool,
        nullable: bool,
    ) -> None:
        super().__init__(schema, key, owner)
        self.nullable = nullable
        self.integer = integer
        spin: QSpinBox | QDoubleSpinBox = _SpinBox() if integer else _DoubleSpinBox()
        low, high = self._bounds(schema, integer)
        step = 1 if integer else (0.1 if high <= 10 else 1.0)
        self._low = low
        if nullable:
            low = low - step
            spin.setSpecialValueText("—")
        if isinstance(spin, QSpinBox):
            spin.setRange(int(low), int(high))
        else:
            spin.setDecimals(2)
            spin.setSingleStep(step)
            spin.setRange(float(low), float(high))
        _prepare_spin(spin)
        spin.valueChanged.connect(lambda _v: self.changed.emit(True))
        self.spin = spin
        self._wrap(spin)

    @staticmethod
    def _bounds(schema: dict[str, Any], integer: bool) -> tuple[float, float]:
        low: float = _INT_MIN
        high: float = _INT_MAX
        if "minimum" in schema:
            low = schema["minimum"]
        if "exclusiveMinimum" in schema:
            low = schema["exclusiveMinimum"] + (1 if integer else 0.01)
        if "maximum" in schema:
            high = schema["maximum"]
        if "exclusiveMaximum" in schema:
            high = schema["exclusiveMaximum"] - (1 if integer else 0.01)
        low, high = max(low, _INT_MIN), min(high, _INT_MAX)
        if integer:
            low, high = math.ceil(low), math.floor(high)
        return low, max(low, high)

    def get(self) -> Any:
        value = self.spin.value()
        if self.nullable and value < self._low:
            return None
        return int(value) if self.integer else float(value)

    def set(self, value: Any) -> None:
        if value is UNSET or value is None or isinstance(value, bool):
            value = self.schema.get("default")
        if value is None or not isinstance(value, int | float):
            target = self.spin.minimum() if self.nullable else max(self._low, 0)
        else:
            target = value
        if self.spin.value() != target:
            self.spin.blockSignals(True)
            self.spin.setValue(target)  # type: ignore[arg-type]
            self.spin.blockSignals(False)


class _BigIntEditor(FieldEditor):
    """An integer without bounds (a seed) as digits in a line edit; empty is unset."""

    def __init__(self, schema: dict[str, Any], key: str | int, owner: FieldEditor | None) -> None:
        super().__init__(schema, key, owner)
        self.edit = QLineEdit()
        self.edit.setValidator(QRegularExpressionValidator(r"-?[0-9]{0,40}"))
        self.edit.setPlaceholderText("random" if key == "seed" else "—")
        self.edit.setMaximumWidth(220)
        self.edit.textEdited.connect(lambda _t: self.changed.emit(False))
        self.edit.editingFinished.connect(lambda: self.changed.emit(True))
        self._wrap(self.edit)

    def get(self) -> Any:
        text = self.edit.text().strip()
        if text in ("", "-"):
            return None if self.nullable else UNSET
        return int(text)

    def set(self, value: Any) -> None:
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else ""
        if self.edit.text() != text:
            self.edit.setText(text)


class _EnumEditor(FieldEditor):
    """A choice of the schema's ``enum`` values; an optional one offers ``null_label``."""

    def __init__(
        self,
        schema: dict[str, Any],
        key: str | int,
        owner: FieldEditor | None,
        *,
        nullable: bool,
        null_label: str = "default",
    ) -> None:
        super().__init__(schema, key, owner)
        self.nullable = nullable
        self.combo = _ComboBox()
        self.combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        options = list(schema.get("enum") or ([schema["const"]] if "const" in schema else []))
        if nullable:
            self.combo.addItem(null_label, None)
        for option in options:
            self.combo.addItem(str(option), option)
        self.combo.currentIndexChanged.connect(lambda _i: self.changed.emit(True))
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._wrap(self.combo)

    def get(self) -> Any:
        return self.combo.currentData()

    def set(self, value: Any) -> None:
        if value is UNSET:
            value = self.schema.get("default")
        index = self.combo.findData(value)
        if index < 0 and value is not None:  # a value the schema does not list: keep it
            self.combo.addItem(str(value), value)
            index = self.combo.count() - 1
        if index < 0:
            index = 0
        if self.combo.currentIndex() != index:
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(index)
            self.combo.blockSignals(False)


class _StringListEditor(FieldEditor):
    """A list of strings as ``a, b, c``; blanks are dropped."""

    def __init__(self, schema: dict[str, Any], key: str | int, owner: FieldEditor | None) -> None:
        super().__init__(schema, key, owner)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("comma-separated")
        self.edit.textEdited.connect(lambda _t: self.changed.emit(False))
        self.edit.editingFinished.connect(lambda: self.changed.emit(True))
        self._wrap(self.edit)

    def get(self) -> Any:
        items = [part.strip() for part in self.edit.text().split(",")]
        return [item for item in items if item]

    def set(self, value: Any) -> None:
        items = [str(item) for item in value] if isinstance(value, list) else []
        if self.get() != items:  # keep the user's own spacing when it means the same
            self.edit.setText(", ".join(items))


class _JsonEditor(FieldEditor):
    """Any JSON value as text. Invalid JSON shows its error under the field and
    :meth:`get` keeps returning the last valid value, so nothing invalid is applied."""

    def __init__(
        self,
        schema: dict[str, Any],
        key: str | int,
        owner: FieldEditor | None,
        *,
        template: bool = False,
        min_lines: int = 2,
    ) -> None:
        super().__init__(schema, key, owner)
        self.edit = _TextEdit(min_lines=min_lines, max_lines=20)
        self.edit.setFont(_monospace())
        self.edit.setPlaceholderText("JSON")
        self.highlighter = TemplateHighlighter(self.edit.document()) if template else None
        self._value: Any = UNSET
        self.edit.textChanged.connect(self._typed)
        self.edit.focusLost.connect(lambda: self.changed.emit(True))
        self._wrap(self.edit)

    def _parse(self) -> tuple[bool, Any]:
        text = self.edit.toPlainText()
        if not text.strip():
            return True, UNSET if not self.required else None
        try:
            return True, json.loads(text)
        except (ValueError, RecursionError) as exc:
            where = ""
            if isinstance(exc, json.JSONDecodeError):
                where = f" (line {exc.lineno}, column {exc.colno})"
                message = exc.msg
            else:
                message = str(exc)
            self._parse_error = f"Not valid JSON: {message}{where}; not applied"
            return False, None

    _parse_error = ""

    def _typed(self) -> None:
        ok, value = self._parse()
        if ok:
            self._value = value
            self.set_local_error(None)
        else:
            self.set_local_error(self._parse_error)
        self.changed.emit(False)

    def valid(self) -> bool:
        return self._parse()[0]

    def get(self) -> Any:
        return self._value

    def set(self, value: Any) -> None:
        empty = value is UNSET or (value is None and not self.required)
        ok, current = self._parse()
        shown = ok and (current is UNSET if empty else current == value)
        if not shown:  # keep the user's own formatting when it means the same
            text = "" if empty else json.dumps(value, indent=2, ensure_ascii=False, default=str)
            self.edit.blockSignals(True)
            self.edit.setPlainText(text)
            self.edit.blockSignals(False)
        self._value = value
        self.set_local_error(None)

    def set_known(self, names: frozenset[str] | None) -> None:
        if self.highlighter is not None:
            self.highlighter.set_known(names)


class _IntMapEditor(FieldEditor):
    """An object of integers (lane → concurrency) as one spin box per key."""

    def __init__(
        self,
        schema: dict[str, Any],
        key: str | int,
        owner: FieldEditor | None,
        keys: list[str],
        fallback: Callable[[str], int],
    ) -> None:
        super().__init__(schema, key, owner)
        self._fallback = fallback
        self._spins: dict[str, QSpinBox] = {}
        box = QWidget()
        self._grid = QGridLayout(box)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(8)
        self._grid.setVerticalSpacing(4)
        for name in keys:
            self._add_key(name)
        self._wrap(box)

    def _add_key(self, name: str) -> QSpinBox:
        spin = _SpinBox()
        spin.setRange(1, 9999)
        _prepare_spin(spin)
        spin.setMinimumWidth(56)
        spin.setMaximumWidth(80)
        spin.setObjectName(f"{self.key}.{name}")
        spin.valueChanged.connect(lambda _v: self.changed.emit(True))
        index = len(self._spins)
        row, column = divmod(index, 3)
        label = QLabel(name)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._grid.addWidget(label, row, column * 2)
        self._grid.addWidget(spin, row, column * 2 + 1)
        self._spins[name] = spin
        return spin

    def spin(self, name: str) -> QSpinBox | None:
        return self._spins.get(name)

    def get(self) -> Any:
        return {name: spin.value() for name, spin in self._spins.items()}

    def set(self, value: Any) -> None:
        value = value if isinstance(value, dict) else {}
        for name in value:
            if name not in self._spins:
                self._add_key(str(name))
        for name, spin in self._spins.items():
            raw = value.get(name)
            number = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
            target = number if number is not None else self._fallback(name)
            if spin.value() != target:
                spin.blockSignals(True)
                spin.setValue(target)
                spin.blockSignals(False)


class _ObjectEditor(FieldEditor):
    """A model: one row per property in a ``QFormLayout``; ``boxed`` puts the rows in a
    titled group (nested models). Keys the schema does not list are kept as they are."""

    def __init__(
        self,
        schema: dict[str, Any],
        key: str | int,
        owner: FieldEditor | None,
        ctx: _Context,
        *,
        boxed: bool,
        title: str = "",
        hints: dict[str, dict[str, Any]] | None = None,
        only: list[str] | None = None,
    ) -> None:
        super().__init__(schema, key, owner)
        self.ctx = ctx
        self._props: dict[str, dict[str, Any]] = dict(schema.get("properties") or {})
        self._required = set(schema.get("required") or [])
        self._fields: dict[str, FieldEditor] = {}
        self._labels: dict[str, QLabel] = {}
        self._extra: dict[str, Any] = {}
        docs = ctx.docs.get(str(schema.get("x-def") or schema.get("title") or ""), {})
        hints = hints or {}
        container: QWidget
        if boxed:
            group = QGroupBox(title)
            group.setToolTip(_tooltip(schema.get("description")))
            container = group
        else:
            container = QWidget()
        outer = QVBoxLayout(container)
        outer.setContentsMargins(*((10, 8, 10, 8) if boxed else (0, 0, 0, 0)))
        outer.setSpacing(4)
        outer.addWidget(self._message)
        self.form = QFormLayout()
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.form.setHorizontalSpacing(12)
        self.form.setVerticalSpacing(6)
        outer.addLayout(self.form)
        self.control = container
        self.widget = container
        names = only if only is not None else list(self._props)
        for name in names:
            if name not in self._props:
                continue
            hint = hints.get(name, {})
            editor = _build(
                self._props[name], name, self, ctx, required=name in self._required, **hint
            )
            editor.set_tip(
                _tooltip(hint.get("tip") or self._props[name].get("description") or docs.get(name))
            )
            editor.changed.connect(self.changed)
            self._fields[name] = editor
            label_text = hint.get("label") or _label(name, _resolve(self._props[name], ctx.defs))
            if isinstance(editor, _ObjectEditor | _ListEditor):
                self.form.addRow(editor.widget)
            else:
                label = QLabel(label_text)
                label.setToolTip(editor.control.toolTip())
                label.setBuddy(editor.control)
                if isinstance(editor, _TextEditor | _JsonEditor):
                    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                    label.setContentsMargins(0, 4, 0, 0)
                else:
                    label.setMinimumHeight(editor.control.sizeHint().height())
                    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                if ctx.label_width:
                    label.setMinimumWidth(ctx.label_width)
                self._labels[name] = label
                self.form.addRow(label, editor.widget)

    def sub_editors(self) -> list[FieldEditor]:
        return list(self._fields.values())

    def field(self, name: str) -> FieldEditor | None:
        return self._fields.get(name)

    def get(self) -> Any:
        out = copy.deepcopy(self._extra)
        for name, editor in self._fields.items():
            value = editor.get()
            if value is UNSET:
                continue
            if name not in self._required:
                prop = self._props[name]
                if "default" in prop:
                    if value == prop["default"] and type(value) is type(prop["default"]):
                        continue
                    if value is None and prop["default"] is None:
                        continue
                elif value is None or value in ({}, [], ""):
                    continue
            out[name] = value
        return out

    def set(self, value: Any) -> None:
        data = value if isinstance(value, dict) else {}
        self._extra = {k: copy.deepcopy(v) for k, v in data.items() if k not in self._props}
        for name, editor in self._fields.items():
            editor.set(copy.deepcopy(data[name]) if name in data else UNSET)


class _ListEditor(FieldEditor):
    """A list of objects (prompt turns): one box per item, ✕ to remove, "+ item" to add.

    When the schema also allows a single item or a plain string (the prompt), the value is
    read as a list and written back in the shape it came in while that shape still holds
    it: a string stays a string while there is one item with only its first required text
    field, one object stays one object while there is one item.
    """

    def __init__(
        self,
        schema: dict[str, Any],
        key: str | int,
        owner: FieldEditor | None,
        ctx: _Context,
        *,
        shapes: bool,
    ) -> None:
        super().__init__(schema, key, owner)
        self.ctx = ctx
        self._item_schema = _resolve(schema.get("items", {}), ctx.defs)
        self._min = int(schema.get("minItems", 0))
        self._shapes = shapes
        self._shape = "list"
        props = self._item_schema.get("properties") or {}
        required = self._item_schema.get("required") or []
        self._text_key = next(
            (
                name
                for name in required
                if _split_nullable(props.get(name, {}), ctx.defs)[0].get("type") == "string"
            ),
            None,
        )
        self.item_title = str(self._item_schema.get("title") or _label(str(key), schema))
        self.items: list[_ObjectEditor] = []
        self._parts: list[tuple[QFrame, QLabel, QToolButton]] = []

        group = QGroupBox(_label(str(key), schema))
        outer = QVBoxLayout(group)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.setSpacing(8)
        outer.addWidget(self._message)
        self._list = QVBoxLayout()
        self._list.setSpacing(8)
        outer.addLayout(self._list)
        self.add_button = QPushButton(f"+ {self.item_title.lower()}")
        self.add_button.setToolTip(f"Add a {self.item_title.lower()} at the end")
        self.add_button.clicked.connect(self._add_clicked)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addStretch(1)
        outer.addLayout(row)
        self.control = group
        self.widget = group

    def sub_editors(self) -> list[FieldEditor]:
        return list(self.items)

    def count(self) -> int:
        return len(self.items)

    # -- structure -----------------------------------------------------------------------------

    def _new_item(self) -> _ObjectEditor:
        index = len(self.items)
        item = _ObjectEditor(self._item_schema, index, self, self.ctx, boxed=False)
        item.changed.connect(self.changed)
        item.set_known(self.ctx.known)
        frame = QFrame()
        frame.setObjectName("listItem")
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(frame)
        layout.setContentsMargins(8, 4, 4, 8)
        layout.setSpacing(2)
        header = QHBoxLayout()
        title = QLabel()
        bold = title.font()
        bold.setBold(True)
        title.setFont(bold)
        header.addWidget(title)
        header.addStretch(1)
        remove = QToolButton()
        remove.setText("✕")
        remove.setAutoRaise(True)
        remove.setToolTip(f"Remove this {self.item_title.lower()}")
        remove.clicked.connect(lambda: self._remove(item))
        header.addWidget(remove)
        layout.addLayout(header)
        layout.addWidget(item.widget)
        self.items.append(item)
        self._parts.append((frame, title, remove))
        self._list.addWidget(frame)
        return item

    def _drop(self, index: int) -> None:
        item = self.items.pop(index)
        frame, _, _ = self._parts.pop(index)
        frame.hide()
        self._list.removeWidget(frame)
        frame.deleteLater()
        item.deleteLater()

    def _renumber(self) -> None:
        for index, (item, (_, title, remove)) in enumerate(
            zip(self.items, self._parts, strict=True)
        ):
            item.key = index
            title.setText(f"{self.item_title} {index + 1}")
            remove.setEnabled(len(self.items) > self._min)

    def remove_button(self, index: int) -> QToolButton:
        """The ✕ button of item ``index``."""
        return self._parts[index][2]

    def _remove(self, item: _ObjectEditor) -> None:
        if item not in self.items or len(self.items) <= self._min:
            return
        self._drop(self.items.index(item))
        self._renumber()
        self.changed.emit(True)

    def _add_clicked(self) -> None:
        item = self.add_item()
        self.changed.emit(True)
        focus = item.sub_editors()[0].control if item.sub_editors() else None
        if focus is not None:
            focus.setFocus(Qt.FocusReason.OtherFocusReason)

    def add_item(self) -> _ObjectEditor:
        """Append an item with its required text empty and every other field at its
        default; does not emit ``changed``."""
        item = self._new_item()
        item.set({self._text_key: ""} if self._text_key else {})
        self._renumber()
        return item

    # -- value ---------------------------------------------------------------------------------

    def get(self) -> Any:
        values = [item.get() for item in self.items]
        if self._shapes and len(values) == 1:
            only = values[0]
            if self._shape == "string" and self._text_key and set(only) == {self._text_key}:
                return only[self._text_key]
            if self._shape == "object":
                return only
        return values

    def set(self, value: Any) -> None:
        if isinstance(value, str):
            self._shape = "string"
            values: list[Any] = [{self._text_key: value}] if self._text_key else []
        elif isinstance(value, dict):
            self._shape = "object"
            values = [value]
        else:
            self._shape = "list"
            values = list(value) if isinstance(value, list) else []
        values = [
            {self._text_key: v} if isinstance(v, str) and self._text_key else v for v in values
        ]
        while len(self.items) > len(values):
            self._drop(len(self.items) - 1)
        while len(self.items) < len(values):
            self._new_item()
        for item, item_value in zip(self.items, values, strict=True):
            item.set(item_value)
        self._renumber()


def _build(
    schema: dict[str, Any],
    key: str | int,
    owner: FieldEditor | None,
    ctx: _Context,
    *,
    required: bool = False,
    **hint: Any,
) -> FieldEditor:
    """The editor for one schema (see the module docstring for the mapping)."""
    inner, nullable = _split_nullable(schema, ctx.defs)
    template = bool(inner.get("x-template") or schema.get("x-template"))
    kind = inner.get("type")
    name = str(key)
    editor: FieldEditor
    if "anyOf" in inner or "oneOf" in inner:
        variant = _list_variant(inner, ctx.defs)
        if variant is not None:
            editor = _ListEditor(
                {**variant, "title": inner.get("title")}, key, owner, ctx, shapes=True
            )
        else:
            editor = _JsonEditor(inner, key, owner, template=template)
    elif "enum" in inner or "const" in inner:
        editor = _EnumEditor(
            inner, key, owner, nullable=nullable, null_label=hint.get("null_label", "default")
        )
    elif kind == "string":
        if name == "profile" and not template:
            editor = _ProfileEditor(inner, key, owner, ctx.profiles)
        elif template or name in _LONG_TEXT:
            editor = _TextEditor(
                inner,
                key,
                owner,
                template=template,
                min_lines=_LONG_TEXT.get(name, 1),
                monospace=template,
            )
        else:
            editor = _LineEditor(
                inner, key, owner, apply_on_finish=bool(hint.get("apply_on_finish"))
            )
    elif kind == "boolean":
        editor = _BoolEditor(inner, key, owner)
    elif kind in ("integer", "number"):
        bounded = any(k in inner for k in ("minimum", "exclusiveMinimum", "maximum"))
        if kind == "integer" and not bounded:
            editor = _BigIntEditor(inner, key, owner)
        else:
            editor = _NumberEditor(inner, key, owner, integer=kind == "integer", nullable=nullable)
    elif kind == "array":
        items = _split_nullable(inner.get("items", {}), ctx.defs)[0]
        if items.get("type") == "string" and "enum" not in items:
            editor = _StringListEditor(inner, key, owner)
        elif items.get("type") == "object" and items.get("properties"):
            editor = _ListEditor(inner, key, owner, ctx, shapes=False)
        else:
            editor = _JsonEditor(inner, key, owner, template=template)
    elif kind == "object" and inner.get("properties"):
        editor = _ObjectEditor(inner, key, owner, ctx, boxed=True, title=_label(name, inner))
    elif (
        kind == "object"
        and isinstance(inner.get("additionalProperties"), dict)
        and inner["additionalProperties"].get("type") == "integer"
        and "int_keys" in hint
    ):
        editor = _IntMapEditor(inner, key, owner, hint["int_keys"], hint["int_fallback"])
    else:
        editor = _JsonEditor(
            inner, key, owner, template=template, min_lines=1 if kind is None else 2
        )
    editor.nullable = editor.nullable or nullable
    editor.required = required
    editor.control.setObjectName(editor.path)
    if "placeholder" in hint and isinstance(editor, _LineEditor):
        editor.edit.setPlaceholderText(str(hint["placeholder"]))
    return editor


# -- forms ---------------------------------------------------------------------------------------


class _DocumentForm(QWidget):
    """What both forms share: the scrolling page, the problem list, the debounce, the
    subscription to the document and the guard against feedback loops."""

    applied = Signal()
    """Emitted after this form sent an edit to the document."""

    def __init__(self, document: TreeDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self._loading = False
        self._applying = False
        self._pending: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.flush)
        self._problems: list[Problem] = []

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(self.scroll_area)
        self.page = QWidget()
        self.page.setObjectName("formPage")
        self.scroll_area.setWidget(self.page)
        self.body = QVBoxLayout(self.page)
        self.body.setContentsMargins(12, 10, 12, 12)
        self.body.setSpacing(8)

        self.heading = QLabel()
        heading_font = self.heading.font()
        heading_font.setPointSizeF(heading_font.pointSizeF() * 1.25)
        heading_font.setBold(True)
        self.heading.setFont(heading_font)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subheading = QLabel()
        self.subheading.setWordWrap(True)
        muted = self.subheading.palette()
        muted.setColor(
            QPalette.ColorRole.WindowText, muted.color(QPalette.ColorRole.PlaceholderText)
        )
        self.subheading.setPalette(muted)
        self.body.addWidget(self.heading)
        self.body.addWidget(self.subheading)

        self.problem_list = _ProblemPanel()
        self.problem_list.activated.connect(self._focus_problem)
        self.body.addWidget(self.problem_list)

        self._unsubscribe = document.subscribe(self._on_change)
        unsubscribe = self._unsubscribe
        # The callback holds the form; drop it when the widget goes, capturing only the
        # unsubscribe function (not self) so nothing calls into a deleted widget.
        self.destroyed.connect(lambda *_: unsubscribe())

    # -- layout helpers ------------------------------------------------------------------------

    def _section(self, title: str) -> QVBoxLayout:
        heading = QLabel(title)
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(heading)
        row.addWidget(line, 1)
        self.body.addSpacing(4)
        self.body.addLayout(row)
        box = QVBoxLayout()
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(6)
        self.body.addLayout(box)
        return box

    def _align_labels(self, *contexts: _Context) -> None:
        """Give every field label the width of the widest, so columns line up."""
        labels = [
            label
            for editor in self.editors()
            if isinstance(editor, _ObjectEditor)
            for label in editor._labels.values()
        ]
        width = max((label.sizeHint().width() for label in labels), default=0)
        for ctx in contexts:
            ctx.label_width = width
        for label in labels:
            label.setMinimumWidth(width)

    # -- editors -------------------------------------------------------------------------------

    def _roots(self) -> list[FieldEditor]:
        raise NotImplementedError

    def editors(self) -> Iterator[FieldEditor]:
        """Every generated field editor, depth first."""
        for root in self._roots():
            yield from root.walk()

    def editor(self, path: str) -> FieldEditor | None:
        """The editor of the field at ``path`` (``config.validation.max_items``)."""
        for editor in self.editors():
            if editor.path == path:
                return editor
        return None

    def field_widget(self, path: str) -> QWidget | None:
        """The editing widget (line edit, spin box, ...) of the field at ``path``."""
        editor = self.editor(path)
        return editor.control if editor is not None else None

    # -- applying ------------------------------------------------------------------------------

    def _schedule(self, what: str, now: bool) -> None:
        if self._loading:
            return
        self._pending.add(what)
        if now:
            self.flush()
        else:
            self._timer.start()

    def flush(self) -> None:
        """Apply any edit waiting for its debounce now."""
        self._timer.stop()
        pending, self._pending = self._pending, set()
        if not pending:
            return
        self._applying = True
        try:
            sent = self._apply(pending)
        finally:
            self._applying = False
        if sent:
            self.applied.emit()

    def _apply(self, pending: set[str]) -> bool:
        raise NotImplementedError

    def hideEvent(self, event: QHideEvent) -> None:
        self.flush()
        super().hideEvent(event)

    # -- document changes ----------------------------------------------------------------------

    def _on_change(self, change: Change) -> None:
        raise NotImplementedError

    def refresh(self) -> None:
        """Show the document's current values; sends no edits, drops pending ones."""
        self._timer.stop()
        self._pending.clear()
        self._loading = True
        try:
            self._load()
        finally:
            self._loading = False

    def _load(self) -> None:
        raise NotImplementedError

    # -- problems ------------------------------------------------------------------------------

    def _prefix(self) -> str | None:
        raise NotImplementedError

    def set_problems(self, problems: list[Problem]) -> None:
        """Show the problems under this form's prefix (the node's path in the tree): each
        in the list at the top, and under the field its path is in (the deepest field
        whose path starts the problem's path)."""
        prefix = self._prefix()
        mine: list[tuple[Problem, str]] = []
        for problem in problems:
            rest = _relative(problem.path, prefix)
            if rest is not None:
                mine.append((problem, rest))
        self._problems = [p for p, _ in mine]
        by_path = {editor.path: editor for editor in self.editors()}
        found: dict[int, list[tuple[str, str]]] = {}
        for problem, rest in mine:
            editor = _deepest(by_path, rest)
            if editor is not None:
                found.setdefault(id(editor), []).append((problem.severity, problem.message))
        self.problem_list.set_problems([(p.severity, rest, p.message) for p, rest in mine])
        for editor in by_path.values():
            editor.set_problems(found.get(id(editor), []))

    def problems(self) -> list[Problem]:
        """The problems shown now."""
        return list(self._problems)

    def _focus_problem(self, path: str) -> None:
        editor = _deepest({e.path: e for e in self.editors()}, path)
        if editor is not None:
            self.scroll_area.ensureWidgetVisible(editor.control)
            editor.control.setFocus(Qt.FocusReason.OtherFocusReason)


class _ProblemPanel(QFrame):
    """The form's problems, one wrapped line each: an icon, the field's path (a link that
    focuses the field: ``activated(path)``) and the message. Shows at most
    :attr:`LIMIT` lines and says how many more there are."""

    activated = Signal(str)
    LIMIT: ClassVar[int] = 8

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("problemPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 4, 8, 4)
        self._layout.setSpacing(2)
        self._labels: list[QLabel] = []
        self._count = 0
        self.setVisible(False)

    def set_problems(self, problems: list[tuple[str, str, str]]) -> None:
        """``(severity, path in the node, message)`` for each problem."""
        for label in self._labels:
            self._layout.removeWidget(label)
            label.deleteLater()
        self._labels = []
        self._count = len(problems)
        lines = []
        for severity, path, message in problems[: self.LIMIT]:
            colour = _ERROR_COLOUR if severity == "error" else _WARNING_COLOUR
            icon = "✖" if severity == "error" else "⚠"
            where = html.escape(path or "node")
            lines.append(
                f'<span style="color:{colour}">{icon}</span> '
                f'<a href="{html.escape(path, quote=True)}">{where}</a>: {html.escape(message)}'
            )
        if len(problems) > self.LIMIT:
            lines.append(f"… and {len(problems) - self.LIMIT} more")
        for line in lines:
            label = QLabel(line)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
            label.linkActivated.connect(self.activated)
            self._layout.addWidget(label)
            self._labels.append(label)
        self.setVisible(bool(problems))

    def count(self) -> int:
        """How many problems there are (shown or summarised)."""
        return self._count

    def texts(self) -> list[str]:
        """The lines shown, as rich text."""
        return [label.text() for label in self._labels]


def _relative(path: str, prefix: str | None) -> str | None:
    """``path`` without ``prefix`` and its dot; None when ``prefix`` does not start it."""
    if prefix is None:
        return None
    if not prefix:
        return path
    if path == prefix:
        return ""
    if path.startswith(prefix) and path[len(prefix)] in ".[":
        return path[len(prefix) :].lstrip(".")
    return None


def _deepest(by_path: dict[str, FieldEditor], path: str) -> FieldEditor | None:
    """The editor whose path is the longest one starting ``path``."""
    best: FieldEditor | None = None
    for candidate, editor in by_path.items():
        if not candidate:
            continue
        starts = path == candidate or (path.startswith(candidate) and path[len(candidate)] in ".[")
        if starts and (best is None or len(candidate) > len(best.path)):
            best = editor
    return best


_NODE_FIELDS = [
    "id",
    "title",
    "output_key",
    "required_inputs",
    "enabled",
    "cache",
    "fan_out",
    "on_error",
    "after",
    "index_output",
]
"""The node fields the form edits (what ``TreeDocument.set_fields`` accepts), in order."""

_NODE_HINTS: dict[str, dict[str, Any]] = {
    "id": {
        "apply_on_finish": True,
        "tip": "Unique in the tree. Names the node's instances and files, and its output "
        "as a template variable.",
    },
    "title": {"tip": "Shown on the canvas."},
    "enabled": {"tip": "A disabled node is skipped with its whole subtree."},
    "cache": {"tip": "Reuse a finished result with the same inputs and config."},
    "required_inputs": {"tip": "Inputs this node needs (comma-separated names)."},
    "after": {
        "tip": "Node ids (comma-separated) whose instances must all end before this node "
        "starts, e.g. a retrieval that must see what another branch indexed."
    },
    "index_output": {
        "tip": "A project index to add each output of this node to, as it lands, so later "
        "nodes can retrieve it."
    },
    "on_error": {
        "null_label": "inherit",
        "tip": "When an instance fails: continue with its siblings, or stop the run. "
        "'inherit' uses the tree's run limits.",
    },
}


class NodeForm(_DocumentForm):
    """The properties panel of one node, generated from its type's ``Config`` schema.

    ``profiles`` fills the ``profile`` field's choices (the tree's model profile names;
    :meth:`set_profiles` updates them). With ``auto_problems`` the form shows
    ``document.problems()`` itself after every change (the document caches them, so a
    host calling :meth:`set_problems` too costs nothing extra).

    Signals: ``applied()`` after an edit went to the document; ``renamed(old, new)`` when
    the node's id changed (here or by undo). When the node is removed (or undo removes
    it) the form disables itself, and comes back when the node does.
    """

    renamed = Signal(str, str)

    def __init__(
        self,
        document: TreeDocument,
        node_id: str,
        profiles: list[str],
        parent: QWidget | None = None,
        *,
        auto_problems: bool = True,
    ) -> None:
        super().__init__(document, parent)
        self.setObjectName("NodeForm")
        self.node_id = node_id
        self.auto_problems = auto_problems
        self._loaded_config: Any = None
        node = document.node(node_id)
        try:
            self.node_type: Any = document.registry.get(node.type)
        except GenarunError:
            self.node_type = None
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self._update_context)

        # Node fields, from Node's own schema.
        node_schema = Node.model_json_schema()
        node_defs = node_schema.get("$defs", {})
        node_ctx = _Context(node_defs, {"Node": _attribute_docs(Node)}, profiles)
        self.fields = _ObjectEditor(
            {**_resolve(node_schema, node_defs), "x-def": "Node"},
            "",
            None,
            node_ctx,
            boxed=False,
            hints=_NODE_HINTS,
            only=_NODE_FIELDS,
        )
        for name, editor in self.fields._fields.items():
            editor.changed.connect(lambda now, name=name: self._schedule(name, now))
        self._section("Node").addWidget(self.fields.widget)

        # The config, from the node type's schema (or as JSON when the type is unknown).
        self._config_ctx: _Context
        config_box = self._section("Config")
        if self.node_type is not None:
            model: type[BaseModel] = self.node_type.Config
            schema = model.model_json_schema()
            defs = schema.get("$defs", {})
            docs = {name: _attribute_docs(cls) for name, cls in _models_of(model).items()}
            docs[str(schema.get("title", ""))] = _attribute_docs(model)
            self._config_ctx = _Context(defs, docs, profiles)
            self.config: FieldEditor = _ObjectEditor(
                schema, "config", None, self._config_ctx, boxed=False
            )
        else:
            self._config_ctx = _Context({}, {}, profiles)
            note = QLabel(f"Unknown node type {node.type!r}: its config is edited as JSON.")
            note.setWordWrap(True)
            config_box.addWidget(note)
            self.config = _JsonEditor({"type": "object"}, "config", None, min_lines=6)
            self.config.required = True
        self.config.changed.connect(lambda now: self._schedule("config", now))
        config_box.addWidget(self.config.widget)
        self.body.addStretch(1)

        self.refresh()
        self._align_labels(node_ctx, self._config_ctx)
        self._update_context()

    # -- public --------------------------------------------------------------------------------

    def set_profiles(self, profiles: list[str]) -> None:
        """Update the choices of ``profile`` fields (the tree's model profile names)."""
        self._config_ctx.profiles = list(profiles)
        self.config.set_profiles(list(profiles))

    def node(self) -> Node | None:
        """The node as the document has it now (None when it was removed)."""
        try:
            return self.document.node(self.node_id)
        except EditError:
            return None

    # -- internals -----------------------------------------------------------------------------

    def _roots(self) -> list[FieldEditor]:
        return [self.fields, self.config]

    def _prefix(self) -> str | None:
        return node_paths(self.document.tree).get(self.node_id)

    def _load(self) -> None:
        node = self.node()
        self.page.setEnabled(node is not None)
        self._update_heading(node)
        if node is None:
            return
        type_title = self.node_type.title if self.node_type is not None else node.type
        values = node.model_dump(include=set(_NODE_FIELDS))
        self.fields.set(values)
        id_editor = self.fields.field("output_key")
        if isinstance(id_editor, _LineEditor):
            id_editor.edit.setPlaceholderText(node.id)
        title_editor = self.fields.field("title")
        if isinstance(title_editor, _LineEditor):
            title_editor.edit.setPlaceholderText(type_title)
        self.config.set(copy.deepcopy(node.config))
        # What the form makes of the unedited config (defaults dropped, shapes kept): an
        # apply that would send just this is no edit (a focus change, a no-op retype).
        self._loaded_config = self.config.get()

    def _apply(self, pending: set[str]) -> bool:
        node = self.node()
        if node is None:
            return False
        sent = False
        for name in [n for n in _NODE_FIELDS if n in pending]:
            sent = self._apply_field(name) or sent
            node = self.node() or node
        if "config" in pending:
            config = self.config.get()
            if isinstance(config, dict) and config != self._loaded_config:
                self._loaded_config = copy.deepcopy(config)
                if config != node.config:
                    self.document.set_config(self.node_id, config)
                    sent = True
        return sent

    def _apply_field(self, name: str) -> bool:
        editor = self.fields.field(name)
        node = self.node()
        if editor is None or node is None:
            return False
        if isinstance(editor, _LineEditor) and not editor.valid():
            return False  # the field shows why
        value = editor.get()
        if value is UNSET:
            value = (
                None
                if name in ("output_key", "index_output")
                else getattr(Node.model_fields[name], "default", None)
            )
        if name == "title" and value is None:
            value = ""
        if value == getattr(node, name):
            return False
        try:
            self.document.set_fields(self.node_id, **{name: value})
        except EditError as exc:
            editor.set_local_error(
                f"{exc}; the {name.replace('_', ' ')} stays {getattr(node, name)!r}"
            )
            return False
        editor.set_local_error(None)
        return True

    def _on_change(self, change: Change) -> None:
        if change.kind in ("ui", "saved"):
            return
        if change.kind == "renamed" and change.node_id == self.node_id and change.fields:
            old, self.node_id = self.node_id, change.fields[0]
            self.renamed.emit(old, self.node_id)
            if not self._applying:
                self.refresh()
        elif change.kind == "reset" or (change.node_id == self.node_id and not self._applying):
            self.refresh()
        elif change.node_id == self.node_id:
            self._update_heading(self.node())
        self._refresh_timer.start()

    def _update_heading(self, node: Node | None) -> None:
        if node is None:
            self.heading.setText(f"{self.node_id} (deleted)")
            return
        type_title = self.node_type.title if self.node_type is not None else node.type
        self.heading.setText(node.title or node.id)
        description = getattr(self.node_type, "description", "") if self.node_type else ""
        sub = f"{type_title} · {node.type}"
        self.subheading.setText(f"{sub}\n{description}" if description else sub)

    def _update_context(self) -> None:
        """The heading, known variable names for the highlighters, and the problems when
        automatic."""
        node = self.node()
        self._update_heading(node)
        if node is None:
            return
        tree = self.document.tree
        known = set(tree.inputs)
        for ancestor in tree.ancestors(self.node_id):
            known |= {ancestor.id, ancestor.key}
            if not tree.inputs:
                known |= set(ancestor.required_inputs)
        if not tree.inputs:
            known |= set(node.required_inputs)
        names = frozenset(known)
        self._config_ctx.known = names
        self.config.set_known(names)
        if self.auto_problems:
            self.set_problems(self.document.problems())


class TreeForm(_DocumentForm):
    """Tree-level settings: name, description, seed, run limits (from ``RunLimits``'
    schema: concurrency per lane as small spin boxes, retries, timeout, on_error, budget),
    and the inputs and model profiles as JSON. Each field applies through
    ``document.set_tree_fields``; a value the tree refuses is shown under its field and not
    applied.
    """

    def __init__(self, document: TreeDocument, parent: QWidget | None = None) -> None:
        super().__init__(document, parent)
        self.setObjectName("TreeForm")
        self.heading.setText("Tree")
        self.subheading.setText("Settings of the whole tree and its runs.")
        schema = Tree.model_json_schema()
        defs = schema.get("$defs", {})
        docs = {name: _attribute_docs(cls) for name, cls in _models_of(Tree).items()}
        ctx = _Context(defs, docs, [])
        limits_schema = _resolve({"$ref": "#/$defs/RunLimits"}, defs)
        fallback = RunLimits().lane_limit
        self.fields = _ObjectEditor(
            {**schema, "x-def": "Tree"},
            "",
            None,
            ctx,
            boxed=False,
            only=["name", "description", "seed"],
            hints={"seed": {"tip": "The same seed gives the same random picks and prompts."}},
        )
        self.limits = _ObjectEditor(
            limits_schema,
            "limits",
            None,
            ctx,
            boxed=False,
            hints={
                "concurrency": {
                    "int_keys": list(LANES),
                    "int_fallback": fallback,
                    "label": "Concurrency",
                    "tip": "How many calls of each lane run at once.",
                },
                "budget_usd": {"tip": "Pause the run before its cost would exceed this."},
            },
        )
        self.data = _ObjectEditor(
            {**schema, "x-def": "Tree"},
            "",
            None,
            ctx,
            boxed=False,
            only=["inputs", "models"],
            hints={
                "inputs": {"tip": "Declared inputs: name → {type, default, description}."},
                "models": {"tip": "Model profiles: name → {provider, model, params, base_url}."},
            },
        )
        for editor in (self.fields, self.data):
            for name, field in editor._fields.items():
                field.changed.connect(lambda now, name=name: self._schedule(name, now))
        self.limits.changed.connect(lambda now: self._schedule("limits", now))
        self._section("Tree").addWidget(self.fields.widget)
        self._section("Run limits").addWidget(self.limits.widget)
        self._section("Inputs and models").addWidget(self.data.widget)
        self.body.addStretch(1)
        self.refresh()
        self._align_labels(ctx)

    def _roots(self) -> list[FieldEditor]:
        return [self.fields, self.limits, self.data]

    def _prefix(self) -> str | None:
        return ""

    def set_problems(self, problems: list[Problem]) -> None:
        """Show the tree-level problems (those of no node)."""
        super().set_problems(
            [p for p in problems if p.node_id is None and not p.path.startswith("nodes")]
        )

    def _load(self) -> None:
        tree = self.document.tree
        self.fields.set({"name": tree.name, "description": tree.description, "seed": tree.seed})
        self.limits.set(tree.limits.model_dump(mode="json"))
        self.data.set(
            {
                "inputs": {
                    k: v.model_dump(mode="json", exclude_defaults=True)
                    for k, v in tree.inputs.items()
                },
                "models": {
                    k: v.model_dump(mode="json", exclude_defaults=True)
                    for k, v in tree.models.items()
                },
            }
        )

    def _editor_of(self, name: str) -> FieldEditor | None:
        if name == "limits":
            return self.limits
        return self.fields.field(name) or self.data.field(name)

    def _apply(self, pending: set[str]) -> bool:
        sent = False
        tree = self.document.tree
        for name in sorted(pending):
            editor = self._editor_of(name)
            if editor is None:
                continue
            value = editor.get()
            if value is UNSET:
                value = {"name": "", "description": "", "inputs": {}, "models": {}}.get(name)
            if name in ("name", "description") and value is None:
                value = ""
            current: Any = getattr(tree, name)
            if isinstance(current, BaseModel):
                current = current.model_dump(mode="json")
            elif isinstance(current, dict):
                current = {
                    k: v.model_dump(mode="json", exclude_defaults=True)
                    if isinstance(v, BaseModel)
                    else v
                    for k, v in current.items()
                }
            if name == "limits" and isinstance(value, dict):
                try:
                    value_cmp = RunLimits.model_validate(value).model_dump(mode="json")
                except ValidationError:
                    value_cmp = value
            else:
                value_cmp = value
            if value_cmp == current:
                editor.set_local_error(None)
                continue
            try:
                self.document.set_tree_fields(**{name: value})
            except ValidationError as exc:
                messages = [
                    f"{path.removeprefix(name).lstrip('.') or name}: {message}"
                    for path, message in pydantic_problems(exc)
                ]
                editor.set_local_error("; ".join(messages) + " (not applied)")
                continue
            except (GenarunError, ValueError) as exc:
                editor.set_local_error(f"{exc} (not applied)")
                continue
            editor.set_local_error(None)
            sent = True
        return sent

    def _on_change(self, change: Change) -> None:
        if change.kind == "reset" or (
            change.kind == "edited" and change.node_id is None and not self._applying
        ):
            self.refresh()
