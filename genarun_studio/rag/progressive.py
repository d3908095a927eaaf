"""Progressive indexing: a run adds a node's outputs to a project index as they land.

A node with ``index_output: NAME`` has each of its outputs added to the index ``NAME``
before the instance counts as finished, so a node that waits for it (``after:``) finds it.
Texts are chunked; a string that is the path of an image in the run's ``assets/`` is added
as that image (CLIP indexes); lists add each item; objects add their JSON text. Content
already in the index is not added again (a rerun or a cached result adds nothing new).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genarun_studio.core.nodetype import NodeContext
from genarun_studio.core.tree import Node
from genarun_studio.rag.documents import IMAGE_SUFFIXES, Chunk, chunk_text
from genarun_studio.rag.errors import RagError
from genarun_studio.rag.store import AddReport, IndexStore

__all__ = ["chunks_of_output", "index_output"]


def chunks_of_output(
    output: Any, *, run_dir: Path, source: str, size: int = 1000, overlap: int = 150
) -> list[Chunk]:
    """The pieces of an output worth indexing, in order."""
    items = output if isinstance(output, list) else [output]
    chunks: list[Chunk] = []
    for item in items:
        if item is None or item == "":
            continue
        if isinstance(item, str):
            candidate = run_dir / item
            if (
                Path(item).suffix.lower() in IMAGE_SUFFIXES
                and not Path(item).is_absolute()
                and ".." not in Path(item).parts
                and candidate.is_file()
            ):
                chunks.append(Chunk(text=None, source=source, asset=str(candidate)))
                continue
            text = item
        else:
            text = json.dumps(item, ensure_ascii=False)
        for piece in chunk_text(text, size, overlap):
            chunks.append(Chunk(text=piece, source=source, position=len(chunks)))
    return chunks


async def index_output(ctx: NodeContext, node: Node, output: Any) -> AddReport:
    """Add ``output`` of the instance ``ctx`` runs to the index ``node.index_output``."""
    name = node.index_output
    if not name:
        return AddReport()
    store = IndexStore(ctx.project_dir)
    source = f"run:{ctx.run_id}#{ctx.instance_key}"
    chunks = chunks_of_output(output, run_dir=ctx.run_dir, source=source)
    if not chunks:
        return AddReport()
    has_images = any(c.asset is not None for c in chunks)
    model = None
    if not store.exists(name) and has_images:
        model = "clip"
    elif has_images and "image" not in store.open(name).modalities:
        ctx.log(f"index {name!r} holds text only: the image output is not indexed", "warning")
        chunks = [c for c in chunks if c.asset is None]
    for chunk in chunks:
        if chunk.asset is not None:
            chunk.asset = store.relative(Path(chunk.asset))
    try:
        report = await store.add_chunks(
            name,
            chunks,
            model=model,
            extra={"run": ctx.run_id, "node": node.id, "instance": ctx.instance_key},
            embed=ctx.embed,
        )
    except RagError as exc:
        raise RagError(f"could not index the output into {name!r}: {exc}") from None
    ctx.log(
        f"indexed {report.added} new piece(s) of the output into {name!r} "
        f"({report.count} in the index)"
    )
    return report
