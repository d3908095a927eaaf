"""The settings dialog: API keys to the keychain, model profiles to the user config."""

from __future__ import annotations

from typing import Any

from PySide6 import QtWidgets

from genarun_studio import secrets
from genarun_studio.core.tree import ModelProfile
from genarun_studio.profiles import load_profiles, save_profiles
from genarun_studio.qt.dialogs.settings import SettingsDialog
from tests.keyring_memory import MemoryKeyring


def set_cell(table: QtWidgets.QTableWidget, row: int, col: int, text: str) -> None:
    table.setItem(row, col, QtWidgets.QTableWidgetItem(text))


def test_profiles_tab_shows_edits_and_saves_profiles(qtbot: Any, memory_keyring: Any) -> None:
    save_profiles({"text": ModelProfile(model="gpt-4.1-mini")})
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    editor = dialog.profiles
    table = editor.table
    assert table.rowCount() == 1
    assert table.item(0, 2).text() == "gpt-4.1-mini"
    editor.add_row()
    for col, text in enumerate(("local", "openai", "llama3.2", "http://localhost:11434/v1")):
        set_cell(table, 1, col, text)
    set_cell(table, 1, 5, '{"temperature": 0.3}')
    assert editor.save()
    saved = load_profiles()
    assert saved["local"].base_url == "http://localhost:11434/v1"
    assert saved["local"].params == {"temperature": 0.3}
    assert saved["text"].model == "gpt-4.1-mini"


def test_a_bad_profile_row_is_refused_with_its_reason(qtbot: Any, memory_keyring: Any) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    editor = dialog.profiles
    assert editor.table.rowCount() == 3  # the built-in profiles, as a starting point
    editor.add_row()
    set_cell(editor.table, 3, 0, "broken")
    set_cell(editor.table, 3, 2, "m")
    set_cell(editor.table, 3, 5, "{nope")
    assert not editor.save()
    assert "broken: params are not JSON" in editor.message.text()
    assert load_profiles() == {}
    set_cell(editor.table, 3, 0, "text")
    set_cell(editor.table, 3, 5, "")
    assert not editor.save()
    assert "a second profile named 'text'" in editor.message.text()


def test_keys_tab_stores_a_key_in_the_keychain_and_shows_it_masked(
    qtbot: Any, memory_keyring: MemoryKeyring
) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    key = "sk-test-0123456789abcdefghijklmnop"
    dialog.name.setText("openai")
    dialog.key.setText(key)
    dialog.store()
    assert dialog.key.text() == ""
    assert secrets.get_key("openai") == key
    shown = [dialog.table.item(0, c).text() for c in range(3)]
    assert shown[:2] == ["openai", "keychain"]
    assert key not in shown[2]
