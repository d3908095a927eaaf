"""Provider instances for a run, by the name a model profile gives (``mock``, ``openai``)."""

from __future__ import annotations

from collections.abc import Callable

from genarun_studio.errors import ProviderError
from genarun_studio.providers.base import Provider

__all__ = ["ProviderSet", "builtin_factories"]

ProviderFactory = Callable[[], Provider]


def _mock() -> Provider:
    from genarun_studio.providers.mock import MockProvider

    return MockProvider()


def builtin_factories() -> dict[str, ProviderFactory]:
    return {"mock": _mock}


class ProviderSet:
    """Creates each provider on first use and closes them all at the end of a run.

    With ``mock=True`` every profile is answered by the mock provider, whatever it names:
    that is how a tree runs offline, at no cost, before any key is entered.
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
        self._live: dict[str, Provider] = {}

    def get(self, name: str) -> Provider:
        if self.mock:
            if self._mock_provider is None:
                self._mock_provider = _mock()
            return self._mock_provider
        if name not in self._live:
            factory = self.factories.get(name)
            if factory is None:
                known = ", ".join(sorted(self.factories))
                raise ProviderError(
                    f"unknown provider {name!r} (known: {known}); "
                    "run with --mock to try the tree offline"
                )
            self._live[name] = factory()
        return self._live[name]

    async def aclose(self) -> None:
        for provider in self._live.values():
            await provider.aclose()
        self._live.clear()
