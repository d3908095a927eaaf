"""Settings: API keys (to the OS keychain through ``secrets.py``, never to a settings file)."""

from __future__ import annotations

from PySide6 import QtWidgets

from genarun_studio import secrets
from genarun_studio.errors import GenarunError

__all__ = ["SettingsDialog"]


class SettingsDialog(QtWidgets.QDialog):
    """Lists stored keys (masked) and stores or deletes one. Model profiles (base URL,
    models) belong to each tree: edit them in the tree's properties."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings — API keys")
        self.resize(520, 320)
        layout = QtWidgets.QVBoxLayout(self)
        self.table = QtWidgets.QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["name", "source", "key"])
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table)
        form = QtWidgets.QFormLayout()
        self.name = QtWidgets.QLineEdit("openai")
        self.key = QtWidgets.QLineEdit()
        self.key.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("paste the key; it goes to the OS keychain")
        form.addRow("Provider / key name", self.name)
        form.addRow("API key", self.key)
        layout.addLayout(form)
        buttons = QtWidgets.QHBoxLayout()
        store = QtWidgets.QPushButton("Store key")
        store.clicked.connect(self.store)
        delete = QtWidgets.QPushButton("Delete key")
        delete.clicked.connect(self.delete)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.accept)
        for button in (store, delete, close):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.refresh()

    def refresh(self) -> None:
        keys = secrets.list_keys()
        self.table.setRowCount(len(keys))
        for row, info in enumerate(keys):
            for col, text in enumerate((info.name, info.source, info.masked)):
                self.table.setItem(row, col, QtWidgets.QTableWidgetItem(text))

    def store(self) -> None:
        try:
            secrets.set_key(self.name.text().strip(), self.key.text())
        except GenarunError as exc:
            self.message.setText(str(exc))
            return
        finally:
            self.key.clear()
        self.message.setText(f"Stored the key for {self.name.text().strip()} in the keychain.")
        self.refresh()

    def delete(self) -> None:
        try:
            existed = secrets.delete_key(self.name.text().strip())
        except GenarunError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText("Deleted." if existed else "There was no stored key by that name.")
        self.refresh()
