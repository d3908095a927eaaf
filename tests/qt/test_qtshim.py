"""The stand-ins NodeGraphQt is imported with (a faster cold start): what it needs is there,
and nothing of them is left where other code would find it."""

from __future__ import annotations

import os
import subprocess
import sys

from genarun_studio.qt._qtshim import LooseVersion

PROBE = """
import sys
import genarun_studio.qt.canvas as canvas
qt = sys.modules["Qt"]
print(qt.__binding__, qt.QtWidgets.QAction.__module__, "distutils" in sys.modules)
print(canvas.NodeGraph.__module__)
"""


def test_nodegraphqt_imports_with_the_stand_ins_and_they_leave_no_distutils() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    assert out == ["PySide6", "PySide6.QtGui", "False", "NodeGraphQt.base.graph"]


def test_loose_version_orders_qt_versions_as_nodegraphqt_compares_them() -> None:
    assert LooseVersion("6.9.1") >= LooseVersion("5.10")
    assert LooseVersion("5.9") < LooseVersion("5.10")
    assert not LooseVersion("5.9.2") >= LooseVersion("5.10")
    assert LooseVersion("6.10.0-rc1") >= LooseVersion("6.10.0")
