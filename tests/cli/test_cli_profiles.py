"""Tests of ``genarun profiles``: the user's model profiles from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from genarun_studio.cli import cli
from genarun_studio.profiles import load_profiles, profiles_path
from genarun_studio.resources import resource_path


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"genarun crashed: {result.exception!r}\n{result.output}")
    return result


def test_set_list_and_remove_a_profile() -> None:
    result = invoke(
        "profiles",
        "set",
        "local",
        "--model",
        "llama3.2",
        "--base-url",
        "http://localhost:11434/v1",
        "--param",
        "temperature=0.2",
    )
    assert result.exit_code == 0, result.output
    profile = load_profiles()["local"]
    assert (profile.model, profile.base_url, profile.params) == (
        "llama3.2",
        "http://localhost:11434/v1",
        {"temperature": 0.2},
    )
    listed = json.loads(invoke("profiles", "list", "--json").stdout)
    assert [(p["name"], p["source"]) for p in listed] == [
        ("local", "user"),
        ("embed", "built-in"),
        ("image", "built-in"),
        ("text", "built-in"),
    ]
    assert invoke("profiles", "remove", "local").exit_code == 0
    assert load_profiles() == {}


def test_changing_a_built_in_profile_keeps_what_is_not_given() -> None:
    assert invoke("profiles", "set", "text", "--key-name", "work").exit_code == 0
    profile = load_profiles()["text"]
    assert (profile.model, profile.key_name) == ("gpt-4o-mini", "work")


def test_mistakes_are_clear_errors() -> None:
    new = invoke("profiles", "set", "fresh")
    assert new.exit_code == 2
    assert "give its --model" in new.stderr
    assert "no user profile 'ghost'" in invoke("profiles", "remove", "ghost").stderr
    bad_param = invoke("profiles", "set", "x", "--model", "m", "--param", "oops")
    assert "expected KEY=JSON" in bad_param.stderr


def test_a_damaged_profiles_file_stops_a_run_before_it_starts(tmp_path: Path) -> None:
    path = profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"profiles": {"text": {"model": 3}}}')
    tree = str(resource_path("examples", "lizard-blog.genarun.json"))
    result = invoke("run", tree, "--mock", "--project", str(tmp_path / "p"), "-q")
    assert result.exit_code == 2
    assert "$.profiles.text.model" in result.stderr
    assert not (tmp_path / "p" / "trees").exists()
