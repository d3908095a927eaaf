"""Provider instances for a run, made from model profiles (``mock``, ``openai``, ...)."""

from __future__ import annotations

from collections.abc import Callable

from genarun_studio.core.tree import ModelProfile
from genarun_studio.errors import ProviderError
from genarun_studio.providers.base import Provider

__all__ = ["ProviderFactory", "ProviderSet", "builtin_factories"]

ProviderFactory = Callable[[ModelProfile], Provider]
"""Makes a provider for a profile (its ``base_url`` and ``key_name`` matter, not its model)."""


def _mock(profile: ModelProfile) -> Provider:
    from genarun_studio.providers.mock import MockProvider

    return MockProvider()


def builtin_factories() -> dict[str, ProviderFactory]:
    factories: dict[str, ProviderFactory] = {"mock": _mock}
    try:
        from genarun_studio.providers.openai import openai_factory
    except ImportError:  # the openai provider module is not there yet
        return factories
    factories["openai"] = openai_factory
    return factories


class ProviderSet:
    """Creates each provider on first use and closes them all at the end of a run.

    Profiles that share provider, ``base_url`` and ``key_name`` share one provider (one
    connection pool). With ``mock=True`` every profile is answered by the mock provider,
    whatever it names: that is how a tree runs offline, at no cost, before any key exists.
    """

    def __init__(
        self,
        factories: dict[str, ProviderFactory] | None = None,
        *,
        mock: bool = False,
        mock_provider: Provider | None = None,
    ) -> None:
        self.factories = factories if factories is not None else builtin_factories()
        self.mock = mock
        self._mock_provider = mock_provider
        self._live: dict[tuple[str, str | None, str | None], Provider] = {}

    def get(self, profile: ModelProfile) -> Provider:
        if self.mock or profile.provider == "mock":
            if self._mock_provider is None:
                self._mock_provider = _mock(profile)
            return self._mock_provider
        ident = (profile.provider, profile.base_url, profile.key_name)
        if ident not in self._live:
            factory = self.factories.get(profile.provider)
            if factory is None:
                known = ", ".join(sorted(self.factories))
                raise ProviderError(
                    f"unknown provider {profile.provider!r} (known: {known}); "
                    "run with --mock to try the tree offline"
                )
            self._live[ident] = factory(profile)
        return self._live[ident]

    async def aclose(self) -> None:
        for provider in self._live.values():
            await provider.aclose()
        self._live.clear()
