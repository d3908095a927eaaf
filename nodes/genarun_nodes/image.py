"""Image generation: the prompt's turns joined into one image prompt, the image saved as an
asset of the run, the output its path relative to the run folder."""

from __future__ import annotations

from typing import Any, ClassVar

from genarun_nodes.prompts import PromptConfig, render_turns
from genarun_studio.core.nodetype import NodeContext, NodeType, Plan, endpoint_of
from genarun_studio.providers.base import ImageRequest, OutputShape

__all__ = ["ImageConfig", "ImageNode"]


class ImageConfig(PromptConfig):
    profile: str = "image"
    size: str = "1024x1024"
    quality: str | None = None


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
        return {
            "profile": config.profile,
            "provider": profile.provider,
            "endpoint": endpoint_of(profile),
            "model": config.model or profile.model,
            "params": {**profile.params, **config.params},
            "prompt": "\n\n".join(t["user"] for t in turns),
            "size": config.size,
            "quality": config.quality,
        }

    def output_shape(self, config: ImageConfig) -> OutputShape:
        return OutputShape(kind="text")

    async def run(self, ctx: NodeContext, config: ImageConfig, plan: Plan) -> Any:
        response = await ctx.image(
            ImageRequest(
                prompt=plan["prompt"],
                model=plan["model"],
                size=plan["size"],
                quality=plan["quality"],
                params=plan["params"],
                seed_key="image",
            ),
            profile=plan["profile"],
        )
        return ctx.save_asset(response.data, response.extension)
