"""What a newcomer meets first (issue 15): where runs go, keys before a run, lanes and
ignored options, grouped warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from genarun_studio.cli import cli
from genarun_studio.store import default_project_dir, find_project_dir

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


# -- project discovery (like git) ----------------------------------------------------------


def test_the_nearest_folder_holding_dot_genarun_is_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GENARUN_PROJECT", raising=False)
    (tmp_path / "proj" / ".genarun").mkdir(parents=True)
    deep = tmp_path / "proj" / "trees" / "notes"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_project_dir() == (tmp_path / "proj").resolve()
    assert default_project_dir() == (tmp_path / "proj").resolve()
    monkeypatch.setenv("GENARUN_PROJECT", str(tmp_path / "elsewhere"))  # the variable wins
    assert default_project_dir() == tmp_path / "elsewhere"


def test_without_a_project_around_the_user_data_folder_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GENARUN_PROJECT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert find_project_dir(tmp_path) is None
    import platformdirs

    assert default_project_dir() == Path(platformdirs.user_data_dir("genarun", appauthor=False))


def test_a_run_without_project_lands_in_the_project_of_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GENARUN_PROJECT", raising=False)
    project = tmp_path / "tour"
    first = invoke(
        "run", str(EXAMPLES / "lizard-blog.genarun.json"), "--mock", "--project", str(project)
    )
    assert first.exit_code == 0, first.output
    assert (project / ".genarun").is_dir()
    monkeypatch.chdir(project)
    result = invoke("run", str(EXAMPLES / "city-guide.genarun.json"), "--mock", "--json")
    assert result.exit_code == 0, result.output
    run_dir = Path(json.loads(result.stdout.strip().splitlines()[-1])["run_dir"])
    assert run_dir.parent == project.resolve() / "trees" / "city-guide"
    listed = invoke("runs", "list", "--json")
    assert {r["tree"] for r in json.loads(listed.stdout)} == {"lizard-blog", "city-guide"}
