"""Documents to index: text, Markdown and PDF files cut into overlapping chunks; images.

A chunk keeps where it came from (file, page, position) so a hit can be traced back. Chunks
end at a paragraph, sentence or word boundary where one lies near the size limit, and each
chunk repeats the last ``overlap`` characters of the one before, so a sentence cut in two is
whole in one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from genarun_studio.rag.errors import RagError, require

__all__ = [
    "IMAGE_SUFFIXES",
    "TEXT_SUFFIXES",
    "Chunk",
    "chunk_text",
    "collect_files",
    "read_chunks",
]

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst", ".text"})
PDF_SUFFIXES = frozenset({".pdf"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
_BREAKS = (re.compile(r"\n\s*\n"), re.compile(r"(?<=[.!?])\s+"), re.compile(r"\s+"))


@dataclass
class Chunk:
    """A piece of a document: its text (or, for an image, its file) and where it came from."""

    text: str | None
    source: str
    asset: str | None = None
    page: int | None = None
    position: int = 0
    tags: list[str] = field(default_factory=list)


def chunk_text(text: str, size: int = 1000, overlap: int = 150) -> list[str]:
    """Cut ``text`` into pieces of at most ``size`` characters that overlap by ``overlap``.

    Whitespace runs inside a piece are kept; pieces are stripped; empty text gives ``[]``.
    """
    if size < 50:
        raise RagError(f"chunk size {size} is too small (at least 50 characters)")
    if not 0 <= overlap < size // 2:
        raise RagError(f"chunk overlap {overlap} should be between 0 and half the size")
    text = text.strip()
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            end = _boundary(text, start, end, size)
        piece = text[start:end].strip()
        if piece:
            pieces.append(piece)
        if end >= len(text):
            break
        next_start = max(end - overlap, start + 1)
        if overlap:  # begin the overlap at a word, not mid-word
            space = text.find(" ", next_start, end)
            if space != -1:
                next_start = space + 1
        start = next_start
    return pieces


def _boundary(text: str, start: int, end: int, size: int) -> int:
    """The best cut in ``text[start:end]``: the last paragraph, sentence or word break in
    its second half, else ``end``."""
    floor = start + size // 2
    window = text[floor:end]
    for pattern in _BREAKS:
        ends = [m.end() for m in pattern.finditer(window)]
        if ends:
            return floor + ends[-1]
    return end


def collect_files(paths: Iterable[Path], *, images: bool) -> list[Path]:
    """The indexable files under ``paths`` (folders are walked, hidden files skipped), sorted.

    A named file of an unknown kind is an error; unknown files inside folders are skipped.
    """
    wanted = TEXT_SUFFIXES | PDF_SUFFIXES | (IMAGE_SUFFIXES if images else frozenset())
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in wanted
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            suffix = path.suffix.lower()
            if suffix in IMAGE_SUFFIXES and not images:
                raise RagError(
                    f"{path} is an image, and this index holds text: make a CLIP index "
                    "(--model clip) for images"
                )
            if suffix not in wanted:
                kinds = ", ".join(sorted(wanted))
                raise RagError(f"{path}: cannot index a {suffix or 'suffix-less'} file ({kinds})")
            found.append(path)
        else:
            raise RagError(f"no such file or folder: {path}")
    return found


def read_chunks(
    path: Path, source: str, *, size: int = 1000, overlap: int = 150
) -> Iterator[Chunk]:
    """The chunks of one file (an image is one chunk with ``asset`` set)."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        yield Chunk(text=None, source=source, asset=str(path))
        return
    if suffix in PDF_SUFFIXES:
        position = 0
        for page_no, page_text in _pdf_pages(path):
            for piece in chunk_text(page_text, size, overlap):
                yield Chunk(text=piece, source=source, page=page_no, position=position)
                position += 1
        return
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise RagError(f"cannot read {path}: {exc.strerror or exc}") from None
    for position, piece in enumerate(chunk_text(text, size, overlap)):
        yield Chunk(text=piece, source=source, position=position)


def _pdf_pages(path: Path) -> Iterator[tuple[int, str]]:
    pypdf: object = require("pypdf", "rag", "Reading PDF files")
    try:
        reader = pypdf.PdfReader(str(path))  # type: ignore[attr-defined]
        for number, page in enumerate(reader.pages, start=1):
            yield number, page.extract_text() or ""
    except RagError:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise RagError(f"cannot read the PDF {path}: {type(exc).__name__}: {exc}") from None
