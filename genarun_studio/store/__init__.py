"""Projects and run folders on disk (docs/architecture.md §6)."""

from __future__ import annotations

from genarun_studio.store.project import Project, default_project_dir, find_project_dir
from genarun_studio.store.runfolder import RunFolder

__all__ = ["Project", "RunFolder", "default_project_dir", "find_project_dir"]
