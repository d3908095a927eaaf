"""Settings: API keys (to the OS keychain through ``secrets.py``, never to a settings file)
and the user's model profiles (``profiles.json`` in the user config folder: endpoints, models
and key *names*, never keys)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from PySide6 import QtWidgets

from genarun_studio import secrets
from genarun_studio.core.tree import ModelProfile
from genarun_studio.errors import GenarunError
from genarun_studio.profiles import (
    BUILTIN_PROFILES,
    ProfilesError,
    load_profiles,
    profiles_path,
    save_profiles,
)

__all__ = ["PROFILE_COLUMNS", "ProfilesEditor", "SettingsDialog"]

PROFILE_COLUMNS = ("name", "provider", "model", "base URL", "key name", "params (JSON)")


class ProfilesEditor(QtWidgets.QWidget):
    """The user's model profiles as an editable table; Save validates and writes them."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel(
            "Profiles every tree can use. A tree's own profiles come first, then these, then "
            "the built-in ones (text, image, embed on OpenAI). The base URL points a profile "
            "at any OpenAI-compatible server (Ollama: http://localhost:11434/v1); the key "
            "name says which stored key it sends."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QtWidgets.QTableWidget(0, len(PROFILE_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(PROFILE_COLUMNS))
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table)
        buttons = QtWidgets.QHBoxLayout()
        for text, slot in (
            ("Add", self.add_row),
            ("Remove", self.remove_row),
            ("Save profiles", self.save),
        ):
            button = QtWidgets.QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.load()

    def load(self) -> None:
        try:
            profiles = load_profiles()
        except ProfilesError as exc:
            self.message.setText(f"{exc} — fix or replace it by saving here.")
            profiles = {}
        shown = profiles or dict(BUILTIN_PROFILES)  # a starting point to edit
        self.table.setRowCount(0)
        for name, profile in sorted(shown.items()):
            self.add_row(name, profile)
        if not profiles and not self.message.text():
            self.message.setText(f"Built-in profiles shown; Save writes {profiles_path()}.")

    def add_row(self, name: str = "", profile: ModelProfile | None = None) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        values = ("", "openai", "", "", "", "")
        if profile is not None:
            values = (
                name,
                profile.provider,
                profile.model,
                profile.base_url or "",
                profile.key_name or "",
                json.dumps(profile.params) if profile.params else "",
            )
        for col, text in enumerate(values):
            self.table.setItem(row, col, QtWidgets.QTableWidgetItem(text))

    def remove_row(self) -> None:
        for row in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)

    def profiles(self) -> dict[str, ModelProfile]:
        """The table as profiles; raises ValueError naming the row and what is wrong."""
        result: dict[str, ModelProfile] = {}
        for row in range(self.table.rowCount()):
            cells = [
                (item.text().strip() if (item := self.table.item(row, col)) else "")
                for col in range(len(PROFILE_COLUMNS))
            ]
            name, provider, model, base_url, key_name, params = cells
            if not any(cells[:1] + cells[2:]):
                continue  # an empty row
            if not name:
                raise ValueError(f"row {row + 1}: the profile needs a name")
            if name in result:
                raise ValueError(f"row {row + 1}: a second profile named {name!r}")
            fields: dict[str, Any] = {"provider": provider or "openai", "model": model}
            if base_url:
                fields["base_url"] = base_url
            if key_name:
                fields["key_name"] = key_name
            if params:
                try:
                    fields["params"] = json.loads(params)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{name}: params are not JSON ({exc.msg})") from None
            try:
                result[name] = ModelProfile.model_validate(fields)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"])
                raise ValueError(f"{name}: {where}: {err['msg']}") from None
        return result

    def save(self) -> bool:
        try:
            path = save_profiles(self.profiles())
        except (ValueError, ProfilesError) as exc:
            self.message.setText(str(exc))
            return False
        self.message.setText(f"Saved in {path}.")
        return True


class SettingsDialog(QtWidgets.QDialog):
    """API keys (masked; stored in or deleted from the keychain) and model profiles."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(760, 420)
        outer = QtWidgets.QVBoxLayout(self)
        self.tabs = QtWidgets.QTabWidget()
        outer.addWidget(self.tabs)
        keys_page = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(keys_page)
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
        for button in (store, delete):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.tabs.addTab(keys_page, "API keys")
        self.profiles = ProfilesEditor()
        self.tabs.addTab(self.profiles, "Model profiles")
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.accept)
        outer.addWidget(close)
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
