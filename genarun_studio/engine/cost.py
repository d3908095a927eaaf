"""What calls cost: actual cost from the usage each response reports × a pricing table, and
estimates for dry runs and budgets.

The table is ``resources/pricing.json`` (per model: ``input_per_1m`` / ``output_per_1m`` USD
per million tokens; images by size and quality), with ``<project>/.genarun/pricing.json``
entries winning over it. A model the table does not know costs 0 and is reported once as
unpriced, so a missing price never stops a run but is never silent either.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from genarun_studio.providers.base import ChatRequest, ImageRequest, Usage
from genarun_studio.resources import resource_path

__all__ = ["DEFAULT_OUTPUT_TOKENS", "Pricing"]

DEFAULT_OUTPUT_TOKENS = {
    "text": 500,
    "string-array": 150,
    "object": 300,
    "object-array": 600,
    "json": 300,
}
"""Output tokens assumed by an estimate when the request sets no ``max_tokens``."""


class Pricing:
    def __init__(self, models: dict[str, dict[str, Any]]) -> None:
        self.models = models
        self.unpriced: set[str] = set()

    @classmethod
    def load(cls, project_root: Path | None = None) -> Pricing:
        """The shipped table, overridden by the project's ``.genarun/pricing.json``."""
        models: dict[str, dict[str, Any]] = {}
        for path in (
            resource_path("pricing.json"),
            project_root / ".genarun" / "pricing.json" if project_root else None,
        ):
            if path is not None and path.is_file():
                data = json.loads(path.read_text(encoding="utf-8"))
                models.update(data.get("models", {}))
        return cls(models)

    def _entry(self, model: str) -> dict[str, Any] | None:
        entry = self.models.get(model)
        if entry is None:
            # dated snapshots ("gpt-4o-mini-2024-07-18") and vendor prefixes ("openai/gpt-4o")
            base = model.rsplit("/", 1)[-1]
            candidates = [m for m in self.models if base == m or base.startswith(m + "-")]
            entry = self.models[max(candidates, key=len)] if candidates else None
        if entry is None:
            self.unpriced.add(model)
        return entry

    def cost(
        self, model: str, usage: Usage, *, size: str | None = None, quality: str | None = None
    ) -> float:
        """USD for ``usage`` on ``model`` (0 for models without a price)."""
        entry = self._entry(model)
        if entry is None:
            return 0.0
        total = (
            usage.input_tokens * float(entry.get("input_per_1m", 0.0))
            + usage.output_tokens * float(entry.get("output_per_1m", 0.0))
        ) / 1e6
        if usage.images:
            total += usage.images * self.image_price(entry, size, quality)
        return total

    @staticmethod
    def image_price(entry: dict[str, Any], size: str | None, quality: str | None) -> float:
        images: dict[str, dict[str, float]] = entry.get("images", {})
        if not images:
            return float(entry.get("per_image", 0.0))
        by_quality = images.get(size or "") or next(iter(images.values()))
        if quality and quality in by_quality:
            return float(by_quality[quality])
        return float(by_quality.get("default", max(by_quality.values(), default=0.0)))

    def estimate_chat(self, request: ChatRequest) -> tuple[Usage, float]:
        """Tokens and USD a chat request will likely use (about 4 characters a token)."""
        chars = sum(len(m.content) for m in request.messages)
        max_tokens = request.params.get("max_tokens") or request.params.get("max_completion_tokens")
        out = (
            int(max_tokens)
            if isinstance(max_tokens, int)
            else DEFAULT_OUTPUT_TOKENS.get(request.shape.kind, 500)
        )
        if request.shape.max_items or request.shape.min_items:
            out = max(out, 60 * (request.shape.max_items or request.shape.min_items or 1))
        usage = Usage(
            input_tokens=math.ceil(chars / 4) + 4 * len(request.messages), output_tokens=out
        )
        return usage, self.cost(request.model, usage)

    def estimate_image(self, request: ImageRequest) -> tuple[Usage, float]:
        usage = Usage(images=1)
        return usage, self.cost(request.model, usage, size=request.size, quality=request.quality)
