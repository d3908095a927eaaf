"""Project indexes with the real offline MiniLM: semantic ranking, incremental adds,
removal by source, rebuild, and the whole corpus at once."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from genarun_studio.rag import Chunk, IndexStore, RagError, canonical_spec
from genarun_studio.rag.embedders import SentenceTransformerEmbedder

CORPUS = {
    "pets.md": "# Pets\nCats are small furry animals that purr, nap in the sun and chase mice.",
    "finance.txt": "The central bank raised interest rates and the stock market fell sharply.",
    "volcano.md": "A volcano erupts when molten rock, ash and gases escape from the earth's crust.",
    "cooking.txt": "Knead the dough, let it rise for an hour, then bake the bread until golden.",
    "space.md": "The telescope photographed a distant galaxy full of young, bright stars.",
}
QUERIES = {
    "my kitten keeps hunting mice": "notes/pets.md",
    "shares dropped after the rate hike": "notes/finance.txt",
    "lava flowing down a mountain": "notes/volcano.md",
    "how to make a loaf in the oven": "notes/cooking.txt",
    "astronomers observing the universe": "notes/space.md",
}


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    for name, text in CORPUS.items():
        (folder / name).write_text(text)
    return folder


async def test_minilm_ranks_the_matching_note_first(
    tmp_path: Path, notes: Path, minilm: SentenceTransformerEmbedder
) -> None:
    store = IndexStore(tmp_path)
    report = await store.add_files("notes", [notes])
    assert (report.added, report.files, report.count) == (5, 5, 5)
    for query, expected in QUERIES.items():
        hits = await store.query("notes", query, k=3)
        assert hits[0].source == expected, query
        assert (hits[0].score or 0) > (hits[1].score or 0)
    info = store.info("notes")
    assert (info.embedder, info.dim, info.count, info.kind) == ("minilm", 384, 5, "flat")


async def test_vectors_are_unit_length_and_match_sentence_transformers(
    minilm: SentenceTransformerEmbedder,
) -> None:
    texts = ["a sentence", "another one"]
    ours = await minilm.embed_texts(texts)
    direct = minilm.load().encode(texts, normalize_embeddings=True)
    assert ours.dtype == np.float32
    assert ours.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(ours, direct, rtol=1e-5, atol=1e-6)


async def test_adding_again_skips_unchanged_and_replaces_changed_files(
    tmp_path: Path, notes: Path, minilm: SentenceTransformerEmbedder
) -> None:
    store = IndexStore(tmp_path)
    await store.add_files("notes", [notes])
    again = await store.add_files("notes", [notes])
    assert (again.added, again.unchanged, again.count) == (0, 5, 5)

    pets = notes / "pets.md"
    pets.write_text("Dogs are loyal animals that love long walks and playing fetch.")
    os.utime(pets, ns=(pets.stat().st_atime_ns, pets.stat().st_mtime_ns + 10**9))
    changed = await store.add_files("notes", [notes])
    assert (changed.added, changed.replaced, changed.unchanged, changed.count) == (1, 1, 4, 5)
    hits = await store.query("notes", "a puppy playing with a ball", k=1)
    assert "Dogs" in (hits[0].text or "")


async def test_an_interrupted_add_keeps_the_files_it_finished(
    tmp_path: Path, notes: Path, minilm: SentenceTransformerEmbedder
) -> None:
    store = IndexStore(tmp_path)
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 2:
            raise KeyboardInterrupt  # what Ctrl-C (or a kill) does between two batches

    with pytest.raises(KeyboardInterrupt):
        await store.add_files("notes", [notes], batch=1, progress=progress)
    assert seen == [(1, 5), (2, 5)]
    assert store.info("notes").count == 2  # two batches were saved, and stay
    seen.clear()
    again = await store.add_files(
        "notes", [notes], batch=2, progress=lambda done, total: seen.append((done, total))
    )
    assert (again.added, again.unchanged, again.count) == (3, 2, 5)
    assert seen == [(4, 5), (5, 5)]  # the two files kept were skipped, the rest in 2 batches


async def test_remove_by_source_and_whole_index(
    tmp_path: Path, notes: Path, minilm: SentenceTransformerEmbedder
) -> None:
    store = IndexStore(tmp_path)
    await store.add_files("notes", [notes])
    assert await store.remove_source("notes", str(notes / "pets.md")) == 1
    hits = await store.query("notes", "my kitten keeps hunting mice", k=5)
    assert "notes/pets.md" not in [h.source for h in hits]
    assert len(hits) == 4
    store.remove("notes")
    assert store.names() == []
    with pytest.raises(RagError, match="no index 'notes'"):
        await store.query("notes", "anything")


async def test_rebuild_keeps_entries_and_results(
    tmp_path: Path, notes: Path, minilm: SentenceTransformerEmbedder
) -> None:
    store = IndexStore(tmp_path)
    await store.add_files("notes", [notes])
    before = [h.source for h in await store.query("notes", "lava flowing", k=5)]
    revision = store.revision("notes")
    assert await store.rebuild("notes") == 5
    assert store.revision("notes") == (revision or 0) + 1
    assert [h.source for h in await store.query("notes", "lava flowing", k=5)] == before


async def test_texts_are_added_once_and_everything_comes_in_order(
    tmp_path: Path, minilm: SentenceTransformerEmbedder
) -> None:
    store = IndexStore(tmp_path)
    chunks = [Chunk(text=t, source="run:x#a") for t in ("alpha beta", "gamma delta")]
    first = await store.add_chunks("mem", chunks, extra={"run": "x"})
    second = await store.add_chunks("mem", chunks)
    assert (first.added, second.added, second.unchanged) == (2, 0, 2)
    everything = await store.everything("mem")
    assert [h.text for h in everything] == ["alpha beta", "gamma delta"]
    assert all(h.score is None for h in everything)
    scored = await store.everything("mem", "gamma")
    assert all(h.score is not None for h in scored)
    assert everything[0].to_json() == {
        "score": None,
        "source": "run:x#a",
        "text": "alpha beta",
        "id": "1",
        "run": "x",
    }


async def test_an_index_keeps_its_model(tmp_path: Path, notes: Path, minilm: object) -> None:
    store = IndexStore(tmp_path)
    await store.add_files("notes", [notes], model="all-MiniLM-L6-v2")
    assert store.info("notes").embedder == "minilm"
    with pytest.raises(RagError, match="was built with minilm, not st:other-model"):
        await store.add_files("notes", [notes], model="other-model")
    (notes / "x.png").write_bytes(b"")
    with pytest.raises(RagError, match="is an image, and this index holds text"):
        await store.add_files("notes", [notes / "x.png"])


async def test_a_damaged_faiss_file_is_named_and_a_rebuild_mends_it(
    tmp_path: Path, notes: Path, minilm: SentenceTransformerEmbedder
) -> None:
    store = IndexStore(tmp_path)
    await store.add_files("notes", [notes])
    (vectors,) = (tmp_path / ".genarun" / "indexes" / "notes").glob("vectors-*.faiss")
    vectors.write_bytes(vectors.read_bytes()[:100])  # a disk that lost the file's end
    with pytest.raises(RagError, match=r"damaged .*rebuild it \(genarun index rebuild notes\)"):
        store.info("notes")
    assert await store.rebuild("notes") == 5  # the entries hold every text
    hits = await store.query("notes", "my kitten keeps hunting mice", k=1)
    assert hits[0].source == "notes/pets.md"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (None, "minilm"),
        ("sentence-transformers/all-MiniLM-L6-v2", "minilm"),
        ("st:BAAI/bge-small-en", "st:BAAI/bge-small-en"),
        ("BAAI/bge-small-en", "st:BAAI/bge-small-en"),
        ("clip", "clip:ViT-B-32/laion2b_s34b_b79k"),
        ("clip:ViT-L-14/openai", "clip:ViT-L-14/openai"),
        ("openai:text-embedding-3-small", "openai:text-embedding-3-small"),
    ],
)
def test_model_specs_are_stored_in_one_form(given: str | None, stored: str) -> None:
    assert canonical_spec(given) == stored


def test_bad_index_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RagError, match=r"index name '\.\./x' is not valid"):
        IndexStore(tmp_path).path_of("../x")


async def test_a_failed_first_add_leaves_no_empty_index(tmp_path: Path) -> None:
    store = IndexStore(tmp_path)
    with pytest.raises(RagError, match="could not load the CLIP weights"):
        await store.add_chunks(
            "stills", [Chunk(text="x", source="s")], model=f"clip:ViT-B-32/{tmp_path / 'no.bin'}"
        )
    assert store.names() == []


async def test_a_loaded_index_is_reused_until_another_writer_saves(
    tmp_path: Path, minilm: SentenceTransformerEmbedder
) -> None:
    reader, writer = IndexStore(tmp_path), IndexStore(tmp_path)
    await writer.add_chunks("n", [Chunk(text="the first note", source="a")])
    first = reader.open("n")
    assert reader.open("n") is first  # unchanged on disk: no second read
    await writer.add_chunks("n", [Chunk(text="a second note", source="b")])
    assert len(reader.open("n")) == 2
    assert len(await reader.query("n", "note", k=5)) == 2
    writer.remove("n")
    await writer.add_chunks("n", [Chunk(text="a new index", source="c")])
    assert [h.text for h in await reader.query("n", "note", k=5)] == ["a new index"]
