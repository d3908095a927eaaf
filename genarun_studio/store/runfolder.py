"""One run's folder: the journal while it runs, the clean files when it ends.

    journal.jsonl   one JSON line per finished (or failed, skipped, cached) instance,
                    appended and flushed as it happens: the truth while the run is live
    output.json     the clean output, nested by the tree (see engine.outputs)
    logs.json       per instance: resolved prompt turns, answers, timings, attempts, errors
    run.json        status, inputs, seed, options, totals, engine version, tree hash
    tree.json       the tree exactly as it ran (a snapshot)
    assets/         images and other files, referenced from output.json by relative path

A kill at any moment loses no finished instance: the journal line is written before the
instance counts as done, and output.json/logs.json are rebuilt from the journal.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

from genarun_studio.core.formats import dumps_tree
from genarun_studio.core.tree import Tree
from genarun_studio.store.index import RunIndex

__all__ = ["PRIVATE_FILES", "RunFolder", "write_json_atomic"]


PRIVATE_FILES: dict[str, set[str]] = {"human": {"token"}}
"""Files of a run folder (by sub-folder) that are never copied to ``latest/``."""


def write_json_atomic(path: Path, value: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(value, fh, indent=2, ensure_ascii=False, default=str)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class RunFolder:
    """A run's folder; with an ``index``, every journal line and ``run.json`` update is
    also recorded in the project's SQLite index."""

    def __init__(self, path: Path, run_id: str, index: RunIndex | None = None) -> None:
        self.path = path
        self.run_id = run_id
        self.index = index
        self._journal: IO[str] | None = None

    @classmethod
    def create(
        cls,
        path: Path,
        run_id: str,
        tree: Tree,
        index: RunIndex | None = None,
    ) -> RunFolder:
        path.mkdir(parents=True, exist_ok=True)
        (path / "assets").mkdir(exist_ok=True)
        (path / "tree.json").write_text(dumps_tree(tree), encoding="utf-8")
        return cls(path, run_id, index)

    @property
    def assets(self) -> Path:
        return self.path / "assets"

    def save_asset(self, name: str, data: bytes) -> str:
        """Write ``assets/<name>`` (name must be a plain file name); returns the relative path."""
        if "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"asset name {name!r} must be a plain file name")
        self.assets.mkdir(exist_ok=True)
        target = self.assets / name
        tmp = target.with_name(f".{name}.part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return f"assets/{name}"

    def append_journal(self, record: dict[str, Any]) -> None:
        """Append one line and flush it to the OS before returning."""
        if self._journal is None:
            self._repair_journal()
            self._journal = open(self.path / "journal.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        line = json.dumps(record, ensure_ascii=False, default=str, separators=(",", ":"))
        self._journal.write(line + "\n")
        self._journal.flush()
        if self.index is not None:
            self.index.record_instance(self.run_id, record, str(self.path))

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Write ``run.json`` (and its row in the index)."""
        self.write("run.json", meta)
        if self.index is not None:
            self.index.record_run(meta, str(self.path))

    def _repair_journal(self) -> None:
        """Cut a torn last line (a kill mid-write) so that appended lines stay readable."""
        path = self.path / "journal.jsonl"
        if not path.exists():
            return
        with open(path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)

    def read_journal(self) -> list[dict[str, Any]]:
        """Every complete journal line (a torn last line from a kill is ignored)."""
        path = self.path / "journal.jsonl"
        if not path.exists():
            return []
        records = []
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.endswith("\n"):
                    break
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    break
        return records

    def write(self, name: str, value: Any) -> None:
        write_json_atomic(self.path / name, value)

    def read(self, name: str) -> Any:
        return json.loads((self.path / name).read_text(encoding="utf-8"))

    def publish_latest(self) -> None:
        """Make ``../latest`` a copy of this run (files hard-linked where the disk allows).

        The run's private files (its webhook token) stay out: ``latest/`` is what gets
        published or committed.
        """
        tree_dir = self.path.parent
        tmp = Path(tempfile.mkdtemp(prefix=".latest-", dir=tree_dir))
        private = {self.path / folder: names for folder, names in PRIVATE_FILES.items()}

        def ignore(folder: str, names: list[str]) -> set[str]:
            return private.get(Path(folder), set()) & set(names)

        try:
            shutil.copytree(
                self.path, tmp, dirs_exist_ok=True, copy_function=_link_or_copy, ignore=ignore
            )
            latest = tree_dir / "latest"
            old = tree_dir / f".latest-old-{os.getpid()}"
            if latest.exists():
                latest.rename(old)
            tmp.rename(latest)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
