"""Property forms generated from pydantic JSON Schemas: one node's panel and the tree's.

The package: :mod:`.schema` (Qt-free JSON-Schema helpers), :mod:`.widgets` (small widgets),
:mod:`.editors` (one editor per value), :mod:`.composite` (models, lists, and the schema →
editor mapping), :mod:`.forms` (the forms), :mod:`.highlight` (template colouring).

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

from genarun_studio.qt.forms.editors import FieldEditor
from genarun_studio.qt.forms.forms import DEBOUNCE_MS, NodeForm, TreeForm
from genarun_studio.qt.forms.schema import UNSET

__all__ = ["DEBOUNCE_MS", "UNSET", "FieldEditor", "NodeForm", "TreeForm"]
