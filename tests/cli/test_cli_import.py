"""``genarun import`` and ``genarun run FILE.js``: the original Genarun's JavaScript trees."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from genarun_studio.cli import cli
from genarun_studio.core.formats import load_tree

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "original-style.js"

MODULE = """\
export const myTree = {
  id: "year", type: "object", requiredInputs: ["year"], // groups
  generations: [{
    id: "ideas", type: "text-array", outputKey: "themes",
    config: { prompt: [{ template: "Ideas for ${year}", parseJson: true }] },
    validation: { minLength: 2, maxLength: 2 },
    generations: [{
      id: "series", type: "object", outputKey: "texts", requiredInputs: ["i"],
      config: {
        prompt: [{ parseJson: true, template: `A project on \\${i}
as JSON with "title" and "portrait"` }],
        validation: { required: ["title", "portrait"] },
      },
      generations: [{
        id: "photo", type: "image", requiredInputs: ["portrait"],
        config: { prompt: { template: "${portrait}" }, model: { name: "image" } },
      }],
    }],
  }],
};
export const projectConfig = { models: { text: "gpt-4o-mini" }, generations: [myTree] };
"""


def invoke(*args: str | Path) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"genarun crashed: {result.exception!r}\n{result.output}")
    return result


def module(tmp_path: Path, text: str = MODULE) -> Path:
    path = tmp_path / "tree1.js"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_writes_a_native_tree_beside_the_module(tmp_path: Path) -> None:
    source = module(tmp_path)
    result = invoke("import", source)
    assert result.exit_code == 0, result.output
    target = tmp_path / "tree1.genarun.json"
    assert f"wrote {target} (4 nodes, native format)" in result.stdout
    data = json.loads(target.read_text())
    assert data["format"] == "genarun/1"
    assert data["models"]["text"]["model"] == "gpt-4o-mini"
    assert load_tree(target) == load_tree(source)
    assert invoke("validate", target).exit_code == 0


def test_import_keeps_an_existing_file_unless_forced(tmp_path: Path) -> None:
    source = module(tmp_path)
    target = tmp_path / "out.genarun.json"
    target.write_text("mine")
    result = invoke("import", source, "-o", target)
    assert result.exit_code == 2
    assert result.stderr == (
        f"genarun: {target}: exists; choose another -o or pass --force to overwrite it\n"
    )
    assert target.read_text() == "mine"
    assert invoke("import", source, "-o", target, "--force").exit_code == 0
    assert json.loads(target.read_text())["format"] == "genarun/1"


def test_import_never_writes_over_the_module_itself(tmp_path: Path) -> None:
    source = module(tmp_path)
    result = invoke("import", source, "-o", source, "--force")
    assert result.exit_code == 2
    assert "is the file being imported" in result.stderr
    assert source.read_text() == MODULE


def test_import_export_picks_an_export_and_dash_prints_it(tmp_path: Path) -> None:
    source = module(tmp_path)
    result = invoke("import", source, "--export", "myTree", "-o", "-")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "models" not in data  # myTree alone carries none
    assert data["nodes"][0]["id"] == "year"
    bad = invoke("import", source, "--export", "nope")
    assert bad.exit_code == 2
    assert bad.stderr == (
        f"genarun: {source}: exports no 'nope'; its exports: myTree, projectConfig\n"
    )


def test_a_bad_module_is_one_line_with_file_line_and_column(tmp_path: Path) -> None:
    source = module(tmp_path, "export const t = {\n  type: 'text',\n  config: load(),\n};\n")
    for command in ("import", "run", "validate"):
        result = invoke(command, source)
        assert result.exit_code == 2
        assert result.stderr == (
            f"genarun: {source}: line 3, column 11: a function call is not read "
            "(only literal data is)\n"
        )
    assert not (tmp_path / "tree1.genarun.json").exists()


def test_run_a_js_tree_end_to_end_on_the_mock(tmp_path: Path) -> None:
    source = module(tmp_path)
    project = tmp_path / "project"
    args = ("run", source, "--mock", "--quiet", "--json", "--project", project)
    result = invoke(*args, "--input", "year=2024")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished"
    run_dir = Path(summary["run_dir"])
    output = json.loads((run_dir / "output.json").read_text())
    assert output["year"] == {}
    assert len(output["themes"]) == 2
    for theme in output["themes"]:
        assert set(theme["texts"]) >= {"title", "portrait"}
        assert (run_dir / theme["photo"]).read_bytes().startswith(b"\x89PNG")
    logs = (run_dir / "logs.json").read_text()
    assert "Ideas for 2024" in logs  # the grouping node "year" does not hide the input


def test_the_shipped_example_runs_with_mock_and_year(tmp_path: Path) -> None:
    args = ("run", EXAMPLE, "--mock", "--quiet", "--json", "--project", tmp_path)
    result = invoke(*args, "--input", "year=2024")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["status"] == "finished"
