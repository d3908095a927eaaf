"""Property forms generated from pydantic JSON Schemas (see :mod:`.forms`)."""

from __future__ import annotations

from genarun_studio.qt.forms.forms import DEBOUNCE_MS, UNSET, FieldEditor, NodeForm, TreeForm

__all__ = ["DEBOUNCE_MS", "UNSET", "FieldEditor", "NodeForm", "TreeForm"]
