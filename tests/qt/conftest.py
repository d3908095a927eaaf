"""Qt tests run offscreen (no display needed) with pytest-qt's ``qtbot``."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")  # NodeGraphQt's Qt.py shim
