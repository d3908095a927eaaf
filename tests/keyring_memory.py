"""In-memory keyring backends for tests (no OS keychain is touched).

``MemoryKeyring`` keeps passwords in a dict; ``NoKeyring`` behaves like a headless Linux
machine without a keychain: every call raises ``keyring.errors.NoKeyringError``. Neither is
ever chosen by keyring's automatic backend selection (``viable = False``): a test installs
one with ``installed(backend)`` (or the ``memory_keyring`` / ``no_keyring`` fixtures of
``tests/conftest.py``), which restores the previous backend afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import NoKeyringError, PasswordDeleteError

__all__ = ["MemoryKeyring", "NoKeyring"]


class MemoryKeyring(KeyringBackend):
    """A keychain in a dict: ``passwords[(service, username)] = password``."""

    priority = 1
    viable = False  # test-only: keyring must never pick it by itself

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring's is untyped
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise PasswordDeleteError(f"no password for {username!r} in {service!r}") from None


class NoKeyring(KeyringBackend):
    """A machine without a keychain: every call raises NoKeyringError."""

    priority = 0
    viable = False  # test-only: keyring must never pick it by itself

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring's is untyped

    def get_password(self, service: str, username: str) -> str | None:
        raise NoKeyringError("No recommended backend was available (test NoKeyring)")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NoKeyringError("No recommended backend was available (test NoKeyring)")

    def delete_password(self, service: str, username: str) -> None:
        raise NoKeyringError("No recommended backend was available (test NoKeyring)")


@contextlib.contextmanager
def installed(backend: KeyringBackend) -> Iterator[None]:
    """Use ``backend`` as the keychain inside the block, then restore the previous one."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield
    finally:
        keyring.set_keyring(previous)
