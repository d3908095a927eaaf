"""Tests of reading and writing tree files: the native format, its checks, and bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genarun_studio.core.formats import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_JSON_DEPTH,
    dumps_tree,
    format_loc,
    load_tree,
    loads_tree,
    save_tree,
    slug_of,
    tree_from_data,
)
from genarun_studio.core.registry import default_registry
from genarun_studio.core.tree import Node, Tree
from genarun_studio.core.validate import check_tree
from genarun_studio.errors import TreeError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "lizard-blog.genarun.json"
FILE = "my-tree.genarun.json"
KNOWN_TYPES = ("image", "object", "template", "text", "text-array")


def tnode(node_id: str, template: str = "hello", **extra: Any) -> dict[str, Any]:
    """A template node: the smallest valid node."""
    return {"id": node_id, "type": "template", "config": {"template": template}, **extra}


def tree_doc(*nodes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"format": "genarun/1", "nodes": list(nodes), **extra}


def load_error(source: Any, file: str = FILE) -> TreeError:
    """The TreeError loading ``source`` (a JSON value, text or bytes) raises."""
    text = source if isinstance(source, str | bytes) else json.dumps(source)
    with pytest.raises(TreeError) as info:
        loads_tree(text, file=file)
    error = info.value
    assert error.file == file
    assert str(error).startswith(f"{file}: ")
    assert error.problems, "a TreeError lists at least one problem"
    return error


def message_at(error: TreeError, path: str) -> str:
    """The message of the problem at ``path``; fails listing the paths there are."""
    found = [m for p, m in error.problems if p == path]
    assert found, f"no problem at {path!r}; problems: {error.problems}"
    return found[0]


# ---------------------------------------------------------------------------------------
# The example and the native round trip


def test_example_loads_with_its_nodes_inputs_and_models() -> None:
    tree = load_tree(EXAMPLE)
    assert tree.id == "lizard-blog"
    assert tree.name == "Pet lizard care blog"
    assert [n.id for n in tree.walk()] == ["site", "topics", "article", "hero"]
    assert [n.type for n in tree.walk()] == ["object", "text-array", "text", "image"]
    assert tree.inputs["species"].default == "leopard gecko"
    assert tree.models["image"].model == "gpt-image-1"
    assert tree.seed == 7
    assert tree.node("hero").config["size"] == "1536x1024"
    assert [a.id for a in tree.ancestors("hero")] == ["site", "topics"]
    assert tree.source_format == "native"


def test_example_has_no_errors_or_warnings() -> None:
    assert check_tree(load_tree(EXAMPLE), default_registry()) == []


def test_save_then_load_gives_an_equal_tree(tmp_path: Path) -> None:
    tree = load_tree(EXAMPLE)
    target = tmp_path / "copy.genarun.json"
    save_tree(tree, target)
    again = load_tree(target)
    assert again == tree
    assert again.model_dump() == tree.model_dump()


def test_saving_writes_the_native_format_without_defaults(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "dir" / "saved.genarun.json"
    save_tree(load_tree(EXAMPLE), target)
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["format"] == "genarun/1"
    assert data["nodes"][0]["id"] == "site"
    assert "generations" not in json.dumps(data)
    assert "enabled" not in data["nodes"][0], "defaults are left out of saved files"
    assert "limits" not in data
    assert [p.name for p in target.parent.iterdir()] == ["saved.genarun.json"], (
        "saving leaves no temporary file behind"
    )


def test_saving_over_an_existing_file_replaces_it(tmp_path: Path) -> None:
    target = tmp_path / "t.genarun.json"
    target.write_text("old content", encoding="utf-8")
    save_tree(tree_from_data(tree_doc(tnode("a"))), target)
    assert load_tree(target).nodes[0].id == "a"


def test_dumps_keeps_non_ascii_text_readable() -> None:
    tree = tree_from_data(tree_doc(tnode("a", "Größe: ${x} 🦎"), name="Eidechsen"))
    text = dumps_tree(tree)
    assert "Größe" in text
    assert "🦎" in text
    assert loads_tree(text) == tree


def test_a_lone_surrogate_is_refused_on_load(tmp_path: Path) -> None:
    # JSON may spell a lone UTF-16 surrogate as an escape; Python reads it, but it cannot be
    # written as UTF-8 (journals, logs, outputs), so the run died later (issue 13, item 8):
    # reading the tree refuses it, naming where it is.
    with pytest.raises(TreeError, match=r"name: holds an unpaired surrogate"):
        loads_tree('{"name": "half \\ud83e pair", "nodes": []}')
    assert loads_tree('{"name": "whole \\ud83e\\udd8e", "nodes": []}').name == "whole \U0001f98e"


def test_tree_id_defaults_to_the_file_name(tmp_path: Path) -> None:
    target = tmp_path / "My Lizard Blog.genarun.json"
    target.write_text(json.dumps(tree_doc(tnode("a"))), encoding="utf-8")
    assert load_tree(target).id == "My_Lizard_Blog"
    assert slug_of(Path("trees/photo-show/config.json")) == "photo-show"
    assert slug_of(Path("2024.json")) == "n_2024"


# ---------------------------------------------------------------------------------------
# Native checks


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({**tree_doc(tnode("a")), "colour": "red"}, "colour"),
        (tree_doc(tnode("a", children=[tnode("b", bogus=1)])), "nodes[0].children[0].bogus"),
        (
            tree_doc({"id": "a", "type": "template", "config": {"template": "x", "extra": 1}}),
            "nodes[0].config.extra",
        ),
        (tree_doc(tnode("a"), limits={"retries": 2, "speed": 9}), "limits.speed"),
        (tree_doc(tnode("a"), models={"text": {"model": "m", "temp": 1}}), "models.text.temp"),
        (tree_doc(tnode("a"), inputs={"who": {"kind": "string"}}), "inputs.who.kind"),
    ],
)
def test_unknown_fields_are_errors_naming_their_path(doc: dict[str, Any], path: str) -> None:
    error = load_error(doc)
    assert "not a known field" in message_at(error, path)


@pytest.mark.parametrize("bad_id", ["../evil", "a/b", "a b", "a\\b", ".", "..", "", "1st", "é"])
def test_node_ids_with_path_characters_are_refused(bad_id: str) -> None:
    error = load_error(tree_doc(tnode("root", children=[tnode(bad_id)])))
    message = message_at(error, "nodes[0].children[0].id")
    assert repr(bad_id) in message
    assert "not a valid identifier" in message
    assert "letters, digits" in message


@pytest.mark.parametrize("bad_id", ["../evil", "a/b", "a b"])
def test_tree_ids_and_output_keys_with_path_characters_are_refused(bad_id: str) -> None:
    assert "not a valid identifier" in message_at(load_error(tree_doc(id=bad_id)), "id")
    error = load_error(tree_doc(tnode("a", output_key=bad_id)))
    assert "not a valid identifier" in message_at(error, "nodes[0].output_key")


def test_an_overlong_id_is_refused() -> None:
    error = load_error(tree_doc(tnode("a" * 65)))
    assert "at most 64" in message_at(error, "nodes[0].id")
    assert tree_from_data(tree_doc(tnode("a" * 64))).nodes[0].id == "a" * 64


def test_duplicate_ids_are_an_error_naming_both_paths() -> None:
    doc = tree_doc(tnode("a", children=[tnode("b"), tnode("twin")]), tnode("twin"))
    error = load_error(doc)
    message = message_at(error, "nodes[1].id")
    assert "'twin'" in message
    assert "nodes[0].children[1]" in message
    assert "unique" in message


def test_unknown_node_type_lists_the_known_types() -> None:
    error = load_error(tree_doc({"id": "a", "type": "video"}))
    message = message_at(error, "nodes[0].type")
    assert "'video'" in message
    for known in KNOWN_TYPES:
        assert known in message


@pytest.mark.parametrize(
    ("node", "path", "words"),
    [
        ({"type": "text", "config": {}}, "nodes[0].config.prompt", "required"),
        ({"type": "image", "config": {"size": "9x9"}}, "nodes[0].config.prompt", "required"),
        ({"type": "text", "config": {"prompt": []}}, "nodes[0].config.prompt", "at least 1"),
        (
            {"type": "text-array", "config": {"prompt": "x", "validation": {"min_items": -1}}},
            "nodes[0].config.validation.min_items",
            "greater than or equal to 0",
        ),
        (
            {"type": "template", "config": {"template": "x", "value": [1]}},
            "nodes[0].config",
            "exactly one of 'template' and 'value'",
        ),
        ({"type": "template", "config": {}}, "nodes[0].config", "exactly one"),
        (
            {"type": "text", "config": {"prompt": [{"system": "only a system"}]}},
            "nodes[0].config.prompt[0].template",
            "required",
        ),
        (
            {"type": "object", "config": {"prompt": "x", "validation": {"required": "title"}}},
            "nodes[0].config.validation.required",
            "valid list",
        ),
    ],
)
def test_invalid_configs_are_errors_at_the_config_path(
    node: dict[str, Any], path: str, words: str
) -> None:
    error = load_error(tree_doc({"id": "a", **node}))
    assert words in message_at(error, path)


def test_invalid_config_of_a_deep_node_names_the_deep_path() -> None:
    deep = {"id": "c", "type": "text-array", "config": {"prompt": "x", "validation": {}}}
    deep["config"]["validation"]["max_items"] = "many"
    doc = tree_doc(tnode("a", children=[tnode("b"), tnode("b2", children=[deep])]))
    error = load_error(doc)
    message = message_at(error, "nodes[0].children[1].children[0].config.validation.max_items")
    assert "integer" in message


def test_contradictory_item_counts_are_an_error() -> None:
    node = {
        "id": "a",
        "type": "text-array",
        "config": {"prompt": "x", "validation": {"min_items": 5, "max_items": 2}},
    }
    error = load_error(tree_doc(node))
    message = message_at(error, "nodes[0].config.validation")
    assert "5" in message
    assert "2" in message


def test_an_invalid_json_schema_in_a_validation_is_a_load_error() -> None:
    node = {
        "id": "a",
        "type": "object",
        "config": {"prompt": "x", "validation": {"schema": {"type": "thing"}}},
    }
    error = load_error(tree_doc(node))
    assert "schema" in message_at(error, "nodes[0].config.validation.schema").lower()


@pytest.mark.parametrize(
    ("node", "path"),
    [
        (tnode("a", "Hello ${name"), "nodes[0].config.template"),
        (
            {
                "id": "a",
                "type": "text",
                "config": {"prompt": [{"template": "ok"}, {"template": "x ${"}]},
            },
            "nodes[0].config.prompt[1].template",
        ),
        (
            {"id": "a", "type": "text", "config": {"prompt": [{"template": "ok", "system": "${"}]}},
            "nodes[0].config.prompt[0].system",
        ),
        (
            {"id": "a", "type": "image", "config": {"prompt": {"template": "x", "suffix": "${}"}}},
            "nodes[0].config.prompt[0].suffix",
        ),
        (
            {"id": "a", "type": "template", "config": {"value": {"list": ["ok", "${a.}"]}}},
            "nodes[0].config.value.list[1]",
        ),
    ],
)
def test_template_syntax_errors_name_the_template_path(node: dict[str, Any], path: str) -> None:
    error = load_error(tree_doc(node))
    assert message_at(error, path)


def test_unclosed_variable_message_says_what_is_wrong() -> None:
    error = load_error(tree_doc(tnode("a", "Hello ${name")))
    message = message_at(error, "nodes[0].config.template")
    assert "${" in message
    assert "unclosed" in message or "}" in message


def test_unknown_variable_is_a_warning_not_a_load_error() -> None:
    tree = loads_tree(json.dumps(tree_doc(tnode("a", "Hi ${nobody}"))), file=FILE)
    problems = check_tree(tree, default_registry())
    assert [(p.severity, p.path) for p in problems] == [("warning", "nodes[0].config.template")]
    assert "nobody" in problems[0].message


def test_colliding_output_keys_in_one_object_are_an_error() -> None:
    doc = tree_doc(tnode("a", output_key="title"), tnode("b", output_key="title"))
    error = load_error(doc)
    message = message_at(error, "nodes[1].output_key")
    assert "'title'" in message
    assert "'a'" in message


def test_an_output_key_colliding_with_an_id_is_an_error() -> None:
    doc = tree_doc(tnode("title"), tnode("b", children=[tnode("c", output_key="title")]))
    error = load_error(doc)
    assert "'title'" in message_at(error, "nodes[1].children[0].output_key")


def test_equal_keys_in_different_fan_out_items_are_fine() -> None:
    fan = {
        "id": "ideas",
        "type": "text-array",
        "config": {"prompt": "ideas", "validation": {"min_items": 2}},
        "children": [tnode("x", output_key="title")],
    }
    tree = tree_from_data(tree_doc(fan, tnode("title")))
    assert [n.key for n in tree.walk()] == ["ideas", "title", "title"]


def test_nodes_nested_too_deep_name_the_deep_node() -> None:
    doc: dict[str, Any] = tnode("n0")
    top = doc
    for i in range(1, MAX_DEPTH + 2):
        child = tnode(f"n{i}")
        doc["children"] = [child]
        doc = child
    error = load_error(tree_doc(top))
    (path, message) = error.problems[0]
    assert path.startswith("nodes[0].children[0].children[0]")
    assert str(MAX_DEPTH) in message


def test_nodes_nested_to_the_limit_load_and_save() -> None:
    doc: dict[str, Any] = tnode("n1")
    top = doc
    for i in range(2, MAX_DEPTH + 1):
        child = tnode(f"n{i}")
        doc["children"] = [child]
        doc = child
    tree = tree_from_data(tree_doc(top))
    assert len(list(tree.walk())) == MAX_DEPTH
    assert loads_tree(dumps_tree(tree)) == tree


def test_deeply_nested_free_data_is_refused_or_saves() -> None:
    # meta and config hold free JSON; whatever loads must also save.
    for depth in (50, 150, 300, 600):
        inner: Any = "leaf"
        for _ in range(depth):
            inner = {"k": inner}
        outcome = _outcome(tree_doc(tnode("a", meta={"deep": inner})), parsed=True)
        if isinstance(outcome, TreeError):
            assert "deep" in str(outcome)
            assert depth > 150
        else:
            assert loads_tree(dumps_tree(outcome)) == outcome


# ---------------------------------------------------------------------------------------
# Bad input: always one TreeError naming the file (and the path where there is one)


def _nested_children(levels: int) -> str:
    node = '{"id": "n", "type": "template", "config": {"template": "x"}, "children": ['
    return '{"nodes": [' + node * levels + "]}" * levels + "]}"


def _nested_generations(levels: int) -> str:
    gen = '{"type": "text", "config": {"prompt": "x"}, "generations": ['
    return '{"generations": [' + gen * levels + "]}" * levels + "]}"


_RANDOM = random.Random(1234)
BAD_INPUTS: list[tuple[str, bytes, str | None]] = [
    ("broken JSON", b'{"nodes": [', ""),
    ("trailing garbage", b'{"nodes": []} and more', ""),
    ("empty file", b"", ""),
    ("whitespace only", b"  \n\t \r\n ", ""),
    ("binary garbage", _RANDOM.randbytes(3000) + b"\x00" + _RANDOM.randbytes(100), ""),
    ("NUL bytes", b"\x00" * 64, ""),
    ("non-UTF-8 bytes", b'{"name": "caf\xe9", "nodes": []}', ""),
    ("UTF-16 text", '{"nodes": []}'.encode("utf-16"), ""),
    ("a JSON number", b"42", ""),
    ("a JSON string", b'"a tree"', ""),
    ("JSON null", b"null", ""),
    ("JSON true", b"true", ""),
    ("children a string", json.dumps(tree_doc(tnode("a", children="x"))).encode(), None),
    ("enabled a string", json.dumps(tree_doc(tnode("a", enabled="yes"))).encode(), None),
    ("nodes an object", b'{"nodes": {"id": "a"}}', "nodes"),
    ("a node null", b'{"nodes": [null]}', "nodes[0]"),
    ("config a list", b'{"nodes": [{"id": "a", "type": "text", "config": []}]}', None),
    ("3,000 nested children", _nested_children(3000).encode(), None),
    ("3,000 nested generations", _nested_generations(3000).encode(), None),
    ("100,000 nested arrays", b"[" * 100_000 + b"]" * 100_000, None),
    ("100,000 open arrays", b"[" * 100_000, None),
    ("100,000 nested objects", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, None),
    ("a 5,000-digit number", b'{"seed": ' + b"7" * 5000 + b"}", None),
    ("NaN", b'{"seed": NaN}', None),
    ("Infinity in free data", b'{"meta": {"x": Infinity}}', None),
    ("a list of numbers", b"[1, 2]", None),
]


@pytest.mark.parametrize(
    ("label", "raw", "path"), BAD_INPUTS, ids=[label for label, _, _ in BAD_INPUTS]
)
def test_bad_input_is_one_tree_error(label: str, raw: bytes, path: str | None) -> None:
    error = load_error(raw)
    if path is not None:
        assert error.problems[0][0] == path
    assert len(str(error)) < 5000


@pytest.mark.parametrize(
    ("label", "raw", "path"), BAD_INPUTS, ids=[label for label, _, _ in BAD_INPUTS]
)
def test_bad_files_are_one_tree_error_naming_the_file(
    tmp_path: Path, label: str, raw: bytes, path: str | None
) -> None:
    target = tmp_path / "bad.genarun.json"
    target.write_bytes(raw)
    with pytest.raises(TreeError) as info:
        load_tree(target)
    assert info.value.file == str(target)
    assert str(info.value).startswith(str(target))


def test_wrong_types_name_the_path_and_what_was_given() -> None:
    error = load_error(tree_doc(tnode("a", children="x")))
    message = message_at(error, "nodes[0].children")
    assert "list" in message
    assert "'x'" in message
    error = load_error(tree_doc(tnode("a", enabled="yes")))
    assert "bool" in message_at(error, "nodes[0].enabled")
    error = load_error(tree_doc(tnode("a"), seed="7"))
    assert "integer" in message_at(error, "seed")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\x00\x01\x02", "binary"),
        (b'{"a": "\xff"}', "UTF-8"),
        (b'{"nodes": [', "not valid JSON"),
        (b"[]]", "not valid JSON"),
        (b"12", "JSON object"),
    ],
)
def test_bad_input_messages_say_what_is_wrong(raw: bytes, words: str) -> None:
    assert words in str(load_error(raw))


def test_a_byte_order_mark_is_accepted() -> None:
    doc = json.dumps(tree_doc(tnode("a")))
    assert loads_tree(b"\xef\xbb\xbf" + doc.encode()).nodes[0].id == "a"
    assert loads_tree("\ufeff" + doc).nodes[0].id == "a"


def test_deep_nesting_message_names_the_file() -> None:
    error = load_error(_nested_children(3000))
    assert "deep" in str(error)


def test_missing_file_is_a_tree_error(tmp_path: Path) -> None:
    target = tmp_path / "nope.genarun.json"
    with pytest.raises(TreeError) as info:
        load_tree(target)
    assert info.value.file == str(target)
    assert "does not exist" in str(info.value)


def test_a_directory_is_a_tree_error(tmp_path: Path) -> None:
    folder = tmp_path / "folder.genarun.json"
    folder.mkdir()
    with pytest.raises(TreeError) as info:
        load_tree(folder)
    assert info.value.file == str(folder)
    assert "folder" in str(info.value)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.genarun.json"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)  # sparse: no 64 MiB written to disk
    with pytest.raises(TreeError) as info:
        load_tree(big)
    assert info.value.file == str(big)
    assert "64 MiB" in str(info.value)


def test_a_path_with_a_nul_character_is_a_tree_error() -> None:
    with pytest.raises(TreeError) as info:
        load_tree("bad\x00name.json")
    assert info.value.file == "bad\x00name.json"


def test_paths_quote_keys_that_are_not_plain_names() -> None:
    error = load_error(tree_doc(tnode("a"), inputs={"my input": {"kind": "x"}}))
    assert "not a known field" in message_at(error, 'inputs["my input"].kind')
    assert format_loc(("models", "0", "model")) == 'models["0"].model'
    assert format_loc(("meta", "a.b", 2)) == 'meta["a.b"][2]'
    assert format_loc(("nodes", 0, "config"), "tree") == "tree.nodes[0].config"
    assert format_loc(()) == ""


def test_json_nested_past_the_limit_names_where() -> None:
    inner: Any = 1
    for _ in range(MAX_JSON_DEPTH):
        inner = [inner]
    error = load_error(tree_doc(tnode("a", meta={"deep": inner})))
    (path, message) = error.problems[0]
    assert path.startswith("nodes[0].meta.deep[0][0]")
    assert str(MAX_JSON_DEPTH) in message


def test_many_problems_are_all_listed_and_the_summary_is_bounded() -> None:
    nodes = [{"id": f"n{i}", "type": "nope"} for i in range(80)]
    error = load_error(tree_doc(*nodes))
    assert len(error.problems) == 80
    text = str(error)
    assert text.startswith(f"{FILE}: 80 problems:")
    assert "and 30 more" in text


# ---------------------------------------------------------------------------------------
# Property tests: loading never raises anything but TreeError, and what loads also saves


TREE_KEYS = [
    "nodes",
    "children",
    "generations",
    "id",
    "type",
    "config",
    "prompt",
    "template",
    "value",
    "system",
    "parseJson",
    "prefix",
    "suffix",
    "outputKey",
    "output_key",
    "requiredInputs",
    "required_inputs",
    "validation",
    "required",
    "minLength",
    "maxLength",
    "min_items",
    "max_items",
    "enabled",
    "format",
    "models",
    "model",
    "inputs",
    "limits",
    "seed",
    "meta",
    "name",
]
TREE_WORDS = [
    "text",
    "text-array",
    "object",
    "image",
    "template",
    "genarun/1",
    "a",
    "b",
    "../x",
    "${a}",
    "${",
    "[x | y]",
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(TREE_WORDS)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(TREE_KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=40,
)


@st.composite
def tree_like(draw: st.DrawFn) -> Any:
    """Dicts shaped a bit like native or legacy trees."""

    def node(depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if draw(st.booleans()):
            out["id"] = draw(st.sampled_from(["a", "b", "c", "../x", "a b", ""]))
        if draw(st.booleans()):
            out["type"] = draw(st.sampled_from(["text", "text-array", "object", "template", "?"]))
        if draw(st.booleans()):
            out["config"] = draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "prompt": st.text(max_size=8) | json_values,
                        "template": st.sampled_from(TREE_WORDS),
                        "value": json_values,
                        "validation": json_values,
                    },
                )
            )
        if draw(st.booleans()):
            out["outputKey" if draw(st.booleans()) else "output_key"] = draw(
                st.sampled_from(TREE_WORDS)
            )
        if depth < 3 and draw(st.booleans()):
            key = draw(st.sampled_from(["children", "generations"]))
            out[key] = [node(depth + 1) for _ in range(draw(st.integers(0, 2)))]
        if draw(st.booleans()):
            out[draw(st.sampled_from(TREE_KEYS))] = draw(json_values)
        return out

    roots = [node(0) for _ in range(draw(st.integers(0, 3)))]
    shape = draw(st.sampled_from(["native", "project", "list", "single"]))
    if shape == "native":
        return {"nodes": roots, **draw(st.dictionaries(st.sampled_from(TREE_KEYS), json_values))}
    if shape == "project":
        return {"generations": roots, "models": draw(json_values)}
    if shape == "list":
        return roots
    return roots[0] if roots else {"type": "text"}


def _outcome(source: Any, *, parsed: bool = False) -> Tree | TreeError:
    """The tree ``source`` loads as, or the TreeError it gives (anything else fails)."""
    try:
        if parsed:
            return tree_from_data(source, file="prop.json")
        return loads_tree(source, file="prop.json")
    except TreeError as exc:
        return exc


def _loads_or_tree_error(source: Any, *, parsed: bool = False) -> None:
    outcome = _outcome(source, parsed=parsed)
    if isinstance(outcome, TreeError):
        assert outcome.file == "prop.json"
        assert outcome.problems
        return
    assert isinstance(outcome, Tree)
    again = loads_tree(dumps_tree(outcome))
    assert again == outcome, "whatever loads must save and load the same"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_loads_or_gives_a_tree_error(text: str) -> None:
    _loads_or_tree_error(text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_load_or_give_a_tree_error(raw: bytes) -> None:
    _loads_or_tree_error(raw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value_loads_or_gives_a_tree_error(value: Any) -> None:
    _loads_or_tree_error(json.dumps(value))
    _loads_or_tree_error(value, parsed=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree_like())
def test_tree_shaped_json_loads_or_gives_a_tree_error(value: Any) -> None:
    _loads_or_tree_error(json.dumps(value))


def test_loaded_nodes_are_models_not_dicts() -> None:
    tree = tree_from_data(tree_doc(tnode("a", children=[tnode("b")])))
    assert isinstance(tree.nodes[0].children[0], Node)
    assert tree.node("b").config == {"template": "hello"}
