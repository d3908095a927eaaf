"""Tests of check_tree: errors that make a tree unrunnable and warnings about likely mistakes."""

from __future__ import annotations

from typing import Any

from genarun_studio.core.registry import Registry, default_registry
from genarun_studio.core.tree import Node, Tree
from genarun_studio.core.validate import Problem, check_tree, node_paths


def node(node_id: str, type_: str = "template", **fields: Any) -> dict[str, Any]:
    config = fields.pop("config", {"template": "x"} if type_ == "template" else {"prompt": "x"})
    return {"id": node_id, "type": type_, "config": config, **fields}


def tree(*nodes: dict[str, Any], **extra: Any) -> Tree:
    # Built directly (not through the loader), so trees with errors can be checked too.
    return Tree.model_validate({"nodes": list(nodes), **extra})


def check(t: Tree) -> list[Problem]:
    return check_tree(t, default_registry())


def errors(t: Tree) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in check(t) if p.severity == "error"]


def warnings(t: Tree) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in check(t) if p.severity == "warning"]


def fan(node_id: str, *children: dict[str, Any], **config: Any) -> dict[str, Any]:
    """A text-array node, which fans out over its items."""
    return node(node_id, "text-array", config={"prompt": "list", **config}, children=list(children))


# ---------------------------------------------------------------------------------------
# Variables


def test_a_clean_tree_has_no_problems() -> None:
    t = tree(
        node("site", "object", config={"prompt": "Plan a blog about ${topic}."}),
        inputs={"topic": {"default": "geckos"}},
    )
    assert check(t) == []


def test_unknown_variable_is_a_warning_naming_it_and_what_is_available() -> None:
    t = tree(
        node("a", children=[node("b", config={"template": "${a} ${b_typo} ${who}"})]),
        inputs={"who": {}},
    )
    problems = check(t)
    assert len(problems) == 1
    (problem,) = problems
    assert problem.severity == "warning"
    assert problem.path == "nodes[0].children[0].config.template"
    assert problem.node_id == "b"
    assert "'b_typo'" in problem.message
    assert "available: a, who" in problem.message
    assert str(problem).startswith("warning: nodes[0].children[0].config.template: ")


def test_ancestors_are_visible_by_id_and_output_key_siblings_are_not() -> None:
    t = tree(
        node(
            "plan",
            output_key="site",
            children=[
                node("first", config={"template": "${plan} ${site.title} ${site.tags[0]}"}),
                node("second", config={"template": "${first}"}),
            ],
        )
    )
    found = warnings(t)
    assert [p for p, _ in found] == ["nodes[0].children[1].config.template"]
    assert "'first'" in found[0][1]


def test_builtin_and_namespaced_variables_are_not_warned_about() -> None:
    t = tree(
        fan(
            "ideas",
            node("use", config={"template": "${i} ${index} ${item} ${parent.x} ${secret:KEY}"}),
        )
    )
    assert check(t) == []


def test_variables_in_every_template_field_are_checked() -> None:
    prompt = [
        {"system": "${s}", "prefix": "${p}", "template": "${t}", "suffix": "${u}"},
    ]
    t = tree(node("a", "text", config={"prompt": prompt}))
    found = {path.rsplit(".", 1)[1] for path, _ in warnings(t)}
    assert found == {"system", "prefix", "template", "suffix"}
    value = node("v", config={"value": {"title": "${nope}", "list": ["ok", "${nope2}"]}})
    assert [p for p, _ in warnings(tree(value))] == [
        "nodes[0].config.value.title",
        "nodes[0].config.value.list[1]",
    ]


def test_required_inputs_nobody_provides_are_a_warning() -> None:
    t = tree(node("a", required_inputs=["who", "topic"]), inputs={"topic": {}})
    assert warnings(t) == [
        ("nodes[0].required_inputs", "requires 'who', which no input or ancestor provides")
    ]


def test_fan_out_variables_in_required_inputs_are_not_warned_about() -> None:
    t = tree(fan("ideas", node("each", required_inputs=["i", "index", "ideas"])), inputs={"x": {}})
    assert check(t) == []


def test_a_tree_without_declared_inputs_takes_required_inputs_as_inputs() -> None:
    # Legacy trees name their inputs only in requiredInputs; descendants may use them too.
    t = tree(
        node(
            "root",
            required_inputs=["year"],
            config={"template": "${year}"},
            children=[node("child", config={"template": "Events of ${year}"})],
        )
    )
    assert check(t) == []


# ---------------------------------------------------------------------------------------
# Ids, types, configs, templates


def test_duplicate_ids_name_both_places() -> None:
    t = tree(node("a", children=[node("dup")]), node("dup", output_key="other"))
    assert errors(t) == [
        (
            "nodes[1].id",
            "node id 'dup' is already used at nodes[0].children[0]; ids must be unique",
        )
    ]


def test_unknown_type_lists_known_types_and_children_are_still_checked() -> None:
    t = tree(node("a", "video", config={}, children=[node("b", config={"template": "${"})]))
    found = errors(t)
    assert [p for p, _ in found] == ["nodes[0].type", "nodes[0].children[0].config.template"]
    assert "unknown node type 'video'" in found[0][1]
    assert "image, object, rag-index, rag-query, template, text, text-array" in found[0][1]


def test_an_empty_registry_knows_no_types() -> None:
    problems = check_tree(tree(node("a")), Registry())
    assert [(p.severity, p.path) for p in problems] == [("error", "nodes[0].type")]
    assert "known: none" in problems[0].message


def test_invalid_configs_name_the_config_path() -> None:
    t = tree(
        node("a", "text", config={"prompt": "x", "temperature": 1}),
        node("b", "text-array", config={"prompt": "x", "validation": {"max_items": -2}}),
        node("c", "image", config={}),
    )
    assert [p for p, _ in errors(t)] == [
        "nodes[0].config.temperature",
        "nodes[1].config.validation.max_items",
        "nodes[2].config.prompt",
    ]


def test_template_errors_are_errors_with_a_reason() -> None:
    t = tree(node("a", config={"template": "Hello ${name"}))
    ((path, message),) = errors(t)
    assert path == "nodes[0].config.template"
    assert "${" in message


def test_problems_come_in_file_order() -> None:
    t = tree(
        node("a", "nope", children=[node("b", config={"template": "${zz}"})]),
        node("c", config={"template": "${"}),
    )
    assert [p.path for p in check(t)] == [
        "nodes[0].type",
        "nodes[0].children[0].config.template",
        "nodes[1].config.template",
    ]


def test_node_paths() -> None:
    t = tree(node("a", children=[node("b"), node("c", children=[node("d")])]), node("e"))
    assert node_paths(t) == {
        "a": "nodes[0]",
        "b": "nodes[0].children[0]",
        "c": "nodes[0].children[1]",
        "d": "nodes[0].children[1].children[0]",
        "e": "nodes[1]",
    }


# ---------------------------------------------------------------------------------------
# Output keys


def test_siblings_with_one_key_collide() -> None:
    t = tree(node("a", output_key="k"), node("b", output_key="k"))
    assert errors(t) == [
        (
            "nodes[1].output_key",
            "output key 'k' is also written by node 'a' into the same object of output.json",
        )
    ]


def test_a_child_of_a_single_value_writes_beside_its_parent() -> None:
    t = tree(node("a", children=[node("b", output_key="a")]))
    assert [p for p, _ in errors(t)] == ["nodes[0].children[0].output_key"]


def test_children_of_a_fan_out_write_into_the_items() -> None:
    t = tree(fan("ideas", node("title")), node("title2", output_key="title"))
    assert check(t) == []


def test_fan_out_false_keeps_children_beside_the_parent() -> None:
    t = tree(
        node(
            "ideas",
            "text-array",
            fan_out=False,
            config={"prompt": "list"},
            children=[node("summary")],
        ),
        node("other", output_key="summary"),
    )
    assert [p for p, _ in errors(t)] == ["nodes[1].output_key"]


def test_a_key_named_value_under_a_text_list_would_overwrite_the_item() -> None:
    t = tree(fan("ideas", node("v", output_key="value")))
    ((path, message),) = errors(t)
    assert path == "nodes[0].children[0].output_key"
    assert "'value'" in message
    assert "'ideas'" in message


def test_a_required_item_field_under_a_list_of_objects_would_be_overwritten() -> None:
    photos = node(
        "photos",
        "object",
        config={"prompt": "x", "validation": {"required": ["title", "caption"], "min_items": 2}},
        children=[node("caption"), node("image")],
    )
    ((path, message),) = errors(tree(photos))
    assert path == "nodes[0].children[0].output_key"
    assert "'caption'" in message
    assert "'photos'" in message


def test_a_single_object_child_may_reuse_a_field_name() -> None:
    # Not a fan-out: the object is written under its own key; children write beside it.
    site = node(
        "site",
        "object",
        config={"prompt": "x", "validation": {"required": ["title"]}},
        children=[node("title")],
    )
    assert check(tree(site)) == []


def test_warnings_never_stop_a_node_from_being_checked() -> None:
    n = Node.model_validate(node("a", config={"template": "${x}"}))
    t = Tree(nodes=[n])
    assert [p.severity for p in check(t)] == ["warning"]
