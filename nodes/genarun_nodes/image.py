"""Image generation: the prompt's turns joined into one image prompt, the image saved as an
asset of the run, the output its path relative to the run folder (with ``n`` > 1: an array
of ``n`` paths, e.g. for a person to pick the best of them)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from genarun_nodes.prompts import PromptConfig, render_turns
from genarun_studio.core.nodetype import NodeContext, NodeType, Plan, endpoint_of
from genarun_studio.providers.base import ImageRequest, OutputShape

__all__ = ["ImageConfig", "ImageNode"]


class ImageConfig(PromptConfig):
    profile: str = "image"
    size: str = "1024x1024"
    quality: str | None = None
    n: int = Field(1, ge=1, le=10)
    """How many images (one call each); more than one gives an array of paths."""


class ImageNode(NodeType[ImageConfig]):
    type_id: ClassVar[str] = "image"
    title: ClassVar[str] = "Image"
    category: ClassVar[str] = "Generate"
    description: ClassVar[str] = "Generate an image; the output is its path in assets/."
    lane: ClassVar[str] = "image"
    Config = ImageConfig
    calls_model: ClassVar[bool] = True

    def plan(self, ctx: NodeContext, config: ImageConfig) -> Plan:
        profile = ctx.profile(config.profile)
        turns = render_turns(ctx, config.prompt)
        plan: Plan = {
            "profile": config.profile,
            "provider": profile.provider,
            "endpoint": endpoint_of(profile),
            "model": config.model or profile.model,
            "params": {**profile.params, **config.params},
            "prompt": "\n\n".join(t["user"] for t in turns),
            "size": config.size,
            "quality": config.quality,
        }
        if config.n > 1:  # only then: plans (and cache signatures) of single images unchanged
            plan["n"] = config.n
        return plan

    def output_shape(self, config: ImageConfig) -> OutputShape:
        if config.n > 1:
            return OutputShape(kind="string-array", min_items=config.n, max_items=config.n)
        return OutputShape(kind="text")

    async def run(self, ctx: NodeContext, config: ImageConfig, plan: Plan) -> Any:
        n = int(plan.get("n", 1))
        paths = []
        for k in range(n):
            response = await ctx.image(
                ImageRequest(
                    prompt=plan["prompt"],
                    model=plan["model"],
                    size=plan["size"],
                    quality=plan["quality"],
                    params=plan["params"],
                    seed_key="image" if k == 0 else f"image-{k + 1}",
                ),
                profile=plan["profile"],
            )
            paths.append(ctx.save_asset(response.data, response.extension))
        return paths if n > 1 else paths[0]
