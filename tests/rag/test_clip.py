"""CLIP code paths on a tiny randomly initialised open_clip model: shapes, persistence,
text→image and image→text (random weights: no assertion on meaning)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genarun_studio.rag import Chunk, IndexStore, RagError, make_embedder
from genarun_studio.rag.embedders import ClipEmbedder
from tests.rag.conftest import TINY_CLIP_DIM, write_images


async def test_texts_and_images_share_one_space(
    tiny_clip: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    embedder = make_embedder(tiny_clip)
    assert isinstance(embedder, ClipEmbedder)
    assert embedder.modalities == {"text", "image"}
    images = write_images(tmp_path, ["red", "green", "blue"], size=(50, 20))
    text_vectors = await embedder.embed_texts(["a red square", "a green one"])
    image_vectors = await embedder.embed_images(images)
    assert text_vectors.shape == (2, TINY_CLIP_DIM)
    assert image_vectors.shape == (3, TINY_CLIP_DIM)
    # random weights were asked for: open_clip's warning that they are random is not shown
    assert "initialized randomly" not in caplog.text
    assert image_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(image_vectors, axis=1), 1.0, rtol=1e-5)
    # deterministic: the same model gives the same vector for the same image
    np.testing.assert_allclose(
        await embedder.embed_images(images[:1]), image_vectors[:1], rtol=1e-4, atol=1e-6
    )


async def test_random_weights_are_the_same_in_every_process(tiny_clip: str, tmp_path: Path) -> None:
    # two embedders made apart stand for two processes: an index made by one is queried
    # by the other, so their random weights must agree
    import torch

    arch, _, pretrained = tiny_clip.removeprefix("clip:").partition("/")
    first = ClipEmbedder(arch, pretrained)
    vector = await first.embed_texts(["a red square"])
    torch.manual_seed(1234)  # whatever the global generator holds
    second = ClipEmbedder(arch, pretrained)
    np.testing.assert_allclose(await second.embed_texts(["a red square"]), vector, atol=1e-6)


async def test_an_image_index_persists_and_answers_both_ways(
    tiny_clip: str, tmp_path: Path
) -> None:
    store = IndexStore(tmp_path)
    images = write_images(tmp_path / "stills", ["red", "green", "blue", "white"])
    report = await store.add_files("stills", [tmp_path / "stills"], model=tiny_clip)
    assert (report.added, report.count) == (4, 4)
    await store.add_chunks("stills", [Chunk(text="a caption about the sea", source="captions.txt")])

    reopened = IndexStore(tmp_path)  # a fresh store reads everything from disk
    info = reopened.info("stills")
    assert (info.embedder, info.dim, info.count) == (tiny_clip, TINY_CLIP_DIM, 5)
    assert info.modalities == ["image", "text"]

    # text → image
    hits = await reopened.query("stills", "the title of the video", k=3, kinds=("image",))
    assert len(hits) == 3
    assert all(h.asset is not None for h in hits)
    assert {Path(h.asset or "").name for h in hits} <= {p.name for p in images}
    assert hits[0].to_json()["asset"] == hits[0].asset

    # image → image: an image is nearest to itself
    same = await reopened.query("stills", image=images[2], k=1, kinds=("image",))
    assert Path(same[0].asset or "").name == images[2].name
    assert same[0].score == pytest.approx(1.0, abs=1e-4)

    # image → text
    texts = await reopened.query("stills", image=images[0], k=2, kinds=("text",))
    assert [h.text for h in texts] == ["a caption about the sea"]
    assert texts[0].to_json()["text"] == "a caption about the sea"


async def test_a_kind_filter_finds_a_rare_kind_among_many(tiny_clip: str, tmp_path: Path) -> None:
    # one image among 100 captions: a kind filter looks past its first wide window
    store = IndexStore(tmp_path)
    (image,) = write_images(tmp_path / "stills", ["red"])
    await store.add_files("stills", [tmp_path / "stills"], model=tiny_clip)
    captions = [Chunk(text=f"caption number {i} of a long list", source="c") for i in range(100)]
    await store.add_chunks("stills", captions)
    for query in ("caption number 5", "a red square"):
        hits = await store.query("stills", query, k=3, kinds=("image",))
        assert [Path(h.asset or "").name for h in hits] == [image.name]
    texts = await store.query("stills", image=image, k=70, kinds=("text",))
    assert len(texts) == 70
    assert all(h.text for h in texts)


async def test_a_text_index_refuses_images(tmp_path: Path, minilm: object, tiny_clip: str) -> None:
    store = IndexStore(tmp_path)
    await store.add_chunks("notes", [Chunk(text="hello", source="x")])
    image = write_images(tmp_path, ["red"])[0]
    with pytest.raises(RagError, match="cannot embed images"):
        await store.query("notes", image=image)


async def test_unknown_clip_models_and_unreachable_weights_are_named(tmp_path: Path) -> None:
    image = write_images(tmp_path, ["red"])[0]
    with pytest.raises(RagError, match="open_clip knows no model 'no-such-arch'") as unknown:
        await make_embedder("clip:no-such-arch/random").embed_images([image])
    assert len(str(unknown.value)) < 400  # not open_clip's list of all its models
    with pytest.raises(RagError, match=r"did you mean ViT-B-32"):
        await make_embedder("clip:ViT-B-3/random").embed_texts(["x"])
    with pytest.raises(RagError, match=r"could not load the CLIP weights .*no such checkpoint"):
        await make_embedder(f"clip:ViT-B-32/{tmp_path / 'missing.bin'}").embed_texts(["x"])
    with pytest.raises(RagError, match="no pretrained weights 'no-such-tag' for ViT-B-32"):
        await make_embedder("clip:ViT-B-32/no-such-tag").embed_texts(["x"])


_OFFLINE = """
import asyncio
from genarun_studio.rag import make_embedder
try:
    asyncio.run(make_embedder("clip:ViT-B-32/laion2b_s34b_b79k").embed_texts(["x"]))
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def test_weights_out_of_reach_fail_at_once_saying_so(tmp_path: Path) -> None:
    # the hub is a closed port on this machine and the cache is empty: without the quick
    # check, huggingface_hub would retry for most of a minute and log every attempt
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "HF_ENDPOINT": f"http://127.0.0.1:{port}",
        "HF_HOME": str(tmp_path / "hf"),
    }
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HF_HUB_OFFLINE"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", _OFFLINE], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.stdout.startswith("RagError could not load the CLIP weights"), done.stdout
    assert "127.0.0.1 cannot be reached (no network?)" in done.stdout
    assert "clip:ARCH//path/to/weights.bin" in done.stdout
    assert "Retrying" not in done.stderr
    assert "Failed to download" not in done.stderr
