"""The FAISS index on disk: save / load round trip, exact then HNSW, removal, crash safety."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genarun_studio.rag import index as index_module
from genarun_studio.rag.errors import RagError
from genarun_studio.rag.index import VectorIndex


def _unit(rows: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _entries(n: int, start: int = 0) -> list[dict[str, object]]:
    return [
        {"kind": "text", "text": f"t{start + i}", "source": f"s{(start + i) % 3}"} for i in range(n)
    ]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    vectors = _unit(30)
    index = VectorIndex.create(tmp_path / "ix", "ix", "minilm", ["text"])
    index.add(vectors, _entries(30))
    index.save()
    before = [(round(s, 5), e["text"]) for s, e in index.search(vectors[7], 5)]

    again = VectorIndex.open(tmp_path / "ix")
    assert len(again) == 30
    assert again.dim == 8
    assert again.kind == "flat"
    assert again.revision == 1
    after = [(round(s, 5), e["text"]) for s, e in again.search(vectors[7], 5)]
    assert after == before
    assert after[0] == (1.0, "t7")
    assert [e["id"] for e in again.entries[:3]] == ["1", "2", "3"]
    files = sorted(p.name for p in (tmp_path / "ix").iterdir())
    assert files == ["entries-000001.jsonl", "manifest.json", "vectors-000001.faiss"]


def test_large_indexes_switch_to_hnsw_and_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "EXACT_LIMIT", 40)
    vectors = _unit(60, seed=1)
    index = VectorIndex.create(tmp_path / "ix", "ix", "minilm", ["text"])
    index.add(vectors[:30], _entries(30))
    assert index.kind == "flat"
    index.add(vectors[30:], _entries(30, start=30))
    assert index.kind == "hnsw"
    index.save()
    again = VectorIndex.open(tmp_path / "ix")
    assert again.kind == "hnsw"
    assert hasattr(again._index, "hnsw")
    assert again.search(vectors[45], 1)[0][1]["text"] == "t45"
    gone = again.remove(lambda e: e["source"] != "s0")  # a third of the entries
    assert gone == 20
    assert again.kind == "flat"
    assert all(e["source"] != "s0" for e in again.entries)
    assert again.search(vectors[46], 1)[0][1]["text"] == "t46"


def test_another_dimension_is_refused(tmp_path: Path) -> None:
    index = VectorIndex.create(tmp_path / "ix", "ix", "minilm", ["text"])
    index.add(_unit(2, dim=8), _entries(2))
    with pytest.raises(RagError, match="8-dimensional vectors of minilm; these are 4"):
        index.add(_unit(2, dim=4), _entries(2))
    with pytest.raises(RagError, match="query vector has 4 dimensions"):
        index.search(_unit(1, dim=4)[0], 3)


def test_a_half_written_revision_leaves_the_last_good_one(tmp_path: Path) -> None:
    index = VectorIndex.create(tmp_path / "ix", "ix", "minilm", ["text"])
    index.add(_unit(5), _entries(5))
    index.save()
    # what a kill between writing the new files and replacing the manifest leaves behind
    (tmp_path / "ix" / "vectors-000002.faiss").write_bytes(b"\0garbage")
    (tmp_path / "ix" / ".manifest.json.123.tmp").write_text("{")
    again = VectorIndex.open(tmp_path / "ix")
    assert len(again) == 5
    again.add(_unit(1, seed=9), _entries(1, start=5))
    again.save()
    names = sorted(p.name for p in (tmp_path / "ix").iterdir() if p.name != ".lock")
    assert names == ["entries-000002.jsonl", "manifest.json", "vectors-000002.faiss"]
    assert len(VectorIndex.open(tmp_path / "ix")) == 6


def test_a_damaged_index_is_named(tmp_path: Path) -> None:
    index = VectorIndex.create(tmp_path / "ix", "ix", "minilm", ["text"])
    index.add(_unit(3), _entries(3))
    index.save()
    (tmp_path / "ix" / "entries-000001.jsonl").write_text('{"text": "only one"}\n')
    with pytest.raises(RagError, match="index 'ix' is damaged: 3 vectors for 1 entries"):
        VectorIndex.open(tmp_path / "ix")
    (tmp_path / "ix" / "manifest.json").write_text("{not json")
    with pytest.raises(RagError, match=r"manifest\.json is damaged"):
        VectorIndex.open(tmp_path / "ix")


_WRITER = """
import sys, numpy as np
from pathlib import Path
from genarun_studio.rag.index import VectorIndex
path = Path(sys.argv[1])
index = VectorIndex.open(path)
rng = np.random.default_rng(0)
n = 0
print("ready", flush=True)
while True:
    v = rng.normal(size=(50, 64)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    with index.locked():
        index.add(v, [{"kind": "text", "text": f"t{n}-{i}", "source": "s"} for i in range(50)])
        index.save()
    n += 1
    print("saved", flush=True)
"""


def test_a_kill_during_writes_never_leaves_a_corrupt_index(tmp_path: Path) -> None:
    VectorIndex.create(tmp_path / "ix", "ix", "minilm", ["text"])
    for round_ in range(3):
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path / "ix")],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        for _ in range(2 + round_):  # let it save a few revisions, then kill it mid-way
            assert writer.stdout.readline().strip() == "saved"
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        index = VectorIndex.open(tmp_path / "ix")
        manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
        assert len(index) == manifest["count"]
        assert len(index) % 50 == 0  # whole revisions only
        if len(index):
            assert index._index.ntotal == len(index)
    assert len(VectorIndex.open(tmp_path / "ix")) > 0
