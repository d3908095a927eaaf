"""Fixtures shared by every test: keychains for the code that reads API keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.keyring_memory import MemoryKeyring, NoKeyring, installed


@pytest.fixture
def key_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real key from the machine's environment may leak into (or out of) a test."""
    import os

    for var in list(os.environ):
        if var.endswith("_API_KEY"):  # list_keys shows every such variable
            monkeypatch.delenv(var)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An empty in-memory OS keychain for the test."""
    backend = MemoryKeyring()
    with installed(backend):
        yield backend


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """A machine with no keychain backend (as on a headless Linux)."""
    with installed(NoKeyring()):
        yield


@pytest.fixture(autouse=True)
def isolated_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the machine's user config (model profiles)."""
    monkeypatch.setenv("GENARUN_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
