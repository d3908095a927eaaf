"""Retrieval node types: ``rag-index`` adds to a project index, ``rag-query`` reads from one.

Both need ``pip install -e '.[rag]'`` in a checkout (and ``[clip]`` for image indexes); without
it the instance fails with that command in its message. An index lives in the project
(``.genarun/indexes/<name>/``), so later runs, the CLI and the editor see what a run added.
The index's revision is part of a query's plan: a query is taken from the cache only while
the index is unchanged. ``rag-index`` is never taken from the cache (adding is its effect).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from genarun_studio.core.nodetype import NodeContext, NodeType, Plan, template_field
from genarun_studio.core.tree import ID_PATTERN
from genarun_studio.providers.base import OutputShape

__all__ = ["RagIndexConfig", "RagIndexNode", "RagQueryConfig", "RagQueryNode"]


def _store(ctx: NodeContext) -> Any:
    from genarun_studio.rag import IndexStore

    return IndexStore(ctx.project_dir)


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


class RagIndexConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: str = Field(pattern=ID_PATTERN)
    """The project index to add to (made on first use)."""
    texts: Any = Field(None, json_schema_extra=template_field())
    """Text or list of texts from the context, e.g. ``${articles}``."""
    files: list[str] = Field(default_factory=list, json_schema_extra=template_field())
    """Files or folders (text, Markdown, PDF; images for a CLIP index), relative to the
    project folder."""
    images: Any = Field(None, json_schema_extra=template_field())
    """Image paths from the context (a run's ``assets/...``) for a CLIP index."""
    model: str | None = None
    """Embedding model of a new index: ``minilm`` (default), ``clip``, ``st:NAME``,
    ``openai:MODEL``."""
    tags: list[str] = Field(default_factory=list)
    chunk_size: int = Field(1000, ge=50, le=100_000)
    overlap: int = Field(150, ge=0, le=50_000)


class RagIndexNode(NodeType[RagIndexConfig]):
    type_id: ClassVar[str] = "rag-index"
    title: ClassVar[str] = "Index"
    category: ClassVar[str] = "Retrieval"
    description: ClassVar[str] = "Add texts, files or images to a project index."
    lane: ClassVar[str] = "local"
    cacheable: ClassVar[bool] = False
    """Adding is its effect: a cached result would not put back what a removed index lost.
    Running again is cheap (content and files already in the index are skipped)."""
    Config = RagIndexConfig

    def output_shape(self, config: RagIndexConfig) -> OutputShape:
        return OutputShape(kind="object", required=["index", "added", "count"])

    def plan(self, ctx: NodeContext, config: RagIndexConfig) -> Plan:
        rendered = _as_list(ctx.render_value(config.texts))
        texts = [t if isinstance(t, str) else json.dumps(t, ensure_ascii=False) for t in rendered]
        images = [str(i) for i in _as_list(ctx.render_value(config.images))]
        return {
            "index": config.index,
            "texts": texts,
            "files": [ctx.render(f) for f in config.files],
            "images": images,
            "model": config.model,
            "tags": config.tags,
            "chunk_size": config.chunk_size,
            "overlap": config.overlap,
        }

    async def run(self, ctx: NodeContext, config: RagIndexConfig, plan: Plan) -> Any:
        from genarun_studio.rag import Chunk, chunk_text

        store = _store(ctx)
        source = f"run:{ctx.run_id}#{ctx.instance_key}"
        added = unchanged = 0
        count = 0
        chunks: list[Chunk] = []
        for text in plan["texts"]:
            for piece in chunk_text(text, plan["chunk_size"], plan["overlap"]):
                chunks.append(Chunk(text=piece, source=source, position=len(chunks)))
        for image in plan["images"]:
            path = Path(image)
            if not path.is_absolute():
                inside_run = ctx.run_dir / path
                path = inside_run if inside_run.is_file() else ctx.project_dir / path
            chunks.append(Chunk(text=None, source=source, asset=store.relative(path)))
        for chunk in chunks:
            chunk.tags = list(plan["tags"])
        extra = {"run": ctx.run_id, "instance": ctx.instance_key}
        if chunks:
            report = await store.add_chunks(
                plan["index"], chunks, model=plan["model"], extra=extra, embed=ctx.embed
            )
            added, unchanged, count = report.added, report.unchanged, report.count
        if plan["files"]:
            paths = [
                p if p.is_absolute() else ctx.project_dir / p for p in map(Path, plan["files"])
            ]
            report = await store.add_files(
                plan["index"],
                paths,
                model=plan["model"],
                tags=plan["tags"],
                chunk_size=plan["chunk_size"],
                overlap=plan["overlap"],
                embed=ctx.embed,
            )
            added += report.added
            unchanged += report.unchanged
            count = report.count
        ctx.log(f"added {added} piece(s) to {plan['index']!r} ({unchanged} already there)")
        return {"index": plan["index"], "added": added, "count": count}


class RagQueryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: str = Field(pattern=ID_PATTERN)
    query: str = Field("", json_schema_extra=template_field())
    """What to look for; ``${...}`` from the context."""
    k: int = Field(5, ge=1, le=1000)
    """How many hits (top-k mode)."""
    mode: Literal["top_k", "everything"] = "top_k"
    """``everything``: the whole index, in the order it was added, while it holds at most
    ``max_chars`` characters of text (else the top ``k``, with a warning)."""
    max_chars: int = Field(200_000, ge=1)
    kind: Literal["any", "text", "image"] = "any"
    """Which hits to keep: texts, images (CLIP indexes) or both."""
    min_score: float | None = Field(None, ge=-1, le=1)
    """Drop hits less similar than this (cosine similarity)."""
    separator: str = "\n\n---\n\n"
    """Between the hits' texts in the output's ``text``."""

    @model_validator(mode="after")
    def _query_needed(self) -> RagQueryConfig:
        if self.mode == "top_k" and not self.query.strip():
            raise ValueError("a top_k query needs a 'query' template")
        return self


class RagQueryNode(NodeType[RagQueryConfig]):
    type_id: ClassVar[str] = "rag-query"
    title: ClassVar[str] = "Retrieve"
    category: ClassVar[str] = "Retrieval"
    description: ClassVar[str] = (
        "Find the texts or images of a project index nearest to a query; the output has "
        "'hits' (score, source, text or asset), 'text' (the texts joined) and 'images'."
    )
    lane: ClassVar[str] = "local"
    Config = RagQueryConfig

    def output_shape(self, config: RagQueryConfig) -> OutputShape:
        return OutputShape(kind="object", required=["query", "hits", "text", "images"])

    def plan(self, ctx: NodeContext, config: RagQueryConfig) -> Plan:
        return {
            "index": config.index,
            "revision": _store(ctx).version(config.index),
            "query": ctx.render(config.query) if config.query else "",
            "k": config.k,
            "mode": config.mode,
            "max_chars": config.max_chars,
            "kind": config.kind,
            "min_score": config.min_score,
        }

    async def run(self, ctx: NodeContext, config: RagQueryConfig, plan: Plan) -> Any:
        store = _store(ctx)
        name, query = plan["index"], plan["query"]
        kinds = ("text", "image") if plan["kind"] == "any" else (plan["kind"],)
        hits: list[Any] = []
        if plan["revision"] is None:
            ctx.log(f"index {name!r} does not exist yet: no hits", "warning")
        elif plan["mode"] == "everything":
            hits = await store.everything(name, query or None, embed=ctx.embed)
            hits = [h for h in hits if (h.entry.get("kind") or "text") in kinds]
            size = sum(len(h.text or "") for h in hits)
            if size > plan["max_chars"]:
                ctx.log(
                    f"index {name!r} holds {size} characters, over max_chars "
                    f"({plan['max_chars']}): taking the top {plan['k']} hits instead",
                    "warning",
                )
                hits = []
                if query.strip():
                    hits = await store.query(name, query, k=plan["k"], kinds=kinds, embed=ctx.embed)
        else:
            hits = await store.query(name, query, k=plan["k"], kinds=kinds, embed=ctx.embed)
        if plan["min_score"] is not None:
            hits = [h for h in hits if h.score is None or h.score >= plan["min_score"]]
        return {
            "query": query,
            "hits": [h.to_json() for h in hits],
            "text": config.separator.join(h.text for h in hits if h.text),
            "images": [h.asset for h in hits if h.asset],
        }
