"""The layers hold: no Qt outside genarun_studio/qt/, heavy libraries imported lazily, and
the code passes the project's linters (so CI enforces them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent


def test_engine_cli_and_nodes_import_no_qt_and_nothing_heavy() -> None:
    code = (
        "import sys, json\n"
        "import genarun_studio.cli, genarun_studio.engine, genarun_studio.core.formats\n"
        "import genarun_studio.store, genarun_studio.providers.mock, genarun_nodes\n"
        "import genarun_studio.rag, genarun_studio.cli_index, genarun_nodes.rag\n"
        "from genarun_studio.core.registry import default_registry\n"
        "default_registry()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout))
    forbidden = {
        "PySide6",
        "qasync",
        "shiboken6",
        "torch",
        "open_clip",
        "faiss",
        "sentence_transformers",
        "openai",
        "PIL",
    }
    assert not loaded & forbidden


def test_import_linter_contracts_are_kept() -> None:
    result = subprocess.run([str(BIN / "lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_ruff_finds_nothing() -> None:
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_mypy_strict_finds_nothing() -> None:
    result = subprocess.run([str(BIN / "mypy")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_every_module_outside_qt_is_under_the_no_qt_contract() -> None:
    """A new module (a CLI group, a package) must not slip past the Qt contract."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [contract] = [
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["name"] == "Qt stays inside genarun_studio.qt"
    ]
    covered = set(contract["source_modules"])
    package = ROOT / "genarun_studio"
    modules = {
        f"genarun_studio.{p.stem}"
        for p in package.iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").is_file())
        and p.stem not in ("__init__", "__main__", "qt")
    }
    assert modules - covered == set()
