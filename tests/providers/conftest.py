"""Fixtures for provider tests: the OpenAI-compatible test server and a clean key setup.

Every test here runs with an in-memory keychain and without the ``OPENAI_*`` variables of
the machine, so a developer's real key can never be read, sent to the test server or
recorded by it.
"""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from tests.keyring_memory import MemoryKeyring
from tests.providers.openai_server import OpenAIServer, running_server

_OPENAI_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENAI_ADMIN_KEY",
    "OPENAI_CUSTOM_HEADERS",
    "OPENAI_WEBHOOK_SECRET",
)


@pytest.fixture(autouse=True)
def isolated_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """An empty in-memory keychain and no ``OPENAI_*`` environment variables."""
    for name in _OPENAI_ENV:
        monkeypatch.delenv(name, raising=False)
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A running :class:`OpenAIServer` on 127.0.0.1, stopped after the test."""
    with running_server() as server:
        yield server
