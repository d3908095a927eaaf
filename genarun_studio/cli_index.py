"""``genarun index``: named retrieval indexes of a project (``.genarun/indexes/<name>/``).

    genarun index add NAME PATH... [--model M]     index files and folders
    genarun index query NAME TEXT [-k N] [--json]  the nearest chunks or images
    genarun index list                             indexes with their counts and models
    genarun index remove NAME [--source PATH]      drop an index, or one source's entries
    genarun index rebuild NAME [--model M]         embed every entry again

Exit codes: 0 done, 2 a usage problem (unknown index, unreadable file, missing extra: the
message names the ``pip install`` that adds it). Embedding models load on first use.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from genarun_studio.errors import GenarunError

__all__ = ["index"]

EXIT_USAGE = 2
T = TypeVar("T")

_PROJECT = click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project folder (default: $GENARUN_PROJECT, else the nearest folder holding "
    ".genarun/ here or above, else the user data folder).",
)


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"genarun: {message}", err=True)
    sys.exit(code)


def _store(project: Path | None) -> Any:
    from genarun_studio.rag import IndexStore
    from genarun_studio.store import default_project_dir

    return IndexStore(project or default_project_dir())


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except GenarunError as exc:
        _fail(str(exc))


def _call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except GenarunError as exc:
        _fail(str(exc))


@click.group()
def index() -> None:
    """Retrieval indexes of a project: add files, query, list, remove.

    Text indexes use all-MiniLM-L6-v2 offline by default; `--model clip` makes an index of
    images and texts in one space. Needs the [rag] extra: pip install -e '.[rag]' in a
    checkout ([clip] for CLIP).
    """


@index.command("add")
@click.argument("name")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--model",
    help="Embedding model of a new index: minilm (default), clip, clip:ARCH/PRETRAINED, "
    "st:NAME (sentence-transformers), openai:MODEL (an embeddings endpoint).",
)
@click.option("--tag", "tags", multiple=True, help="A tag stored with every chunk (repeatable).")
@click.option("--chunk-size", default=1000, show_default=True, help="Characters per chunk.")
@click.option("--overlap", default=150, show_default=True, help="Characters chunks share.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@_PROJECT
def index_add(
    name: str,
    paths: tuple[Path, ...],
    model: str | None,
    tags: tuple[str, ...],
    chunk_size: int,
    overlap: int,
    as_json: bool,
    project: Path | None,
) -> None:
    """Index text, Markdown and PDF files (and images, for a CLIP index) under PATHS.

    Folders are walked. A file indexed before is skipped when unchanged and replaced when it
    changed; the index is made on first use. Files are saved in batches as they are
    embedded, so an interrupted add keeps what it finished and running it again goes on.
    """
    store = _store(project)
    started = time.monotonic()
    live = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if live and done < total:
            click.echo(f"\r{name}: {done}/{total} files", err=True, nl=False)

    def clear() -> None:
        if live:
            click.echo("\r\033[K", err=True, nl=False)

    try:
        report = asyncio.run(
            store.add_files(
                name,
                list(paths),
                model=model,
                tags=tags,
                chunk_size=chunk_size,
                overlap=overlap,
                progress=progress,
            )
        )
    except GenarunError as exc:
        clear()
        _fail(str(exc))
    except KeyboardInterrupt:
        clear()
        _fail(
            f"interrupted: the files finished so far are in {name!r}; run the same command "
            "again to go on",
            130,
        )
    clear()
    if as_json:
        click.echo(json.dumps({"index": name, **report.to_json()}))
        return
    if report.empty:
        shown = ", ".join(report.empty[:5]) + (" …" if len(report.empty) > 5 else "")
        click.echo(
            f"note: {len(report.empty)} file(s) held no text, so nothing of them is indexed "
            f"(a scanned PDF is only images): {shown}",
            err=True,
        )
    click.echo(
        f"{name}: {report.added} chunk(s) added from {report.files - report.unchanged} "
        f"file(s), {report.unchanged} unchanged, {report.replaced} replaced; "
        f"{report.count} in the index ({time.monotonic() - started:.1f} s)"
    )


@index.command("query")
@click.argument("name")
@click.argument("text", required=False)
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--image",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Query with an image instead of a text (CLIP indexes).",
)
@click.option(
    "--kind",
    type=click.Choice(["any", "text", "image"]),
    default="any",
    show_default=True,
    help="Which hits to keep.",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON array of hits, best first.")
@_PROJECT
def index_query(
    name: str,
    text: str | None,
    k: int,
    image: Path | None,
    kind: str,
    as_json: bool,
    project: Path | None,
) -> None:
    """The K chunks (or images) of index NAME nearest to TEXT, best first."""
    if (text is None) == (image is None):
        _fail("give either a query TEXT or --image PATH")
    store = _store(project)
    kinds = ("text", "image") if kind == "any" else (kind,)
    hits = _run(store.query(name, text, image=image, k=k, kinds=kinds))
    if as_json:
        click.echo(json.dumps([h.to_json() for h in hits], ensure_ascii=False))
        return
    if not hits:
        click.echo("no hits", err=True)
    for hit in hits:
        body = hit.asset if hit.asset else " ".join((hit.text or "").split())
        if len(body) > 160:
            body = body[:157] + "..."
        where = hit.source + (f" p.{hit.entry['page']}" if hit.entry.get("page") else "")
        if body == where:  # an image indexed from a file: its source is the image itself
            click.echo(f"{hit.score:.3f}  {where}")
        else:
            click.echo(f"{hit.score:.3f}  {where}\n       {body}")


@index.command("list")
@click.option("--json", "as_json", is_flag=True, help="A JSON array of indexes.")
@_PROJECT
def index_list(as_json: bool, project: Path | None) -> None:
    """The project's indexes: entries, sources, model and search kind."""
    store = _store(project)
    rows: list[tuple[str, Any]] = []
    for name in store.names():  # one damaged index must not hide the others
        try:
            rows.append((name, store.info(name)))
        except GenarunError as exc:
            rows.append((name, str(exc)))
    if as_json:
        click.echo(
            json.dumps(
                [
                    info.to_json() if not isinstance(info, str) else {"name": n, "error": info}
                    for n, info in rows
                ]
            )
        )
        return
    if not rows:
        click.echo(f"no indexes yet in {store.project_root}", err=True)
    for name, info in rows:
        if isinstance(info, str):
            click.echo(f"{name:<20} cannot be read: {info}")
            continue
        click.echo(
            f"{info.name:<20} {info.count:>8} entries  {info.sources:>6} sources  "
            f"{info.kind:<5} {info.embedder}"
        )


@index.command("remove")
@click.argument("name")
@click.option(
    "--source",
    help="Remove only the entries of this file (or run source), not the whole index.",
)
@_PROJECT
def index_remove(name: str, source: str | None, project: Path | None) -> None:
    """Delete index NAME (or, with --source, the entries from one source)."""
    store = _store(project)
    if source is None:
        _call(store.remove, name)
        click.echo(f"removed index {name}")
        return
    gone = _run(store.remove_source(name, source))
    if not gone:
        _fail(f"index {name!r} has no entries from {source!r}")
    click.echo(f"{name}: removed {gone} entries from {source}")


@index.command("rebuild")
@click.argument("name")
@click.option("--model", help="Embed with this model from now on (default: the index's own).")
@_PROJECT
def index_rebuild(name: str, model: str | None, project: Path | None) -> None:
    """Embed every entry of index NAME again and write a fresh FAISS index."""
    store = _store(project)
    count = _run(store.rebuild(name, model=model))
    click.echo(f"{name}: rebuilt {count} entries")
