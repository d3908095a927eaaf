"""A light stand-in for the ``Qt.py`` module that NodeGraphQt imports.

``Qt.py`` makes one API out of PySide2 / PyQt5 / PySide6 by copying hundreds of members of
every Qt module into modules of its own at import. On PySide6 that copying creates every
lazily built enum and class wrapper: ~0.2 s of the editor's cold start (``python -X
importtime``), for a binding we already know. This module is installed as ``Qt`` before
NodeGraphQt is imported (only when nothing imported the real one first) and gives NodeGraphQt
what it uses: PySide6's modules, plus the few classes Qt.py moves from QtGui to QtWidgets
for Qt 5 code (``QAction``, ``QUndoStack``, ``QUndoCommand``).

``distutils.version`` is the other slow import of NodeGraphQt (two ``LooseVersion``
comparisons of the Qt version): setuptools' distutils shim loads setuptools for it, ~0.08 s.
A small ``LooseVersion`` is given in its place while NodeGraphQt is imported, and taken
away again after, so that nothing else ever sees a stand-in ``distutils``.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import sys
import types
from collections.abc import Iterator
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["nodegraphqt_imports"]


def _module(name: str, base: types.ModuleType, extra: dict[str, Any]) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(extra)

    def __getattr__(attr: str) -> Any:  # anything else: PySide6's own member, kept after
        value = getattr(base, attr)  # its first use (NodeGraphQt looks enums up per event)
        setattr(module, attr, value)
        return value

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


def _binding_module(name: str) -> types.ModuleType:
    if not name.startswith("Qt"):
        raise AttributeError(name)
    return importlib.import_module(f"PySide6.{name}")


class LooseVersion:
    """The comparison NodeGraphQt makes of version strings (``"6.9.1" >= "5.10"``)."""

    def __init__(self, version: str) -> None:
        self.version = [int(p) if p.isdigit() else p for p in re.split(r"[.\-+_]", version) if p]

    def _key(self) -> list[Any]:
        return [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.version]

    def __ge__(self, other: LooseVersion) -> bool:
        return self._key() >= other._key()

    def __lt__(self, other: LooseVersion) -> bool:
        return self._key() < other._key()


@contextlib.contextmanager
def nodegraphqt_imports() -> Iterator[None]:
    """Import NodeGraphQt inside this block: with the stand-ins, unless the real modules are
    already loaded (then they are used)."""
    if "Qt" not in sys.modules:
        moved = {n: getattr(QtGui, n) for n in ("QAction", "QUndoStack", "QUndoCommand")}
        shim = types.ModuleType("Qt")
        shim.__dict__.update(
            QtCore=QtCore,
            QtGui=QtGui,
            QtWidgets=_module("Qt.QtWidgets", QtWidgets, moved),
            # Qt.py's Qt 4/5 compatibility calls: on PySide6, its own methods
            QtCompat=types.SimpleNamespace(QHeaderView=QtWidgets.QHeaderView),
            __binding__="PySide6",
            __qt_version__=QtCore.qVersion(),
            IsPySide6=True,
            IsPySide2=False,
            IsPyQt5=False,
            IsPyQt4=False,
            IsPySide=False,
        )
        shim.__getattr__ = _binding_module  # type: ignore[method-assign]  # QtSvg...
        sys.modules["Qt"] = shim
    stand_in = "distutils" not in sys.modules
    if stand_in:
        package = types.ModuleType("distutils")
        package.__path__ = []
        version = types.ModuleType("distutils.version")
        version.LooseVersion = LooseVersion  # type: ignore[attr-defined]
        package.version = version  # type: ignore[attr-defined]
        sys.modules.update({"distutils": package, "distutils.version": version})
    try:
        yield
    finally:
        if stand_in:
            del sys.modules["distutils.version"], sys.modules["distutils"]
