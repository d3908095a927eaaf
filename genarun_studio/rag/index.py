"""One FAISS index and its entries, in one folder, safe against a crash mid-write.

Folder layout (``.genarun/indexes/<name>/``)::

    manifest.json            name, embedder spec, dimension, kind, revision, counts
    vectors-<rev>.faiss      the FAISS index of that revision
    entries-<rev>.jsonl      one JSON object per vector, in FAISS row order
    .lock                    held while a process changes the index

A save writes the new revision's two files next to the old ones, then replaces
``manifest.json`` atomically (``os.replace``), then deletes older revisions. A kill at any
moment leaves a manifest that names two complete files: the old revision or the new one.

Small indexes are exact (``IndexFlatIP``); past :data:`EXACT_LIMIT` vectors the index becomes
HNSW (``IndexHNSWFlat``, inner product), which answers a top-10 query in well under a
millisecond at 100k vectors. Vectors are unit length, so scores are cosine similarities.
Removing entries rebuilds the index from the vectors that stay.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genarun_studio.rag.errors import RagError, require

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["EXACT_LIMIT", "FORMAT", "VectorIndex"]

FORMAT = "genarun-index/1"
EXACT_LIMIT = 20_000
"""Up to this many vectors the search is exact; past it, HNSW."""
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 64
_thread_locks: dict[Path, threading.RLock] = {}
_thread_locks_guard = threading.Lock()
_open: dict[Path, VectorIndex] = {}
"""Indexes this process has read, by folder: a query reuses one while its revision holds."""


def _thread_lock(path: Path) -> threading.RLock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(path.resolve(), threading.RLock())


def _faiss() -> Any:
    return require("faiss", "rag", "Retrieval indexes")


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, flushed, then renamed into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class VectorIndex:
    """A FAISS index with one metadata entry per vector. Open with :meth:`open` or
    :meth:`create`; change under :meth:`locked`; :meth:`save` to make changes durable."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest
        self.entries: list[dict[str, Any]] = []
        self._index: Any = None

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, name: str, spec: str, modalities: Sequence[str]) -> VectorIndex:
        """A new, empty index (its manifest is written at once). RagError if one exists."""
        if (path / "manifest.json").exists():
            raise RagError(f"index {name!r} already exists")
        path.mkdir(parents=True, exist_ok=True)
        now = time.time()
        index = cls(
            path,
            {
                "format": FORMAT,
                "name": name,
                "embedder": spec,
                "modalities": sorted(modalities),
                "dim": None,
                "kind": "flat",
                "revision": 0,
                "count": 0,
                "next_id": 1,
                "files": None,
                "created_at": now,
                "updated_at": now,
            },
        )
        _write_atomic(path / "manifest.json", index._write_manifest)
        return index

    @classmethod
    def open(cls, path: Path, *, vectors: bool = True) -> VectorIndex:
        """Read the index in ``path``; RagError when it is missing or damaged.

        ``vectors=False`` reads the entries only (what a rebuild needs when the FAISS file
        is damaged: the entries hold every text and image path)."""
        manifest = cls.read_manifest(path)
        index = cls(path, manifest)
        if vectors:
            index._load()
        else:
            index._load_entries()
        return index

    def _load_entries(self) -> None:
        files = self.manifest.get("files")
        self._index = None
        if not files:
            self.entries = []
            return
        try:
            with open(self.path / files["entries"], encoding="utf-8") as handle:
                self.entries = [json.loads(line) for line in handle if line.strip()]
        except (OSError, ValueError) as exc:
            raise RagError(
                f"index {self.name!r} is damaged beyond a rebuild: its entries cannot be read "
                f"({exc}); remove it and index again"
            ) from None

    @classmethod
    def shared(cls, path: Path) -> VectorIndex:
        """The process's loaded copy of the index in ``path``, read again only when another
        writer saved a newer revision (a 100k index takes ~0.5 s to read; a query ~1 ms)."""
        manifest = cls.read_manifest(path)
        with _thread_lock(path):
            found = _open.get(path.resolve())
            if (
                found is not None
                and found.revision == manifest.get("revision")
                and found.manifest.get("created_at") == manifest.get("created_at")
            ):  # the same revision of the same index (not one removed and made again)
                return found
            index = cls.open(path)
            _open[path.resolve()] = index
            return index

    @staticmethod
    def forget(path: Path) -> None:
        """Drop the shared copy of an index (it was removed)."""
        with _thread_lock(path):
            _open.pop(path.resolve(), None)

    @contextlib.contextmanager
    def reading(self) -> Iterator[VectorIndex]:
        """Hold the index against writers of this process while reading it."""
        with _thread_lock(self.path):
            yield self

    @staticmethod
    def read_manifest(path: Path) -> dict[str, Any]:
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RagError(f"no index in {path}") from None
        except (OSError, ValueError) as exc:
            raise RagError(
                f"the index manifest {path / 'manifest.json'} is damaged: {exc}"
            ) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise RagError(f"{path / 'manifest.json'} is not a {FORMAT} index manifest")
        return manifest

    def _load(self) -> None:
        files = self.manifest.get("files")
        if not files:
            self.entries, self._index = [], None
            return
        faiss = _faiss()
        vectors = self.path / files["vectors"]
        entries = self.path / files["entries"]
        try:
            index = faiss.read_index(str(vectors))
            with open(entries, encoding="utf-8") as handle:
                rows = [json.loads(line) for line in handle if line.strip()]
        except (OSError, RuntimeError, ValueError) as exc:
            # FAISS prefixes its message with the C++ function and the check that failed
            reason = str(exc).rpartition("failed: ")[2].strip() or type(exc).__name__
            raise RagError(
                f"index {self.name!r} is damaged ({reason}); rebuild it "
                f"(genarun index rebuild {self.name})"
            ) from None
        if index.ntotal != len(rows):
            raise RagError(
                f"index {self.name!r} is damaged: {index.ntotal} vectors for {len(rows)} "
                f"entries; rebuild it (genarun index rebuild {self.name})"
            )
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = HNSW_EF_SEARCH
        self._index, self.entries = index, rows

    def refresh(self) -> None:
        """Read the index again if another process saved a newer revision."""
        manifest = self.read_manifest(self.path)
        if manifest.get("revision") != self.revision:
            self.manifest = manifest
            self._load()

    @contextlib.contextmanager
    def locked(self) -> Iterator[VectorIndex]:
        """Hold the index against other threads and processes, on its newest revision."""
        from filelock import FileLock

        with _thread_lock(self.path), FileLock(str(self.path / ".lock")):
            self.refresh()
            yield self

    # -- facts -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def spec(self) -> str:
        return str(self.manifest["embedder"])

    @property
    def revision(self) -> int:
        return int(self.manifest.get("revision") or 0)

    @property
    def dim(self) -> int | None:
        dim = self.manifest.get("dim")
        return int(dim) if dim else None

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind") or "flat")

    @property
    def modalities(self) -> list[str]:
        return list(self.manifest.get("modalities") or ["text"])

    def __len__(self) -> int:
        return len(self.entries)

    def hashes(self) -> set[str]:
        return {e["hash"] for e in self.entries if e.get("hash")}

    # -- changing ----------------------------------------------------------------------

    def add(self, vectors: NDArray[np.float32], entries: Sequence[dict[str, Any]]) -> None:
        """Append vectors with their entries (ids are assigned here). In memory until saved."""
        if len(vectors) != len(entries):
            raise RagError(f"{len(vectors)} vectors for {len(entries)} entries")
        if not len(entries):
            return
        dim = int(vectors.shape[1])
        if self.dim is None:
            self.manifest["dim"] = dim
        elif dim != self.dim:
            raise RagError(
                f"index {self.name!r} holds {self.dim}-dimensional vectors of {self.spec}; "
                f"these are {dim}-dimensional (another model?)"
            )
        if self._index is None:
            self._index = _faiss().IndexFlatIP(dim)
        next_id = int(self.manifest.get("next_id") or 1)
        now = time.time()
        for entry in entries:
            entry.setdefault("added_at", now)
            entry["id"] = str(next_id)
            next_id += 1
        self.manifest["next_id"] = next_id
        self._index.add(vectors)
        self.entries.extend(entries)
        if self.kind == "flat" and len(self.entries) > EXACT_LIMIT:
            self._index = self._build(self._all_vectors())

    def remove(self, keep: Callable[[dict[str, Any]], bool]) -> int:
        """Drop the entries for which ``keep`` is false; returns how many went."""
        mask = [keep(e) for e in self.entries]
        gone = mask.count(False)
        if not gone:
            return 0
        vectors = self._all_vectors()
        self.entries = [e for e, k in zip(self.entries, mask, strict=True) if k]
        import numpy as np

        self._index = self._build(vectors[np.asarray(mask, dtype=bool)])
        return gone

    def replace_vectors(self, vectors: NDArray[np.float32], spec: str | None = None) -> None:
        """Swap in new vectors for every entry (a rebuild, maybe with another model)."""
        if len(vectors) != len(self.entries):
            raise RagError(f"{len(vectors)} vectors for {len(self.entries)} entries")
        if spec is not None:
            self.manifest["embedder"] = spec
        self.manifest["dim"] = int(vectors.shape[1]) if len(vectors) else self.dim
        self._index = self._build(vectors) if len(vectors) else None

    def _all_vectors(self) -> NDArray[np.float32]:
        import numpy as np

        if self._index is None or self._index.ntotal == 0:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        result: NDArray[np.float32] = self._index.reconstruct_n(0, self._index.ntotal)
        return result

    def _build(self, vectors: NDArray[np.float32]) -> Any:
        faiss = _faiss()
        dim = int(vectors.shape[1]) if vectors.ndim == 2 and vectors.shape[1] else self.dim or 0
        if len(vectors) > EXACT_LIMIT:
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
            self.manifest["kind"] = "hnsw"
        else:
            index = faiss.IndexFlatIP(dim)
            self.manifest["kind"] = "flat"
        if len(vectors):
            index.add(vectors)
        return index

    def save(self) -> None:
        """Write the next revision crash-safely, then drop older revision files."""
        faiss = _faiss()
        revision = self.revision + 1
        files = None
        if self._index is not None and self.entries:
            files = {
                "vectors": f"vectors-{revision:06d}.faiss",
                "entries": f"entries-{revision:06d}.jsonl",
            }
            index = self._index
            _write_atomic(self.path / files["vectors"], lambda p: faiss.write_index(index, str(p)))
            _write_atomic(self.path / files["entries"], self._write_entries)
        manifest = dict(self.manifest)
        manifest.update(
            revision=revision, files=files, count=len(self.entries), updated_at=time.time()
        )
        previous, self.manifest = self.manifest, manifest
        try:
            _write_atomic(self.path / "manifest.json", self._write_manifest)
        except BaseException:
            self.manifest = previous
            raise
        _fsync_dir(self.path)
        keep = set((files or {}).values()) | {"manifest.json", ".lock"}
        for old in self.path.iterdir():
            if old.name not in keep and (
                old.name.startswith(("vectors-", "entries-")) or old.name.endswith(".tmp")
            ):
                with contextlib.suppress(OSError):
                    old.unlink()

    def _write_entries(self, path: Path) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            for entry in self.entries:
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def _write_manifest(self, path: Path) -> None:
        path.write_text(json.dumps(self.manifest, indent=2) + "\n", encoding="utf-8")

    # -- reading -----------------------------------------------------------------------

    def search(self, vector: NDArray[np.float32], k: int) -> list[tuple[float, dict[str, Any]]]:
        """The ``k`` entries nearest to ``vector`` (shape ``(dim,)`` or ``(1, dim)``), best
        first, with their cosine similarity."""
        if self._index is None or not self.entries or k <= 0:
            return []
        query = vector.reshape(1, -1)
        if self.dim is not None and query.shape[1] != self.dim:
            raise RagError(
                f"the query vector has {query.shape[1]} dimensions; index {self.name!r} "
                f"holds {self.dim} (it was built with {self.spec})"
            )
        faiss = _faiss()
        threads = faiss.omp_get_max_threads()
        # one query is faster on one thread: OpenMP's spinning team costs more than it
        # saves, many times more on a busy machine (the setting is this thread's only)
        faiss.omp_set_num_threads(1)
        try:
            scores, rows = self._index.search(query, min(k, len(self.entries)))
        finally:
            faiss.omp_set_num_threads(threads)
        return [
            (float(score), self.entries[int(row)])
            for score, row in zip(scores[0], rows[0], strict=True)
            if row >= 0
        ]

    def scores_for_all(self, vector: NDArray[np.float32]) -> list[float]:
        """The similarity of ``vector`` to every entry, in entry order."""
        vectors = self._all_vectors()
        if not len(vectors):
            return []
        return [float(x) for x in vectors @ vector.reshape(-1)]
