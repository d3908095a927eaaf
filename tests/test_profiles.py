"""The user's model profiles: the file, its errors, and which profile a tree's node gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genarun_studio.core.formats import tree_from_data
from genarun_studio.core.tree import ModelProfile
from genarun_studio.profiles import (
    ProfilesError,
    load_profiles,
    profile_names,
    profiles_path,
    save_profiles,
    with_profiles,
)

LOCAL = ModelProfile(model="llama3.2", base_url="http://localhost:11434/v1", key_name="ollama")


def test_no_file_means_no_user_profiles() -> None:
    assert not profiles_path().exists()
    assert load_profiles() == {}


def test_profiles_round_trip_through_the_config_folder() -> None:
    path = save_profiles({"local": LOCAL, "text": ModelProfile(model="gpt-4.1-mini")})
    assert path == profiles_path()
    assert load_profiles() == {"local": LOCAL, "text": ModelProfile(model="gpt-4.1-mini")}
    data = json.loads(path.read_text())
    assert data["profiles"]["local"] == {
        "model": "llama3.2",
        "base_url": "http://localhost:11434/v1",
        "key_name": "ollama",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not valid JSON (line 1"),
        ('{"local": {}}', 'expected {"profiles"'),
        ('{"profiles": {"x": {"model": 3}}}', "$.profiles.x.model"),
        ('{"profiles": {"x": {"model": "m", "base_url": 1}}}', "$.profiles.x.base_url"),
    ],
)
def test_a_damaged_file_is_an_error_naming_the_file_and_the_place(text: str, expected: str) -> None:
    path = profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    with pytest.raises(ProfilesError) as caught:
        load_profiles()
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_a_tree_s_own_profile_wins_over_the_user_s() -> None:
    tree = tree_from_data(
        {
            "id": "t",
            "models": {"text": {"model": "mine"}},
            "nodes": [{"id": "a", "type": "text", "config": {"prompt": "p"}}],
        }
    )
    merged = with_profiles(tree, {"text": LOCAL, "local": LOCAL})
    assert merged.models["text"].model == "mine"
    assert merged.models["local"] == LOCAL
    assert "local" not in tree.models  # the document's tree is not changed
    assert with_profiles(tree, {}) is tree
    assert profile_names(tree, {"local": LOCAL}) == ["embed", "image", "local", "text"]


def test_saving_into_a_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ProfilesError, match="cannot save the model profiles"):
        save_profiles({"local": LOCAL}, blocker / "sub" / "profiles.json")
