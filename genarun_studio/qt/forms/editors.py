"""Field editors: one :class:`FieldEditor` per schema value, for scalars, strings, lists of
strings, JSON and integer maps. The composite editors (objects, lists) and the mapping from
schema to editor are in :mod:`.composite`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import (
    QRegularExpressionValidator,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.qt.forms.highlight import TemplateHighlighter
from genarun_studio.qt.forms.schema import UNSET
from genarun_studio.qt.forms.widgets import (
    _ERROR_COLOUR,
    _INT_MAX,
    _INT_MIN,
    _WARNING_COLOUR,
    _ComboBox,
    _DoubleSpinBox,
    _monospace,
    _prepare_spin,
    _SpinBox,
    _TextEdit,
)

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
