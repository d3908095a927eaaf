"""``genarun index`` as a user runs it: add a folder of notes and of images, query, list,
remove; errors are one sentence and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from genarun_studio.cli import cli
from tests.rag.conftest import minilm, tiny_clip, write_images

__all__ = ["minilm", "tiny_clip"]  # fixtures used here


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "gecko.md").write_text("# Geckos\nLeopard geckos hunt crickets at night.")
    (folder / "bread.txt").write_text("Knead the dough and bake the bread until golden.")
    return folder


def test_index_a_folder_then_query_list_and_remove(
    tmp_path: Path, notes: Path, minilm: object
) -> None:
    project = str(tmp_path / "project")
    code, out, _ = invoke("index", "add", "notes", str(notes), "--project", project)
    assert code == 0
    assert "notes: 2 chunk(s) added from 2 file(s)" in out

    code, out, _ = invoke(
        "index", "query", "notes", "what do lizards eat", "-k", "2", "--json", "--project", project
    )
    assert code == 0
    hits = json.loads(out)
    assert hits[0]["source"].endswith("notes/gecko.md")
    assert set(hits[0]) >= {"score", "source", "text"}
    assert hits[0]["score"] > hits[1]["score"]

    code, out, _ = invoke("index", "query", "notes", "baking", "-k", "1", "--project", project)
    assert code == 0
    assert "bread.txt" in out
    assert "Knead the dough" in out

    code, out, _ = invoke("index", "list", "--json", "--project", project)
    assert [(i["name"], i["count"], i["embedder"]) for i in json.loads(out)] == [
        ("notes", 2, "minilm")
    ]
    code, out, _ = invoke("index", "remove", "notes", "--project", project)
    assert (code, out.strip()) == (0, "removed index notes")
    assert invoke("index", "list", "--json", "--project", project)[1].strip() == "[]"


def test_index_a_folder_of_images_and_query_it(tmp_path: Path, tiny_clip: str) -> None:
    project = str(tmp_path / "project")
    write_images(tmp_path / "stills", ["red", "green", "blue"])
    code, out, _ = invoke(
        "index",
        "add",
        "stills",
        str(tmp_path / "stills"),
        "--model",
        tiny_clip,
        "--project",
        project,
    )
    assert code == 0, out
    code, out, _ = invoke("index", "query", "stills", "a sunset", "--json", "--project", project)
    hits = json.loads(out)
    assert len(hits) == 3
    assert all(Path(h["asset"]).name in {"red.png", "green.jpg", "blue.png"} for h in hits)
    assert all("text" not in h for h in hits)
    code, out, _ = invoke(
        "index",
        "query",
        "stills",
        "--image",
        str(tmp_path / "stills" / "red.png"),
        "-k",
        "1",
        "--json",
        "--project",
        project,
    )
    assert Path(json.loads(out)[0]["asset"]).name == "red.png"
    code, out, _ = invoke("index", "query", "stills", "a sunset", "-k", "1", "--project", project)
    assert code == 0
    # an image hit names its file once (its source is the image itself)
    assert len(out.strip().splitlines()) == 1
    assert Path(out.split()[1]).name in {"red.png", "green.jpg", "blue.png"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["index", "query", "missing", "x"], "no index 'missing'"),
        (["index", "remove", "missing"], "no index 'missing'"),
        (["index", "add", "../bad", "."], "index name '../bad' is not valid"),
        (["index", "add", "n", "/no/such/folder"], "no such file or folder: /no/such/folder"),
        (["index", "query", "n"], "give either a query TEXT or --image PATH"),
    ],
)
def test_mistakes_are_one_sentence(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = invoke(*args, "--project", str(tmp_path))
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_a_folder_with_nothing_to_index_is_named_and_leaves_no_index(tmp_path: Path) -> None:
    write_images(tmp_path / "stills", ["red", "blue"])
    code, _, err = invoke(
        "index", "add", "pics", str(tmp_path / "stills"), "--project", str(tmp_path)
    )
    assert code == 2
    assert "only images under" in err
    assert "--model clip" in err
    (tmp_path / "empty").mkdir()
    code, _, err = invoke(
        "index", "add", "pics", str(tmp_path / "empty"), "--project", str(tmp_path)
    )
    assert code == 2
    assert "no text, Markdown or PDF files under" in err
    assert not (tmp_path / ".genarun" / "indexes" / "pics").exists()


def test_a_damaged_index_does_not_hide_the_others(
    tmp_path: Path, notes: Path, minilm: object
) -> None:
    project = ["--project", str(tmp_path)]
    assert invoke("index", "add", "good", str(notes), *project)[0] == 0
    assert invoke("index", "add", "bad", str(notes), *project)[0] == 0
    (entries,) = (tmp_path / ".genarun" / "indexes" / "bad").glob("entries-*.jsonl")
    entries.write_text("{not json\n")
    code, out, _ = invoke("index", "list", *project)
    assert code == 0
    assert "bad                  cannot be read: index 'bad' is damaged" in out
    assert out.splitlines()[1].startswith("good ")
    code, out, _ = invoke("index", "list", "--json", *project)
    listed = json.loads(out)
    assert listed[0]["name"] == "bad"
    assert "damaged" in listed[0]["error"]
    assert listed[1]["count"] == 2
    code, _, err = invoke("index", "rebuild", "bad", *project)
    assert code == 2
    assert "damaged beyond a rebuild" in err


def test_a_pdf_without_text_is_named(tmp_path: Path, notes: Path, minilm: object) -> None:
    from PIL import Image

    Image.new("RGB", (200, 100), "white").save(notes / "scan.pdf")  # a scan: images only
    code, out, err = invoke("index", "add", "n", str(notes), "--project", str(tmp_path))
    assert code == 0
    assert "2 chunk(s) added from 3 file(s)" in out
    assert "note: 1 file(s) held no text" in err
    assert "scan.pdf" in err
    code, out, _ = invoke("index", "add", "n", str(notes), "--json", "--project", str(tmp_path))
    assert json.loads(out)["empty"] == ["notes/scan.pdf"]  # inside the project: relative


def test_the_installed_command_prints_no_progress_noise(tmp_path: Path, notes: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "genarun_studio",
            "index",
            "add",
            "n",
            str(notes),
            "--json",
            "--project",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["added"] == 2
    assert "Loading weights" not in result.stderr


_WITHOUT = """
import sys
sys.modules[{module!r}] = None  # as if the extra were not installed
from genarun_studio.cli import main
sys.argv = ["genarun", *{args!r}]
main()
"""


@pytest.mark.parametrize(
    ("module", "extra", "model"),
    [
        ("faiss", "rag", "minilm"),
        ("sentence_transformers", "rag", "st:some-model"),
        ("open_clip", "clip", "clip"),
    ],
)
def test_a_missing_extra_names_the_pip_install(
    tmp_path: Path, notes: Path, module: str, extra: str, model: str
) -> None:
    args = ["index", "add", "n", str(notes), "--model", model, "--project", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT.format(module=module, args=args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"pip install -e '.[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".genarun" / "indexes" / "n").exists()


def test_a_run_without_the_rag_extra_says_which_pip_install_fixes_it(tmp_path: Path) -> None:
    """A base install (no numpy, no faiss) running a retrieval tree: the node fails with the
    pip command, printed as written (its ``[rag]`` is not taken for terminal markup)."""
    from genarun_studio.resources import resource_path

    tree = str(resource_path("examples", "research-notes.genarun.json"))
    args = ["run", tree, "--mock", "--project", str(tmp_path), "-q"]
    code = (
        "import sys\nsys.modules['numpy'] = None\nsys.modules['faiss'] = None\n"
        + _WITHOUT.split("\n", 3)[3].format(args=args)
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 3, result.stderr
    shown = " ".join(result.stderr.split())  # the report goes to stderr, wrapped
    assert "failed notes: Retrieval indexes: the 'numpy' package is not installed" in shown
    assert "pip install -e '.[rag]'" in shown
    assert "ModuleNotFoundError" not in result.stdout + result.stderr
