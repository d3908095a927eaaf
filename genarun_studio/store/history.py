"""Reading the run history: a run's status as a user should see it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["effective_status", "process_alive"]


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def effective_status(row: dict[str, Any]) -> str:
    """``interrupted`` for a run recorded as running whose process is gone (a crash or a
    kill), so it can be resumed; the recorded status otherwise."""
    status = str(row["status"])
    if status not in ("running", "paused"):
        return status
    try:
        meta = json.loads((Path(row["run_dir"]) / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return "interrupted"
    pid = meta.get("pid")
    if isinstance(pid, int) and process_alive(pid):
        return status
    return "interrupted"
