"""Retrieval: embedders, FAISS indexes in the project, documents, hits.

Importing this package is cheap: faiss, torch, sentence-transformers and open_clip load only
when an index is read or a model embeds (``pip install -e '.[rag]'`` in a checkout, and
``[clip]`` for images).
"""

from __future__ import annotations

from genarun_studio.rag.documents import Chunk, chunk_text
from genarun_studio.rag.embedders import DEFAULT_SPEC, Embedder, canonical_spec, make_embedder
from genarun_studio.rag.errors import MissingExtra, RagError
from genarun_studio.rag.store import AddReport, Hit, IndexInfo, IndexStore

__all__ = [
    "DEFAULT_SPEC",
    "AddReport",
    "Chunk",
    "Embedder",
    "Hit",
    "IndexInfo",
    "IndexStore",
    "MissingExtra",
    "RagError",
    "canonical_spec",
    "chunk_text",
    "make_embedder",
]
