"""The named indexes of a project (``.genarun/indexes/<name>/``): add, query, remove.

:class:`IndexStore` ties documents, embedders and :class:`~genarun_studio.rag.index.VectorIndex`
together. Embedding runs in worker threads (it is the slow part) outside the index lock;
the index is then changed and saved under its lock, so concurrent adders (two nodes of a
run, a CLI command and the editor) never lose each other's entries.

An entry (one vector) holds: ``id``, ``kind`` (``text`` or ``image``), ``text`` or
``asset`` (a path, relative to the project when inside it), ``source`` (a file, or
``run:<run id>#<instance>`` for a run's output), ``run``/``node``/``instance`` for run
outputs, ``page`` and ``position`` for file chunks, ``tags``, a content ``hash``, and the
file's ``stamp`` (size and mtime) so an unchanged file is not indexed twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import shutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genarun_studio.core.tree import ID_PATTERN
from genarun_studio.rag.documents import IMAGE_SUFFIXES, Chunk, collect_files, read_chunks
from genarun_studio.rag.embedders import Embedder, EmbedFunction, canonical_spec, make_embedder
from genarun_studio.rag.errors import RagError, require_retrieval
from genarun_studio.rag.index import VectorIndex

__all__ = ["AddReport", "Hit", "IndexInfo", "IndexStore", "entry_hash"]

_NAME = re.compile(ID_PATTERN)
ADD_BATCH = 256
"""Chunks embedded and saved together when adding files (a kill loses at most one batch)."""


@dataclass
class Hit:
    """One result of a query: its score (cosine similarity; None in "everything" mode
    without a query), where it came from, and its text or image file (absolute path)."""

    score: float | None
    source: str
    text: str | None = None
    asset: str | None = None
    entry: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "score": None if self.score is None else round(self.score, 6),
            "source": self.source,
        }
        if self.asset is not None:
            result["asset"] = self.asset
        else:
            result["text"] = self.text
        for key in ("id", "page", "run", "node", "instance", "tags"):
            if self.entry.get(key) not in (None, [], ""):
                result[key] = self.entry[key]
        return result


@dataclass
class IndexInfo:
    name: str
    embedder: str
    count: int
    kind: str
    dim: int | None
    sources: int | None
    """How many files / run outputs the entries come from (None when only the manifest was
    read)."""
    updated_at: float
    modalities: list[str]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AddReport:
    added: int = 0
    unchanged: int = 0
    replaced: int = 0
    files: int = 0
    count: int = 0
    empty: list[str] = field(default_factory=list)
    """Files that held no text (a scanned PDF is only images): nothing of them is indexed."""

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "empty": list(self.empty)}


def entry_hash(kind: str, content: str) -> str:
    return hashlib.sha1(f"{kind}\0{content}".encode(), usedforsecurity=False).hexdigest()


class IndexStore:
    """The indexes of the project in ``project_root``."""

    def __init__(self, project_root: str | Path) -> None:
        self.project_root = Path(project_root).resolve()
        self.root = self.project_root / ".genarun" / "indexes"

    # -- naming ------------------------------------------------------------------------

    def path_of(self, name: str) -> Path:
        if not _NAME.match(name):
            raise RagError(
                f"index name {name!r} is not valid: use letters, digits, '_' and '-', "
                "starting with a letter or '_'"
            )
        return self.root / name

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "manifest.json").is_file())

    def exists(self, name: str) -> bool:
        return (self.path_of(name) / "manifest.json").is_file()

    def info(self, name: str, *, deep: bool = True) -> IndexInfo:
        """What the index holds; ``deep=False`` reads the manifest only (no FAISS import)."""
        if not deep:
            manifest = VectorIndex.read_manifest(self.path_of(name))
            dim = manifest.get("dim")
            return IndexInfo(
                name=name,
                embedder=str(manifest.get("embedder")),
                count=int(manifest.get("count") or 0),
                kind=str(manifest.get("kind") or "flat"),
                dim=int(dim) if dim else None,
                sources=None,
                updated_at=float(manifest.get("updated_at") or 0.0),
                modalities=list(manifest.get("modalities") or ["text"]),
            )
        index = self.open(name)
        return IndexInfo(
            name=name,
            embedder=index.spec,
            count=len(index),
            kind=index.kind,
            dim=index.dim,
            sources=len({e.get("source") for e in index.entries}),
            updated_at=float(index.manifest.get("updated_at") or 0.0),
            modalities=index.modalities,
        )

    def open(self, name: str) -> VectorIndex:
        require_retrieval()
        path = self.path_of(name)
        if not (path / "manifest.json").is_file():
            known = ", ".join(self.names()) or "none yet"
            raise RagError(f"no index {name!r} in {self.project_root} (indexes: {known})")
        return VectorIndex.shared(path)

    def revision(self, name: str) -> int | None:
        """The index's revision number (cheap: the manifest only), None when it is missing."""
        path = self.path_of(name)
        if not (path / "manifest.json").is_file():
            return None
        return int(VectorIndex.read_manifest(path).get("revision") or 0)

    def version(self, name: str) -> str | None:
        """What a query's plan records of the index (cheap: the manifest only): its revision
        and when it was made, so an index removed and made again never passes for the old
        one. None when it is missing."""
        path = self.path_of(name)
        if not (path / "manifest.json").is_file():
            return None
        manifest = VectorIndex.read_manifest(path)
        return f"{manifest.get('created_at') or 0}/{int(manifest.get('revision') or 0)}"

    def open_or_create(self, name: str, model: str | None) -> VectorIndex:
        """The index ``name``; made with ``model`` (default MiniLM) when it does not exist.
        A ``model`` that differs from an existing index's is an error."""
        require_retrieval()
        path = self.path_of(name)
        if (path / "manifest.json").is_file():
            index = VectorIndex.shared(path)
            if model is not None and canonical_spec(model) != index.spec:
                raise RagError(
                    f"index {name!r} was built with {index.spec}, not {canonical_spec(model)}: "
                    "query it with its own model, or remove it and index again"
                )
            return index
        spec = canonical_spec(model)
        modalities = ("text", "image") if spec.startswith("clip:") else ("text",)
        try:
            return VectorIndex.create(path, name, spec, modalities)
        except RagError:  # made by someone else a moment ago
            return VectorIndex.shared(path)

    def remove(self, name: str) -> None:
        path = self.path_of(name)
        if not (path / "manifest.json").is_file():
            raise RagError(f"no index {name!r} in {self.project_root}")
        VectorIndex.forget(path)
        trash = path.with_name(f".{name}.removing")
        shutil.rmtree(trash, ignore_errors=True)
        path.rename(trash)  # atomic: the index is gone or whole, never half-deleted
        shutil.rmtree(trash, ignore_errors=True)

    def embedder(self, index: VectorIndex, embed: EmbedFunction | None = None) -> Embedder:
        return make_embedder(index.spec, embed=embed)

    # -- paths -------------------------------------------------------------------------

    def relative(self, path: Path) -> str:
        """A path as stored: relative to the project when inside it, else absolute."""
        path = path.resolve()
        try:
            return path.relative_to(self.project_root).as_posix()
        except ValueError:
            return str(path)

    def absolute(self, stored: str) -> str:
        path = Path(stored)
        return str(path if path.is_absolute() else self.project_root / path)

    # -- adding ------------------------------------------------------------------------

    async def _keeping_no_empty_index(
        self, name: str, work: Callable[[], Awaitable[AddReport]]
    ) -> AddReport:
        """Await ``work``; if it fails and it made the index, remove the empty index again
        (so a failed first add, e.g. CLIP weights out of reach, leaves no trace)."""
        made = not self.exists(name)
        try:
            return await work()
        except BaseException:
            if made and self.exists(name) and self.info(name, deep=False).count == 0:
                with contextlib.suppress(OSError, RagError):
                    self.remove(name)
            raise

    async def add_files(
        self,
        name: str,
        paths: Sequence[Path],
        *,
        model: str | None = None,
        tags: Sequence[str] = (),
        chunk_size: int = 1000,
        overlap: int = 150,
        embed: EmbedFunction | None = None,
        progress: Callable[[int, int], None] | None = None,
        batch: int = ADD_BATCH,
    ) -> AddReport:
        """Index files and folders. A file indexed before is skipped when unchanged and
        replaced (its old chunks removed) when it changed.

        Files are embedded and saved in batches of about ``batch`` chunks (whole files), so
        an add that is killed or fails half-way keeps the files it finished, and adding
        again goes on from there. ``progress(files_done, files)`` is called after each
        batch (in the caller's thread)."""
        return await self._keeping_no_empty_index(
            name,
            lambda: self._add_files(
                name, paths, model, tags, chunk_size, overlap, embed, progress, batch
            ),
        )

    async def _add_files(
        self,
        name: str,
        paths: Sequence[Path],
        model: str | None,
        tags: Sequence[str],
        chunk_size: int,
        overlap: int,
        embed: EmbedFunction | None,
        progress: Callable[[int, int], None] | None,
        batch: int,
    ) -> AddReport:
        index = self.open_or_create(name, model)
        images = "image" in index.modalities
        files = collect_files([Path(p) for p in paths], images=images)
        if not files:
            shown = ", ".join(str(p) for p in paths)
            if not images and collect_files([Path(p) for p in paths], images=True):
                raise RagError(
                    f"only images under {shown}, and index {name!r} is a text index "
                    f"({index.spec}): images go into a CLIP index (--model clip)"
                )
            kinds = "text, Markdown, PDF or image" if images else "text, Markdown or PDF"
            raise RagError(f"no {kinds} files under {shown}")
        report = AddReport(files=len(files), count=len(index))
        known = {e.get("source"): e.get("stamp") for e in index.entries}
        chunks: list[Chunk] = []
        stamps: dict[str, str] = {}
        done = 0

        async def flush() -> None:
            if stamps:
                entries = [self._entry(c, stamp=stamps.get(c.source)) for c in chunks]
                added, replaced, report.count = await self._add(
                    index, chunks, entries, replace_sources=set(stamps), embed=embed
                )
                report.added += added
                report.replaced += replaced
                chunks.clear()
                stamps.clear()
            if progress is not None:
                progress(done, len(files))

        for file in files:
            source = self.relative(file)
            stat = file.stat()
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
            done += 1
            if known.get(source) == stamp:
                report.unchanged += 1
                continue
            stamps[source] = stamp  # new or changed: its old chunks (if any) are replaced
            before = len(chunks)
            for chunk in read_chunks(file, source, size=chunk_size, overlap=overlap):
                chunk.tags = list(tags)
                if chunk.asset is not None:
                    chunk.asset = self.relative(Path(chunk.asset))
                chunks.append(chunk)
            if len(chunks) == before:
                report.empty.append(source)
            if len(chunks) >= batch:
                await flush()
        await flush()
        return report

    async def add_chunks(
        self,
        name: str,
        chunks: Sequence[Chunk],
        *,
        model: str | None = None,
        extra: dict[str, Any] | None = None,
        skip_known: bool = True,
        embed: EmbedFunction | None = None,
    ) -> AddReport:
        """Index texts or image files given as chunks (e.g. a run's outputs). With
        ``skip_known``, a chunk whose content is already in the index is not added twice."""
        return await self._keeping_no_empty_index(
            name, lambda: self._add_chunks(name, chunks, model, extra or {}, skip_known, embed)
        )

    async def _add_chunks(
        self,
        name: str,
        chunks: Sequence[Chunk],
        model: str | None,
        extra: dict[str, Any],
        skip_known: bool,
        embed: EmbedFunction | None,
    ) -> AddReport:
        index = self.open_or_create(name, model)
        entries = [self._entry(c, **extra) for c in chunks]
        if skip_known:
            known = index.hashes()
            pairs = [(c, e) for c, e in zip(chunks, entries, strict=True) if e["hash"] not in known]
        else:
            pairs = list(zip(chunks, entries, strict=True))
        report = AddReport(unchanged=len(chunks) - len(pairs))
        report.added, report.replaced, report.count = await self._add(
            index,
            [c for c, _ in pairs],
            [e for _, e in pairs],
            replace_sources=set(),
            embed=embed,
            skip_known=skip_known,
        )
        return report

    def _entry(self, chunk: Chunk, **extra: Any) -> dict[str, Any]:
        kind = "image" if chunk.asset is not None else "text"
        content = chunk.asset if chunk.asset is not None else (chunk.text or "")
        entry: dict[str, Any] = {"kind": kind, "source": chunk.source}
        if kind == "image":
            entry["asset"] = chunk.asset
            # an image is known by its bytes, so a copied asset is not indexed twice
            try:
                data = Path(self.absolute(content)).read_bytes()
                entry["hash"] = hashlib.sha1(data, usedforsecurity=False).hexdigest()
            except OSError as exc:
                raise RagError(f"cannot read the image {content}: {exc.strerror}") from None
        else:
            entry["text"] = content
            entry["hash"] = entry_hash(kind, content)
        if chunk.page is not None:
            entry["page"] = chunk.page
        entry["position"] = chunk.position
        if chunk.tags:
            entry["tags"] = list(chunk.tags)
        entry.update({k: v for k, v in extra.items() if v is not None})
        return entry

    async def _add(
        self,
        index: VectorIndex,
        chunks: Sequence[Chunk],
        entries: list[dict[str, Any]],
        *,
        replace_sources: set[str],
        embed: EmbedFunction | None,
        skip_known: bool = False,
    ) -> tuple[int, int, int]:
        import numpy as np

        embedder = self.embedder(index, embed)
        texts = [i for i, c in enumerate(chunks) if c.asset is None]
        images = [i for i, c in enumerate(chunks) if c.asset is not None]
        rows: dict[int, Any] = {}
        if texts:
            vectors = await embedder.embed_texts([chunks[i].text or "" for i in texts])
            rows.update(zip(texts, vectors, strict=True))
        if images:
            paths = [Path(self.absolute(chunks[i].asset or "")) for i in images]
            vectors = await embedder.embed_images(paths)
            rows.update(zip(images, vectors, strict=True))

        def apply() -> tuple[int, int, int]:
            with index.locked():
                replaced = index.remove(lambda e: e.get("source") not in replace_sources)
                todo = list(range(len(entries)))
                if skip_known:  # another adder may have added the same content meanwhile
                    known = index.hashes()
                    todo = [i for i in todo if entries[i]["hash"] not in known]
                if todo:
                    matrix = np.stack([rows[i] for i in todo]).astype(np.float32)
                    index.add(matrix, [entries[i] for i in todo])
                if todo or replaced:
                    index.save()
                return len(todo), replaced, len(index)

        return await asyncio.to_thread(apply)

    async def remove_source(self, name: str, source: str) -> int:
        """Drop every entry from ``source`` (a file path as given or stored, or a run
        source); returns how many went."""
        index = self.open(name)
        wanted = (
            {source, self.relative(Path(source))} if not source.startswith("run:") else {source}
        )

        def apply() -> int:
            with index.locked():
                gone = index.remove(
                    lambda e: (
                        e.get("source") not in wanted
                        and not str(e.get("source", "")).startswith(f"{source}#")
                    )
                )
                if gone:
                    index.save()
                return gone

        return await asyncio.to_thread(apply)

    async def rebuild(
        self, name: str, *, model: str | None = None, embed: EmbedFunction | None = None
    ) -> int:
        """Embed every entry again (with ``model`` when given, else the index's own) and
        write a fresh FAISS index; returns the number of entries. A damaged FAISS file is
        no obstacle: the entries hold every text and image path."""
        try:
            index = self.open(name)
        except RagError:
            index = VectorIndex.open(self.path_of(name), vectors=False)
            if not index.entries:
                raise
        spec = canonical_spec(model) if model else index.spec
        embedder = make_embedder(spec, embed=embed)
        entries = list(index.entries)
        import numpy as np

        rows: list[Any] = [None] * len(entries)
        texts = [i for i, e in enumerate(entries) if e.get("kind") != "image"]
        images = [i for i, e in enumerate(entries) if e.get("kind") == "image"]
        if texts:
            vectors = await embedder.embed_texts([entries[i].get("text") or "" for i in texts])
            for i, v in zip(texts, vectors, strict=True):
                rows[i] = v
        if images:
            paths = [Path(self.absolute(entries[i]["asset"])) for i in images]
            vectors = await embedder.embed_images(paths)
            for i, v in zip(images, vectors, strict=True):
                rows[i] = v

        def apply() -> int:
            with index.locked():
                if [e.get("id") for e in index.entries] != [e.get("id") for e in entries]:
                    raise RagError(f"index {name!r} changed during the rebuild; try again")
                matrix = np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), np.float32)
                index.replace_vectors(matrix, spec)
                index.manifest["modalities"] = sorted(embedder.modalities)
                index.save()
                return len(index)

        return await asyncio.to_thread(apply)

    # -- reading -----------------------------------------------------------------------

    def _hit(self, score: float | None, entry: dict[str, Any]) -> Hit:
        asset = entry.get("asset")
        return Hit(
            score=score,
            source=str(entry.get("source", "")),
            text=entry.get("text"),
            asset=self.absolute(asset) if asset else None,
            entry=entry,
        )

    async def query(
        self,
        name: str,
        text: str | None = None,
        *,
        image: Path | None = None,
        k: int = 5,
        kinds: Sequence[str] = ("text", "image"),
        embed: EmbedFunction | None = None,
    ) -> list[Hit]:
        """The ``k`` best hits for a text (or an image, on a CLIP index), best first."""
        index = self.open(name)
        embedder = self.embedder(index, embed)
        if image is not None:
            if image.suffix.lower() not in IMAGE_SUFFIXES:
                raise RagError(f"{image} is not a PNG, JPEG or WebP image")
            vector = (await embedder.embed_images([image]))[0]
        else:
            if not (text or "").strip():
                raise RagError("the query is empty")
            vector = (await embedder.embed_texts([text or ""]))[0]
        want = set(kinds)
        every = want >= {"text", "image"}
        # a kind filter looks further than k, and at the whole index only when that was not
        # enough (on a big HNSW index, asking for every vector costs far more than a query)
        wide = k if every else min(len(index), max(8 * k, 64))
        with index.reading():
            found = index.search(vector, wide)
            hits = [self._hit(s, e) for s, e in found if e.get("kind", "text") in want]
            if len(hits) < k and wide < len(index):
                found = index.search(vector, len(index))
                hits = [self._hit(s, e) for s, e in found if e.get("kind", "text") in want]
        return hits[:k]

    async def everything(
        self,
        name: str,
        text: str | None = None,
        *,
        embed: EmbedFunction | None = None,
    ) -> list[Hit]:
        """Every entry of the index in the order it was added, with its score for ``text``
        when one is given (else None)."""
        index = self.open(name)
        scores: list[float | None] = [None] * len(index)
        if (text or "").strip() and len(index):
            embedder = self.embedder(index, embed)
            vector = (await embedder.embed_texts([text or ""]))[0]
            with index.reading():
                scores = list(index.scores_for_all(vector))
                entries = list(index.entries)
        else:
            with index.reading():
                entries = list(index.entries)
        scores = scores if len(scores) == len(entries) else [None] * len(entries)
        return [self._hit(s, e) for s, e in zip(scores, entries, strict=True)]
