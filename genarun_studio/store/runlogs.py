"""What the editor reads from a run folder to show it: the instance records and which of
the asset files are images.

:func:`read_log_records` reads ``logs.json`` (written when a run ends) or, for a run still
going or interrupted, the last journal record of every instance (the journal holds the same
records). Qt-free, so the run log view, the asset gallery and run compare share it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genarun_studio.store.rebuild import latest_records
from genarun_studio.store.runfolder import RunFolder

__all__ = ["IMAGE_SUFFIXES", "read_log_records"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"})
"""Asset files shown as images (gallery, thumbnails, run compare)."""


def read_log_records(run_dir: Path, run_id: str = "") -> tuple[list[dict[str, Any]], str]:
    """The instance records of a run and where they came from (``logs.json`` or
    ``journal.jsonl``); ``([], message)`` when neither can be read."""
    logs = run_dir / "logs.json"
    if logs.is_file():
        try:
            data = json.loads(logs.read_text(encoding="utf-8"))
            records = data.get("instances") if isinstance(data, dict) else None
            if isinstance(records, list):
                return [r for r in records if isinstance(r, dict) and "key" in r], "logs.json"
        except (OSError, ValueError):
            pass  # fall back to the journal, which holds the same records
    if (run_dir / "journal.jsonl").is_file():
        return latest_records(RunFolder(run_dir, run_id)), "journal.jsonl"
    return [], f"this run has no logs.json and no journal ({run_dir})"
