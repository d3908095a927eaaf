"""API keys: the only place they are read or written.

Keys live in the OS keychain through ``keyring`` (service ``genarun``), entered with
``genarun keys set NAME`` or the editor's settings. Where no key is stored, the standard
environment variable is used (``OPENAI_API_KEY`` for ``openai``, ``<NAME>_API_KEY`` for
others). A headless machine often has no keychain backend: reading then falls back to the
environment quietly, and storing says so clearly. Keys never reach tree files, run folders,
logs, events or error messages; :func:`redact` scrubs any text that might hold one.

Key names are case-insensitive (``OpenAI`` is ``openai``): a letter, then up to 31 letters,
digits, ``_``, ``.`` or ``-``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Literal
from urllib.parse import quote, quote_plus

from genarun_studio.errors import GenarunError

__all__ = [
    "SERVICE",
    "KeyInfo",
    "KeychainUnavailable",
    "check_name",
    "delete_key",
    "echoed_forms",
    "env_var",
    "get_key",
    "keychain_available",
    "known_secrets",
    "list_keys",
    "mask",
    "no_keychain",
    "redact",
    "set_key",
]

SERVICE = "genarun"
_INDEX = "__names__"
_MAX_NAME = 32
_NAME = re.compile(rf"[a-z][a-z0-9_.-]{{0,{_MAX_NAME - 1}}}")
_ENV_KEY = re.compile(r"([A-Z][A-Z0-9_]*)_API_KEY")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MASK_MIN = 20
"""Shorter values are masked completely: showing 7 characters of them would give too much."""
_seen: set[str] = set()
"""Every key value handed out in this process, for :func:`redact`."""


class KeychainUnavailable(GenarunError):
    """The OS keychain cannot be used on this machine."""


@dataclass(frozen=True)
class KeyInfo:
    name: str
    source: Literal["keychain", "environment"]
    masked: str
    env_var: str


def env_var(name: str) -> str:
    """The environment variable read for a key: ``openai`` → ``OPENAI_API_KEY``."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_API_KEY"


def check_name(name: str) -> str:
    """``name`` normalised (lower case); GenarunError when it cannot name a key."""
    norm = name.lower()
    if _NAME.fullmatch(norm) is None or norm == _INDEX:
        # A long "name" may be a key pasted in the wrong place: never repeat it.
        shown = f"{name!r} " if len(name) <= _MAX_NAME else ""
        raise GenarunError(
            f"key name {shown}must be a letter followed by at most {_MAX_NAME - 1} letters, "
            "digits, '_', '.' or '-' (e.g. openai)"
        )
    return norm


def _keyring() -> ModuleType:
    import keyring

    return keyring


def _errors() -> tuple[type[BaseException], ...]:
    from keyring.errors import KeyringError

    # NoKeyringError is also a RuntimeError; OSError covers file-based backends.
    return (KeyringError, RuntimeError, OSError)


def no_keychain(name: str) -> KeychainUnavailable:
    """The error for storing ``name``'s key where there is no keychain (it names the
    environment variable to use instead)."""
    from keyring.errors import NoKeyringError

    return _unavailable(NoKeyringError(), name)


def _unavailable(exc: BaseException, name: str) -> KeychainUnavailable:
    from keyring.errors import InitError, NoKeyringError

    if isinstance(exc, NoKeyringError | InitError):
        what = "no OS keychain is available on this machine"
    else:  # e.g. KeyringLocked: there is a keychain but it refused
        what = f"the OS keychain could not be used ({type(exc).__name__})"
    return KeychainUnavailable(
        f"{what}; set the environment variable {env_var(name)} instead, "
        "or install a keyring backend (see https://pypi.org/project/keyring)"
    )


def _stored(name: str) -> str | None:
    try:
        value: str | None = _keyring().get_password(SERVICE, name)
    except _errors():
        return None
    return (value.strip() or None) if value else None


def _from_env(name: str) -> str | None:
    return os.environ.get(env_var(name), "").strip() or None


def keychain_available() -> bool:
    """Whether the OS keychain can be read here (False on a headless machine without one)."""
    try:
        _keyring().get_password(SERVICE, _INDEX)
    except _errors():
        return False
    return True


def get_key(name: str) -> str | None:
    """The key for ``name``: the keychain's, else the environment's, else None."""
    name = check_name(name)
    value = _stored(name) or _from_env(name)
    if value:
        _seen.add(value)
    return value


def _names() -> list[str]:
    raw = _stored(_INDEX)
    try:
        names = json.loads(raw) if raw else []
    except json.JSONDecodeError:
        names = []
    if not isinstance(names, list):
        return []
    return [n for n in names if isinstance(n, str) and _NAME.fullmatch(n)]


def set_key(name: str, value: str) -> None:
    """Store a key in the keychain; raises KeychainUnavailable when there is none."""
    name = check_name(name)
    value = value.strip()
    if not value:
        raise GenarunError("an empty key cannot be stored")
    if _CONTROL.search(value):
        raise GenarunError(
            "the key contains a line break or control character; give it on one line"
        )
    kr = _keyring()
    try:
        kr.set_password(SERVICE, name, value)
        names = _names()
        if name not in names:
            kr.set_password(SERVICE, _INDEX, json.dumps(sorted({*names, name})))
    except _errors() as exc:
        raise _unavailable(exc, name) from None
    _seen.add(value)


def delete_key(name: str) -> bool:
    """Remove a stored key; returns whether there was one (an environment key stays)."""
    name = check_name(name)
    from keyring.errors import PasswordDeleteError

    kr = _keyring()
    try:
        try:
            kr.delete_password(SERVICE, name)
            existed = True
        except PasswordDeleteError:
            existed = False
        names = _names()
        if name in names:
            kr.set_password(SERVICE, _INDEX, json.dumps([n for n in names if n != name]))
    except _errors() as exc:
        raise _unavailable(exc, name) from None
    return existed


def mask(value: str) -> str:
    """``sk-…wxyz`` style: enough to recognise a key, never enough to use it.

    Values shorter than 20 characters give ``****`` (not even their length).
    """
    if len(value) < _MASK_MIN:
        return "****"
    return f"{value[:3]}…{value[-4:]}"


def list_keys(extra_names: tuple[str, ...] = ("openai",)) -> list[KeyInfo]:
    """Stored keys, plus ``extra_names`` and every ``NAME_API_KEY`` variable found in the
    environment; values masked."""
    names = {*_names(), *(check_name(n) for n in extra_names)}
    covered = {env_var(n) for n in names}
    for var in os.environ:
        found = _ENV_KEY.fullmatch(var)
        if found and var not in covered and _NAME.fullmatch(found[1].lower()):
            names.add(found[1].lower())  # MY_PROVIDER_API_KEY → my_provider
    result: list[KeyInfo] = []
    for name in sorted(names):
        stored = _stored(name)
        if stored:
            result.append(KeyInfo(name, "keychain", mask(stored), env_var(name)))
        elif (from_env := _from_env(name)) is not None:
            result.append(KeyInfo(name, "environment", mask(from_env), env_var(name)))
    return result


def known_secrets() -> set[str]:
    """Every key value this process has read or stored (for scrubbing text)."""
    return set(_seen)


_B64_MIN = 8
"""Shorter encoded pieces are not scrubbed: they would match ordinary words."""


def _base64_forms(value: str) -> set[str]:
    """``value`` as base64 and base64url (with and without padding), and the part of its
    encoding that is the same wherever it sits in a longer encoded text (``user:KEY`` in
    a Basic-auth header, a JSON document with the key in it): for each of the three
    alignments, the characters that hold only the key's bits."""
    import base64

    raw = value.encode("utf-8")
    forms: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode("ascii")
        start = -(-8 * shift // 6)  # the first character without a bit of the padding
        stop = 8 * (shift + len(raw)) // 6  # past the last one complete in the key's bits
        core = encoded[start:stop]
        if shift == 0:
            forms |= {encoded, encoded.rstrip("=")}
        forms.add(core)
    forms |= {f.replace("+", "-").replace("/", "_") for f in forms}
    forms |= {f.replace("/", "\\/") for f in forms}  # JSON may escape the slash
    return {f for f in forms if len(f) >= _B64_MIN}


@lru_cache(maxsize=256)
def echoed_forms(value: str) -> frozenset[str]:
    """A secret as text may carry it: as it is, URL-encoded, JSON-escaped (``/`` as
    ``\\/``), and base64 / base64url encoded, alone or inside a longer encoding."""
    if len(value) < 4:
        return frozenset()
    forms = {
        value,
        quote(value, safe=""),
        quote_plus(value),
        json.dumps(value)[1:-1],
        value.replace("/", "\\/"),
        *_base64_forms(value),
    }
    return frozenset(f for f in forms if f)


def redact(text: str, secrets: set[str] | None = None) -> str:
    """``text`` with every known key value (``secrets``, else every key this process read
    or stored) replaced by ``***``, in each of its :func:`echoed_forms`. This is the one
    scrubber: answers, logs and error messages all go through it."""
    forms: set[str] = set()
    for secret in secrets if secrets is not None else _seen:
        forms |= echoed_forms(secret)
    # Longest first: a key that contains another must not be left half-replaced.
    for form in sorted(forms, key=len, reverse=True):
        if form in text:
            text = text.replace(form, "***")
    return text
