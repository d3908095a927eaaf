"""Object outputs in the original's style: a prompt-less ``object`` node groups its children,
and an object output's top-level fields are visible by bare name to the descendants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from genarun_studio.core.formats import tree_from_data
from genarun_studio.core.registry import default_registry
from genarun_studio.core.validate import check_tree
from genarun_studio.engine import Engine
from tests.engine.conftest import ScriptedProvider, make_tree, text, values


def group(node_id: str, *children: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "object", "config": {}, "children": list(children), **extra}


async def test_a_prompt_less_object_node_groups_without_a_call(
    engine: Engine, provider: ScriptedProvider
) -> None:
    tree = make_tree(
        group("year", text("a", "about ${year}"), text("b", "more on ${year}")),
        inputs={"year": {"type": "string"}},
    )
    summary = await engine.run(tree, {"year": "2024"})
    assert summary.status == "finished"
    assert summary.counts == {"done": 3}
    assert sorted(provider.prompts()) == ["about 2024", "more on 2024"]  # no call for "year"
    output = json.loads((Path(summary.run_dir) / "output.json").read_text())
    assert output["year"] == {}
    assert set(output) == {"year", "a", "b"}


async def test_an_objects_fields_are_visible_by_bare_name_to_descendants(
    engine: Engine, provider: ScriptedProvider
) -> None:
    tree = make_tree(
        values(
            "texts",
            {"description": "a harbour at dawn", "title": "Salt"},
            values("nested", "x", text("photo", "photo of ${description}, called ${title}")),
        )
    )
    summary = await engine.run(tree, {})
    assert summary.status == "finished"
    assert provider.prompts() == ["photo of a harbour at dawn, called Salt"]


async def test_required_inputs_may_name_an_ancestors_field(
    engine: Engine, provider: ScriptedProvider
) -> None:
    tree = make_tree(
        values(
            "texts",
            {"portrait": "a woman with a Leica"},
            text("photo", "${portrait}", required_inputs=["portrait"]),
        )
    )
    summary = await engine.run(tree, {})
    assert summary.status == "finished"
    assert provider.prompts() == ["a woman with a Leica"]


async def test_the_nearest_object_wins_and_explicit_names_come_first(
    engine: Engine, provider: ScriptedProvider
) -> None:
    tree = make_tree(
        values(
            "outer",
            {"title": "outer title", "mood": "calm", "city": "field city", "inner": "field"},
            values(
                "inner",
                {"title": "inner title"},
                text("use", "${title} / ${mood} / ${city} / ${inner.title}"),
            ),
        ),
        inputs={"city": {"type": "string"}},
    )
    summary = await engine.run(tree, {"city": "Lisbon"})
    assert summary.status == "finished"
    # nearest object's title; the outer's mood; the input over a field; an output key
    # ("inner") over the outer object's field of the same name
    assert provider.prompts() == ["inner title / calm / Lisbon / inner title"]


async def test_fields_of_fanned_out_object_items_are_visible_and_i_comes_first(
    engine: Engine, provider: ScriptedProvider
) -> None:
    tree = make_tree(
        values(
            "photos",
            [{"caption": "one", "i": "not me"}, {"caption": "two", "i": "nor me"}],
            text("img", "${caption} #${index} ${i.caption}"),
        )
    )
    summary = await engine.run(tree, {})
    assert summary.status == "finished"
    assert sorted(provider.prompts()) == ["one #0 one", "two #1 two"]


def test_validation_knows_declared_fields_and_still_warns_about_unknown_names() -> None:
    tree = make_tree(
        group(
            "year",
            {
                "id": "series",
                "type": "object",
                "config": {
                    "prompt": "a project as JSON",
                    "validation": {"required": ["description", "title"]},
                },
                "children": [
                    text("ok", "${description} ${title}", required_inputs=["description"]),
                    text("typo", "${descripton}"),
                ],
            },
        ),
        inputs={"year": {"type": "string"}},
    )
    problems = check_tree(tree, default_registry())
    assert [(p.node_id, p.severity) for p in problems] == [("typo", "warning")]
    assert "unknown variable 'descripton'" in problems[0].message
    assert "description" in problems[0].message  # listed among the available names


def test_an_object_whose_fields_are_not_declared_makes_no_false_warning() -> None:
    tree = make_tree(
        {
            "id": "brief",
            "type": "object",
            "config": {"prompt": "a brief as JSON"},
            "children": [text("use", "${anything_the_model_wrote}")],
        }
    )
    assert check_tree(tree, default_registry()) == []


def test_the_legacy_config_validation_is_the_nodes_validation() -> None:
    # The original's tree1.js writes `validation` inside `config`: not a request parameter.
    tree = tree_from_data(
        {
            "generations": [
                {
                    "type": "object",
                    "outputKey": "texts",
                    "config": {
                        "prompt": "as JSON",
                        "temperature": 0.5,
                        "validation": {"required": ["title"], "minLength": 2},
                    },
                    "validation": {"minLength": 1},
                }
            ]
        }
    )
    config = tree.nodes[0].config
    assert config["params"] == {"temperature": 0.5}
    assert config["validation"] == {"required": ["title"], "min_items": 1}
