"""Fixtures for node-type tests: the test HTTP server and a clean in-memory keychain."""

from __future__ import annotations

from tests.providers.conftest import isolated_keys, openai_server

__all__ = ["isolated_keys", "openai_server"]
