"""Chunking with overlap, finding files, reading text, Markdown and PDF."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from genarun_studio.rag.documents import chunk_text, collect_files, read_chunks
from genarun_studio.rag.errors import MissingExtra, RagError, require


def _minimal_pdf(pages: list[str]) -> bytes:
    """A small valid PDF with one line of Helvetica text per page."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font = 3 + 2 * len(pages)
    for i, text in enumerate(pages):
        content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def test_chunks_overlap_and_cover_the_text() -> None:
    words = [f"word{i}" for i in range(600)]
    text = " ".join(words)
    chunks = chunk_text(text, size=200, overlap=50)
    assert len(chunks) > 5
    assert all(len(c) <= 200 for c in chunks)
    for before, after in itertools.pairwise(chunks):
        # the next chunk starts with words the previous one ended with
        assert after.split()[0] in before.split()
    seen = {w for c in chunks for w in c.split()}
    assert seen == set(words)  # no word is cut or lost


def test_chunks_end_at_paragraphs_and_sentences_when_they_can() -> None:
    text = ("First sentence is here. " * 5).strip() + "\n\n" + ("Second part goes on. " * 5)
    chunks = chunk_text(text, size=150, overlap=0)
    assert chunks[0].endswith("here.")
    assert chunk_text("   ") == []


@pytest.mark.parametrize(("size", "overlap"), [(10, 0), (200, 150), (200, -1)])
def test_bad_chunk_settings_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(RagError, match="chunk"):
        chunk_text("some text", size=size, overlap=overlap)


def test_folders_are_walked_and_unknown_files_named(tmp_path: Path) -> None:
    (tmp_path / "notes" / "deep").mkdir(parents=True)
    (tmp_path / "notes" / "a.md").write_text("a")
    (tmp_path / "notes" / "deep" / "b.txt").write_text("b")
    (tmp_path / "notes" / "c.bin").write_bytes(b"\0")
    (tmp_path / "notes" / ".hidden.md").write_text("secret")
    (tmp_path / "notes" / "pic.png").write_bytes(b"")
    found = collect_files([tmp_path / "notes"], images=False)
    assert [p.name for p in found] == ["a.md", "b.txt"]
    assert "pic.png" in [p.name for p in collect_files([tmp_path / "notes"], images=True)]
    with pytest.raises(RagError, match=r"c\.bin: cannot index a \.bin file"):
        collect_files([tmp_path / "notes" / "c.bin"], images=False)
    with pytest.raises(RagError, match="make a CLIP index"):
        collect_files([tmp_path / "notes" / "pic.png"], images=False)
    with pytest.raises(RagError, match="no such file or folder"):
        collect_files([tmp_path / "missing"], images=False)


def test_pdf_pages_are_read_with_their_page_numbers(tmp_path: Path) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(_minimal_pdf(["Lizards bask in the sun.", "Geckos climb glass walls."]))
    chunks = list(read_chunks(pdf, "doc.pdf"))
    assert [(c.page, c.text) for c in chunks] == [
        (1, "Lizards bask in the sun."),
        (2, "Geckos climb glass walls."),
    ]


def test_a_damaged_pdf_is_named(tmp_path: Path) -> None:
    pdf = tmp_path / "bad.pdf"
    pdf.write_bytes(b"%PDF-1.4 this is not a pdf")
    with pytest.raises(RagError, match=r"cannot read the PDF .*bad\.pdf"):
        list(read_chunks(pdf, "bad.pdf"))


def test_a_missing_extra_names_the_pip_install() -> None:
    with pytest.raises(MissingExtra) as caught:
        require("genarun_no_such_module", "clip", "CLIP embeddings")
    assert "pip install -e '.[clip]'" in str(caught.value)
    assert caught.value.extra == "clip"
