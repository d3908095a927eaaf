"""Tests of reading trees written for the original JavaScript Genarun."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from genarun_studio.core.formats import (
    dumps_tree,
    load_tree,
    loads_tree,
    save_tree,
    source_path,
    tree_from_data,
)
from genarun_studio.core.legacy import identifier, is_legacy, legacy_path, wrap_legacy
from genarun_studio.core.registry import default_registry
from genarun_studio.core.tree import Tree
from genarun_studio.core.validate import check_tree
from genarun_studio.errors import TreeError

# A legacy project in the original's shape: a photo exhibition.
PHOTO_SHOW: dict[str, Any] = {
    "name": "Photo exhibition",
    "description": "An exhibition of photo series",
    "models": {
        "text": "gpt-4o-mini",
        "image": {"endpoint": "dall-e-3", "defaultParams": {"style": "natural"}},
    },
    "curator": {"name": "R. Doisneau", "notes": ["black and white"]},
    "generations": [
        {
            "type": "text-array",
            "outputKey": "series",
            "requiredInputs": ["theme"],
            "parallel": True,
            "config": {
                "model": "gpt-4o",
                "temperature": 0.9,
                "prompt": [
                    {
                        "system": "You curate photo exhibitions.",
                        "template": "List ten photo series about ${theme}.",
                    },
                    {"template": "Keep the best five, as a JSON array.", "parseJson": True},
                ],
            },
            "validation": {"minLength": 3, "maxLength": 6},
            "generations": [
                {
                    "type": "object",
                    "outputKey": "photos",
                    "config": {
                        "prompt": {
                            "prefix": "For the series",
                            "template": "${series}",
                            "suffix": "describe five photos as JSON objects.",
                        }
                    },
                    "validation": {"required": ["title", "caption"], "minLength": 5},
                    "generations": [
                        {
                            "type": "image",
                            "outputKey": "print",
                            "config": {
                                "prompt": "A fine-art photograph: ${photos.caption}",
                                "size": "1024x1536",
                                "quality": "hd",
                            },
                        }
                    ],
                },
                {
                    "type": "text",
                    "outputKey": "series",
                    "config": {
                        "prompt": [
                            {
                                "system": "You write wall texts.",
                                "template": "Write a wall text for ${series}.",
                            },
                            {"template": 'Now as JSON {"text": ...}.', "parseJson": True},
                        ]
                    },
                },
            ],
        }
    ],
}

PHOTO_SHOW_NATIVE: dict[str, Any] = {
    "format": "genarun/1",
    "name": "Photo exhibition",
    "description": "An exhibition of photo series",
    "models": {
        "text": {"provider": "openai", "model": "gpt-4o-mini"},
        "image": {"provider": "openai", "model": "dall-e-3", "params": {"style": "natural"}},
    },
    "meta": {"legacy": {"curator": {"name": "R. Doisneau", "notes": ["black and white"]}}},
    "nodes": [
        {
            "id": "series",
            "type": "text-array",
            "output_key": "series",
            "required_inputs": ["theme"],
            "meta": {"legacy": {"parallel": True}},
            "config": {
                "model": "gpt-4o",
                "params": {"temperature": 0.9},
                "prompt": [
                    {
                        "system": "You curate photo exhibitions.",
                        "template": "List ten photo series about ${theme}.",
                    },
                    {"template": "Keep the best five, as a JSON array.", "parse_json": True},
                ],
                "validation": {"min_items": 3, "max_items": 6},
            },
            "children": [
                {
                    "id": "photos",
                    "type": "object",
                    "output_key": "photos",
                    "config": {
                        "prompt": [
                            {
                                "prefix": "For the series ",
                                "template": "${series}",
                                "suffix": " describe five photos as JSON objects.",
                            }
                        ],
                        "validation": {"required": ["title", "caption"], "min_items": 5},
                    },
                    "children": [
                        {
                            "id": "print",
                            "type": "image",
                            "output_key": "print",
                            "config": {
                                "prompt": [
                                    {"template": "A fine-art photograph: ${photos.caption}"}
                                ],
                                "size": "1024x1536",
                                "quality": "hd",
                            },
                        }
                    ],
                },
                {
                    "id": "series-2",
                    "type": "text",
                    "output_key": "series",
                    "config": {
                        "prompt": [
                            {
                                "system": "You write wall texts.",
                                "template": "Write a wall text for ${series}.",
                            },
                            {"template": 'Now as JSON {"text": ...}.', "parse_json": True},
                        ]
                    },
                },
            ],
        }
    ],
}


def legacy_error(doc: Any, file: str = "old.json") -> TreeError:
    with pytest.raises(TreeError) as info:
        loads_tree(json.dumps(doc), file=file)
    assert info.value.file == file
    return info.value


def paths(error: TreeError) -> list[str]:
    return [p for p, _ in error.problems]


# ---------------------------------------------------------------------------------------
# The photo exhibition


def test_legacy_project_converts_to_the_expected_native_tree() -> None:
    tree = tree_from_data(PHOTO_SHOW)
    assert tree == tree_from_data(PHOTO_SHOW_NATIVE)
    assert tree.source_format == "legacy"


def test_converted_nodes_field_by_field() -> None:
    tree = tree_from_data(PHOTO_SHOW)
    series = tree.node("series")
    assert series.key == "series"
    assert series.required_inputs == ["theme"]
    assert series.config["model"] == "gpt-4o"
    assert series.config["validation"] == {"min_items": 3, "max_items": 6}
    assert series.config["prompt"][0]["system"] == "You curate photo exhibitions."
    assert series.config["prompt"][1]["parse_json"] is True
    assert series.meta == {"legacy": {"parallel": True}}
    photos = tree.node("photos")
    assert photos.config["validation"] == {"required": ["title", "caption"], "min_items": 5}
    image = tree.node("print")
    assert (image.config["size"], image.config["quality"]) == ("1024x1536", "hd")
    # Two generations with outputKey "series": ids are made unique, keys are kept.
    assert [n.id for n in tree.walk()] == ["series", "photos", "print", "series-2"]
    assert tree.node("series-2").key == "series"
    assert tree.models["image"].model == "dall-e-3"
    assert tree.models["image"].params == {"style": "natural"}
    assert tree.meta["legacy"]["curator"]["name"] == "R. Doisneau"


def test_prefix_and_suffix_are_joined_with_a_space_as_the_original_did() -> None:
    turn = tree_from_data(PHOTO_SHOW).node("photos").config["prompt"][0]
    joined = turn["prefix"] + "Seaside" + turn["suffix"]
    assert joined == "For the series Seaside describe five photos as JSON objects."


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ({"prefix": "A", "template": "b", "suffix": "c"}, "A b c"),
        ({"prefix": "A\n", "template": "b", "suffix": " c"}, "A\nb c"),
        ({"prefix": "A", "suffix": "c"}, "A c"),
        ({"template": "b", "suffix": "c"}, "b c"),
        ({"prefix": "A", "template": "b"}, "A b"),
        ({"prefix": "A"}, "A"),
    ],
)
def test_prompt_parts_join_like_the_original(prompt: dict[str, str], expected: str) -> None:
    doc = {"type": "text", "outputKey": "t", "config": {"prompt": prompt}}
    (turn,) = tree_from_data(doc).nodes[0].config["prompt"]
    assert turn.get("prefix", "") + turn["template"] + turn.get("suffix", "") == expected


def test_converted_tree_has_no_problems() -> None:
    tree = tree_from_data(PHOTO_SHOW)
    assert check_tree(tree, default_registry()) == []


def test_saving_a_legacy_tree_writes_native_and_reloads_the_same(tmp_path: Path) -> None:
    source = tmp_path / "photo-show.json"
    source.write_text(json.dumps(PHOTO_SHOW), encoding="utf-8")
    tree = load_tree(source)
    assert tree.id == "photo-show"
    target = tmp_path / "saved.genarun.json"
    save_tree(tree, target)
    text = target.read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["format"] == "genarun/1"
    for legacy_word in ('"generations"', '"outputKey"', '"requiredInputs"', '"parseJson"'):
        assert legacy_word not in text
    again = load_tree(target)
    assert again.source_format == "native"
    assert again == tree
    assert dumps_tree(again) == dumps_tree(tree)


def test_unknown_legacy_fields_are_kept_in_meta() -> None:
    doc = copy.deepcopy(PHOTO_SHOW)
    gen = doc["generations"][0]
    gen["validation"]["strict"] = True
    gen["config"]["prompt"][0]["role"] = "curator"
    tree = tree_from_data(doc)
    legacy = tree.node("series").meta["legacy"]
    assert legacy["validation"] == {"strict": True}
    assert legacy["prompt"] == [{"role": "curator"}, {}]
    assert legacy["parallel"] is True


# ---------------------------------------------------------------------------------------
# The forms a legacy file may take


def test_a_bare_list_of_generations_loads() -> None:
    tree = tree_from_data(PHOTO_SHOW["generations"])
    assert [n.id for n in tree.walk()] == ["series", "photos", "print", "series-2"]
    assert tree.models == {}
    assert tree.source_format == "legacy"


def test_a_single_generation_loads() -> None:
    tree = tree_from_data(PHOTO_SHOW["generations"][0]["generations"][0])
    assert [n.id for n in tree.walk()] == ["photos", "print"]


def test_a_single_generation_without_children_or_output_key_loads() -> None:
    tree = loads_tree('{"type": "text", "config": {"prompt": "Say hello"}}')
    assert tree.nodes[0].type == "text"
    assert tree.nodes[0].config["prompt"] == [{"template": "Say hello"}]
    assert tree.source_format == "legacy"


def test_which_documents_are_legacy() -> None:
    assert is_legacy([])
    assert is_legacy({"generations": []})
    assert is_legacy({"type": "text"})
    assert is_legacy({"outputKey": "x"})
    assert not is_legacy({"nodes": []})
    assert not is_legacy({"format": "genarun/1", "generations": []})
    assert not is_legacy({})
    assert wrap_legacy([1]) == {"generations": [1]}
    assert wrap_legacy({"type": "t", "generations": []}) == {
        "generations": [{"type": "t", "generations": []}]
    }


def test_the_originals_own_shape_loads() -> None:
    """``config.model`` as ``{name, ...settings}``, ``validation.required: true``, ids."""
    doc = {
        "id": "year",
        "type": "object",
        "requiredInputs": ["year"],
        "config": {"prompt": "Summarise ${year} as JSON."},
        "generations": [
            {
                "id": "ideas",
                "type": "text-array",
                "outputKey": "themes",
                "config": {
                    "prompt": [{"template": "News ideas for ${year}.", "parseJson": True}],
                    "model": {"name": "text", "temperature": 0.8},
                },
                "validation": {"minLength": 3, "maxLength": 20, "required": True},
                "generations": [
                    {
                        "id": "portrait",
                        "type": "image",
                        "requiredInputs": ["i"],
                        "config": {
                            "prompt": {"prefix": "A portrait of", "template": "${i}"},
                            "model": {"name": "image", "quality": "hd"},
                        },
                    }
                ],
            }
        ],
    }
    tree = tree_from_data(doc)
    assert [n.id for n in tree.walk()] == ["year", "ideas", "portrait"]
    assert tree.inputs == {}, "the original named its inputs only in requiredInputs"
    assert tree.nodes[0].required_inputs == ["year"]
    ideas = tree.node("ideas")
    assert ideas.key == "themes"
    assert "profile" not in ideas.config
    assert "model" not in ideas.config
    assert ideas.config["params"] == {"temperature": 0.8}
    assert ideas.config["validation"] == {"min_items": 3, "max_items": 20}
    assert ideas.meta["legacy"]["validation"] == {"required": True}
    portrait = tree.node("portrait")
    assert portrait.config["quality"] == "hd"
    assert portrait.config["prompt"] == [{"prefix": "A portrait of ", "template": "${i}"}]
    assert check_tree(tree, default_registry()) == []


def test_a_model_naming_a_project_profile_becomes_the_profile() -> None:
    doc = {
        "models": {"fast": "gpt-4o-mini", "text": "gpt-4o"},
        "generations": [
            {"type": "text", "outputKey": "a", "config": {"prompt": "x", "model": "fast"}},
            {
                "type": "text",
                "outputKey": "b",
                "config": {"prompt": "x", "model": {"name": "fast"}},
            },
            {"type": "text", "outputKey": "c", "config": {"prompt": "x", "model": "o3"}},
        ],
    }
    tree = tree_from_data(doc)
    assert tree.node("a").config == {"prompt": [{"template": "x"}], "profile": "fast"}
    assert tree.node("b").config == {"prompt": [{"template": "x"}], "profile": "fast"}
    assert tree.node("c").config == {"prompt": [{"template": "x"}], "model": "o3"}


def test_legacy_inputs_become_declared_inputs() -> None:
    doc = {
        "inputs": {"year": 2024, "place": {"type": "string", "default": "Paris"}, "tags": ["a"]},
        "generations": [{"type": "text", "outputKey": "a", "config": {"prompt": "${year}"}}],
    }
    tree = tree_from_data(doc)
    assert tree.inputs["year"].default == 2024
    assert tree.inputs["year"].type == "integer"
    assert tree.inputs["place"].default == "Paris"
    assert tree.inputs["tags"].type == "array"


def test_ids_and_keys_that_are_not_identifiers_are_sanitised_and_kept_in_meta() -> None:
    doc = [
        {"type": "text", "id": "../../etc", "config": {"prompt": "x"}},
        {"type": "text", "outputKey": "photo captions", "config": {"prompt": "x"}},
        {"type": "text", "outputKey": "2024", "config": {"prompt": "x"}},
        {"type": "text", "config": {"prompt": "x"}},
    ]
    tree = tree_from_data(doc)
    ids = [n.id for n in tree.walk()]
    assert ids == ["etc", "photo_captions", "n_2024", "text_4"]
    assert tree.node("etc").meta["legacy"]["id"] == "../../etc"
    assert tree.node("photo_captions").meta["legacy"]["outputKey"] == "photo captions"


def test_many_equal_output_keys_give_unique_valid_ids() -> None:
    # Each under the last: a text-array fans out, so equal keys land in different objects.
    doc = {"type": "text-array", "outputKey": "k" * 70, "config": {"prompt": "x"}}
    parent = doc
    for _ in range(12):
        child = {"type": "text-array", "outputKey": "k" * 70, "config": {"prompt": "x"}}
        parent["generations"] = [child]
        parent = child
    tree = tree_from_data(doc)
    ids = [n.id for n in tree.walk()]
    assert len(set(ids)) == 13
    assert all(len(i) <= 64 for i in ids)


def test_image_validation_is_kept_in_meta() -> None:
    doc = {
        "type": "image",
        "outputKey": "pic",
        "config": {"prompt": "x"},
        "validation": {"required": ["url"]},
    }
    node = tree_from_data(doc).nodes[0]
    assert "validation" not in node.config
    assert node.meta["legacy"]["validation"] == {"required": ["url"]}


def test_a_disabled_generation_is_disabled() -> None:
    doc = [
        {"type": "text", "outputKey": "a", "config": {"prompt": "x"}, "disabled": True},
        {"type": "text", "outputKey": "b", "config": {"prompt": "x"}, "enabled": False},
        {"type": "text", "outputKey": "c", "config": {"prompt": "x"}, "title": "C"},
    ]
    tree = tree_from_data(doc)
    assert [n.enabled for n in tree.walk()] == [False, False, True]
    assert tree.node("c").title == "C"


# ---------------------------------------------------------------------------------------
# Errors are reported in the legacy file's terms


def _nested_error_doc() -> dict[str, Any]:
    return {
        "generations": [
            {
                "type": "text",
                "outputKey": "a",
                "config": {"prompt": "x"},
                "generations": [
                    {"type": "text", "outputKey": "b", "config": {"prompt": "y"}},
                    {"type": "video", "outputKey": "c", "config": {"prompt": "z"}},
                ],
            }
        ]
    }


def test_an_unknown_legacy_type_is_reported_at_the_legacy_path() -> None:
    error = legacy_error(_nested_error_doc())
    assert paths(error) == ["generations[0].generations[1].type"]
    assert "'video'" in str(error)
    assert str(error).startswith("old.json: generations[0].generations[1].type: ")


def test_legacy_paths_in_a_bare_list_and_a_single_generation() -> None:
    project = _nested_error_doc()
    assert paths(legacy_error(project["generations"])) == ["[0].generations[1].type"]
    assert paths(legacy_error(project["generations"][0])) == ["generations[1].type"]


def test_a_missing_type_is_reported_at_the_legacy_path() -> None:
    doc = _nested_error_doc()
    del doc["generations"][0]["generations"][1]["type"]
    assert paths(legacy_error(doc)) == ["generations[0].generations[1].type"]
    assert paths(legacy_error(doc["generations"][0])) == ["generations[1].type"]
    assert paths(legacy_error(doc["generations"])) == ["[0].generations[1].type"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda g: g.update(outputKey=5), "generations[0].generations[0].outputKey"),
        (lambda g: g.update(requiredInputs="x"), "generations[0].generations[0].requiredInputs"),
        (lambda g: g["config"].update(prompt=5), "generations[0].generations[0].config.prompt"),
        (
            lambda g: g["config"].update(prompt=[{"template": "x"}, 7]),
            "generations[0].generations[0].config.prompt[1]",
        ),
        (
            lambda g: g["config"].update(prompt={"template": ["x"]}),
            "generations[0].generations[0].config.prompt[0].template",
        ),
        (lambda g: g["config"].update(model=3), "generations[0].generations[0].config.model"),
        (
            lambda g: g.update(validation={"minLength": -1}),
            "generations[0].generations[0].validation.minLength",
        ),
        (
            lambda g: g.update(validation={"required": "x"}),
            "generations[0].generations[0].validation.required",
        ),
        (lambda g: g.update(generations={}), "generations[0].generations[0].generations"),
        (
            lambda g: g["config"].update(prompt="Hi ${x"),
            "generations[0].generations[0].config.prompt[0].template",
        ),
        (
            lambda g: g.update(validation={"minLength": 5, "maxLength": 1}),
            "generations[0].generations[0].validation",
        ),
    ],
)
def test_bad_legacy_fields_are_reported_in_legacy_terms(change: Any, path: str) -> None:
    doc = _nested_error_doc()
    del doc["generations"][0]["generations"][1]
    change(doc["generations"][0]["generations"][0])
    error = legacy_error(doc)
    assert path in paths(error), error.problems
    assert not any("list[" in p or "LegacyTurn" in p for p in paths(error))


def test_legacy_models_of_the_wrong_type_are_an_error_at_the_model() -> None:
    error = legacy_error({"models": {"text": 4}, "generations": []})
    assert paths(error) == ["models"]
    assert "'text'" in str(error)


def test_warning_paths_in_the_terms_of_the_file_read() -> None:
    gen = {"type": "text", "outputKey": "a", "config": {"prompt": "${zz}"}}
    native = "nodes[0].config.prompt[0].template"
    for doc, expected in [
        ({"generations": [gen]}, "generations[0].config.prompt[0].template"),
        ([gen], "[0].config.prompt[0].template"),
        (gen, "config.prompt[0].template"),
    ]:
        tree = tree_from_data(doc)
        (problem,) = check_tree(tree, default_registry())
        assert problem.path == native
        assert source_path(tree, problem.path) == expected
    native_tree = loads_tree(dumps_tree(tree_from_data(gen)))
    assert source_path(native_tree, native) == native


def test_legacy_path_translates_native_words() -> None:
    assert (
        legacy_path("nodes[0].children[2].output_key") == "generations[0].generations[2].outputKey"
    )
    assert legacy_path("nodes[1].required_inputs") == "generations[1].requiredInputs"
    assert (
        legacy_path("nodes[0].config.validation.min_items") == "generations[0].validation.minLength"
    )
    assert legacy_path("nodes[0].config.prompt[1].parse_json") == (
        "generations[0].config.prompt[1].parseJson"
    )
    assert legacy_path("nodes[0].config.prompt[0].template") == (
        "generations[0].config.prompt[0].template"
    )


def test_identifier() -> None:
    assert identifier("Lizard Blog", "x") == "Lizard_Blog"
    assert identifier("../..", "fallback") == "fallback"
    assert identifier("42", "x") == "n_42"
    assert len(identifier("a" * 200, "x")) == 64


def test_converted_trees_are_trees() -> None:
    assert isinstance(tree_from_data([]), Tree)
    assert tree_from_data([]).nodes == []
