"""The "Test call" window: run one node on its own and show the request and the response.

It runs the node through :func:`~genarun_studio.engine.trycall.try_node` on the qasync loop
(ancestors from the project's cache, the node itself called afresh) and shows the report the
CLI's ``genarun api test`` prints: the model's fill, the request with secrets as ``***``,
the response and the output. With the toolbar's Mock switch on, nothing is sent.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6 import QtGui, QtWidgets

from genarun_studio.engine.trycall import TryResult, try_node
from genarun_studio.errors import GenarunError

if TYPE_CHECKING:
    from genarun_studio.core.tree import Tree
    from genarun_studio.engine.engine import Engine

__all__ = ["ApiTestDialog"]


class ApiTestDialog(QtWidgets.QDialog):
    """Shows one test call; "Call again" repeats it with the tree as it was given."""

    def __init__(
        self,
        engine: Engine,
        tree: Tree,
        node_id: str,
        inputs: dict[str, Any],
        *,
        mock: bool,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.engine = engine
        self.tree = tree.model_copy(deep=True)
        self.node_id = node_id
        self.inputs = dict(inputs)
        self.mock = mock
        self.outcome: TryResult | None = None
        self._task: asyncio.Task[None] | None = None
        self.setWindowTitle(f"Test call: {node_id}")
        self.resize(760, 560)
        layout = QtWidgets.QVBoxLayout(self)
        where = "offline, mock: nothing is sent" if mock else "live: the request is sent"
        self.status = QtWidgets.QLabel(f"{node_id} ({where})")
        layout.addWidget(self.status)
        self.text = QtWidgets.QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.text, 1)
        buttons = QtWidgets.QDialogButtonBox()
        self.call_button = buttons.addButton(
            "Call again", QtWidgets.QDialogButtonBox.ButtonRole.ActionRole
        )
        self.call_button.clicked.connect(self.start)
        close = buttons.addButton(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.close)
        layout.addWidget(buttons)

    def start(self) -> None:
        """Make the call (again) on the running event loop."""
        if self._task is not None and not self._task.done():
            return
        self.call_button.setEnabled(False)
        self.text.setPlainText("calling…")
        self._task = asyncio.ensure_future(self._call())

    async def _call(self) -> None:
        try:
            self.outcome = await try_node(
                self.engine, self.tree, self.node_id, self.inputs, mock=self.mock
            )
        except GenarunError as exc:
            self.text.setPlainText(f"cannot test {self.node_id}: {exc}")
        else:
            self.text.setPlainText(self.outcome.report())
            self.status.setText(
                f"{self.node_id}: run {self.outcome.run_id}"
                + (" (mock: nothing was sent)" if self.outcome.mock else "")
            )
        finally:
            self.call_button.setEnabled(True)

    async def wait(self) -> None:
        if self._task is not None:
            await self._task
