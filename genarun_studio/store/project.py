"""A project folder: trees and their runs.

    trees/<tree-id>/config.json              the tree (native format)
    trees/<tree-id>/<YYYY-MM-DD_HH-MM-SS>/   one run (see RunFolder)
    trees/<tree-id>/latest/                  copy of the newest finished run

Nothing is ever written outside the project folder: tree ids are identifiers (no path
characters) and every path is checked to stay inside it.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime
from pathlib import Path

from genarun_studio.core.formats import save_tree
from genarun_studio.core.tree import ID_PATTERN, Tree
from genarun_studio.errors import RunError
from genarun_studio.store.history import effective_status
from genarun_studio.store.index import RunIndex
from genarun_studio.store.runfolder import RunFolder

__all__ = ["Project", "default_project_dir", "find_project_dir"]

_ID = re.compile(ID_PATTERN)


def find_project_dir(start: Path | None = None) -> Path | None:
    """The nearest folder holding ``.genarun/``: ``start`` (default: the current directory)
    or one of its parents, as git finds ``.git``; None when there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".genarun").is_dir():
            return folder
    return None


def default_project_dir() -> Path:
    """The project used when none is given: ``$GENARUN_PROJECT``; else the nearest project
    folder (one holding ``.genarun/``) in the current directory or its parents; else
    ``<user data dir>/genarun`` (platformdirs). So commands typed inside a project use it,
    like git inside a repository."""
    env = os.environ.get("GENARUN_PROJECT")
    if env:
        return Path(env)
    found = find_project_dir()
    if found is not None:
        return found
    import platformdirs

    return Path(platformdirs.user_data_dir("genarun", appauthor=False))


class Project:
    """A project folder. ``index=False`` keeps no SQLite index (scratch runs, dry runs)."""

    def __init__(self, root: str | os.PathLike[str], *, index: bool = True) -> None:
        self.root = Path(root).resolve()
        self._use_index = index
        self._index: RunIndex | None = None

    @property
    def index(self) -> RunIndex | None:
        """The project's run index (``.genarun/index.sqlite``), opened on first use."""
        if self._use_index and self._index is None:
            self._index = RunIndex(self.root / ".genarun" / "index.sqlite")
        return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    def tree_dir(self, tree_id: str) -> Path:
        if not _ID.match(tree_id):
            raise RunError(f"tree id {tree_id!r} is not a valid identifier")
        path = (self.root / "trees" / tree_id).resolve()
        if self.root not in path.parents:
            raise RunError(f"tree id {tree_id!r} points outside the project")
        return path

    def new_run(self, tree: Tree, tree_id: str) -> RunFolder:
        """A fresh run folder named by the current local time (suffixed when taken)."""
        tree_dir = self.tree_dir(tree_id)
        tree_dir.mkdir(parents=True, exist_ok=True)
        save_tree(tree, tree_dir / "config.json")
        stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        for n in range(1, 1000):
            name = stamp if n == 1 else f"{stamp}-{n}"
            try:
                (tree_dir / name).mkdir()
            except FileExistsError:
                continue
            return RunFolder.create(
                tree_dir / name, run_id=f"{tree_id}/{name}", tree=tree, index=self.index
            )
        raise RunError(f"cannot find a free run folder name under {tree_dir}")

    def run_folder(self, run_id: str) -> RunFolder:
        """The folder of ``<tree-id>/<timestamp>``; RunError when there is none."""
        tree_id, _, name = run_id.partition("/")
        if not name or "/" in name or name in (".", "..", "latest"):
            raise RunError(f"run id {run_id!r} should look like <tree-id>/<YYYY-MM-DD_HH-MM-SS>")
        path = self.tree_dir(tree_id) / name
        if not path.is_dir():
            raise RunError(f"no run {run_id!r} in {self.root}")
        return RunFolder(path, run_id=run_id, index=self.index)

    def delete_run(self, run_id: str) -> None:
        """Delete a run: its folder and its rows in the index (instances, cached results).

        Refused (RunError) for a run whose process is still going. The folder is first
        renamed aside, so a failure half-way never leaves a half-deleted run listed; a run
        whose folder is already gone just leaves the index. ``latest/`` is a copy and is
        left as it is."""
        tree_id, _, name = run_id.partition("/")
        if not name or "/" in name or name in (".", "..", "latest"):
            raise RunError(f"run id {run_id!r} should look like <tree-id>/<YYYY-MM-DD_HH-MM-SS>")
        path = self.tree_dir(tree_id) / name
        index = self.index
        row = index.run(run_id) if index is not None else None
        if not path.is_dir() and row is None:
            raise RunError(f"no run {run_id!r} in {self.root}")
        if path.is_dir():
            status = effective_status({"status": "running", "run_dir": path})
            if status in ("running", "paused"):
                raise RunError(f"run {run_id!r} is still going; stop it before deleting it")
            trash = path.with_name(f".deleting-{name}-{os.getpid()}")
            path.rename(trash)
        else:
            trash = None
        if index is not None:
            index.delete_run(run_id)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
