"""The two forms: :class:`NodeForm` (one node) and :class:`TreeForm` (tree settings), built
on :class:`_DocumentForm` (page, problem list, debounce, document subscription).
"""

from __future__ import annotations

import copy
import html
from collections.abc import Iterator
from typing import Any, ClassVar, Final

from pydantic import BaseModel, ValidationError
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QHideEvent,
    QPalette,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from genarun_studio.core.document import Change, EditError, TreeDocument
from genarun_studio.core.jsonpath import pydantic_problems
from genarun_studio.core.tree import LANES, Node, RunLimits, Tree
from genarun_studio.core.validate import Problem, node_paths
from genarun_studio.errors import GenarunError
from genarun_studio.qt.forms.composite import _ObjectEditor
from genarun_studio.qt.forms.editors import FieldEditor, _Context, _JsonEditor, _LineEditor
from genarun_studio.qt.forms.schema import UNSET, _attribute_docs, _models_of, _resolve
from genarun_studio.qt.forms.widgets import _ERROR_COLOUR, _WARNING_COLOUR

DEBOUNCE_MS: Final = 300
"""Quiet time after the last keystroke before a text edit is applied."""


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
