"""Finding the files in ``resources/`` (pricing table, example trees, icons).

In a checkout (and an editable install) they sit beside the package; a wheel installs them
under ``<prefix>/share/genarun/resources``.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["resource_path"]


def resource_path(*parts: str) -> Path:
    """The path of a resource; the checkout's copy first. Raises FileNotFoundError."""
    candidates = [
        Path(__file__).resolve().parents[1] / "resources",
        Path(sys.prefix) / "share" / "genarun" / "resources",
    ]
    for base in candidates:
        path = base.joinpath(*parts)
        if path.exists():
            return path
    raise FileNotFoundError(f"resource {'/'.join(parts)} is not installed")
