"""Composite field editors (a model's rows, a repeatable list of objects) and :func:`_build`,
the mapping from a schema to its editor (see :mod:`genarun_studio.qt.forms`).
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.qt.forms.editors import (
    FieldEditor,
    _BigIntEditor,
    _BoolEditor,
    _Context,
    _EnumEditor,
    _IntMapEditor,
    _JsonEditor,
    _LineEditor,
    _NumberEditor,
    _ProfileEditor,
    _StringListEditor,
    _TextEditor,
)
from genarun_studio.qt.forms.schema import (
    _LONG_TEXT,
    UNSET,
    _label,
    _list_variant,
    _resolve,
    _split_nullable,
    _tooltip,
)


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
    """The editor for one schema (the mapping is drawn in :mod:`genarun_studio.qt.forms`)."""
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
