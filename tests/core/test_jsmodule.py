"""The original Genarun's JavaScript tree modules, read as data: parsed, never run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from genarun_studio.core.document import TreeDocument
from genarun_studio.core.formats import dumps_tree, load_tree, loads_tree
from genarun_studio.core.jsmodule import read_js_module
from genarun_studio.core.registry import default_registry
from genarun_studio.core.validate import check_tree
from genarun_studio.errors import TreeError

EXAMPLES = Path(__file__).parents[2] / "resources" / "examples"

# Our own module in the shape of the original's src/tree1.js: comments of both kinds,
# unquoted and quoted keys, trailing commas, a multi-line backtick prompt, a negative
# number, an identifier naming another const, and a shorthand property.
MODULE = """\
// the original's models, by profile
const models = {
  text: { endpoint: "gpt-4o-mini", defaultParams: { temperature: 0.7, presence_penalty: -0.5, }, },
  'image': "dall-e-3",
};

/* the tree itself */
export const myTree = {
  id: "year",
  type: "object", // groups its children
  requiredInputs: ["year"],
  generations: [
    {
      id: "ideas",
      type: "text-array",
      outputKey: "themes",
      config: {
        prompt: [{ template: "Ideas for ${year}", parseJson: true, }],
      },
      validation: { minLength: 2, maxLength: 2 },
      generations: [
        {
          id: "series",
          type: "object",
          requiredInputs: ["i"],
          outputKey: "texts",
          config: {
            prompt: [
              {
                parseJson: true,
                template: `Summarise \\${i}, a Genarun variable.

  Format:
  { "description": "...", "title": "..." }`,
              },
            ],
            validation: { required: ["description", "title"] },
          },
          generations: [
            {
              id: "cover",
              type: "image",
              requiredInputs: ["description"],
              config: {
                prompt: { template: "${description}", suffix: "fine art" },
                model: { name: "image" },
              },
            },
          ],
        },
      ],
    },
  ],
};

export const projectConfig = {
  baseDir: "2024",
  timeout: 30000,
  models,
  generations: [myTree],
};
"""


def write(tmp_path: Path, text: str, name: str = "tree1.js") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(source: str, **kwargs: str) -> str:
    with pytest.raises(TreeError) as info:
        read_js_module(source, file="t.js", **kwargs)
    return str(info.value)


def test_a_module_in_the_originals_shape_reads_as_its_project() -> None:
    source = MODULE
    data = read_js_module(source, file="tree1.js")
    assert data["baseDir"] == "2024"
    # the shorthand property and the identifier are the other consts' values
    assert data["models"]["text"]["defaultParams"] == {"temperature": 0.7, "presence_penalty": -0.5}
    assert data["models"]["image"] == "dall-e-3"
    root = data["generations"][0]
    assert root["id"] == "year"
    assert "config" not in root
    ideas = root["generations"][0]
    # ${year} in a plain string is a Genarun variable: kept as text
    assert ideas["config"]["prompt"][0]["template"] == "Ideas for ${year}"
    turn = ideas["generations"][0]["config"]["prompt"][0]["template"]
    # a backtick string keeps its lines; \${i} is JavaScript's way to write ${i} as text
    assert turn.startswith("Summarise ${i}, a Genarun variable.\n\n")
    assert '"description": "..."' in turn


def test_load_tree_reads_a_js_file_and_it_saves_as_native(tmp_path: Path) -> None:
    source = MODULE
    tree = load_tree(write(tmp_path, source))
    assert tree.source_format == "javascript"
    assert tree.id == "tree1"  # from the file name
    assert set(tree.models) == {"text", "image"}
    assert tree.models["text"].model == "gpt-4o-mini"
    assert [n.id for n in tree.walk()] == ["year", "ideas", "series", "cover"]
    assert tree.meta["legacy"] == {"baseDir": "2024", "timeout": 30000}
    again = loads_tree(dumps_tree(tree))
    assert again == tree
    assert again.source_format == "native"
    # no false "unknown variable": description is a field of the object above
    assert check_tree(tree, default_registry()) == []


def test_the_editor_opens_a_js_file_without_a_path_to_save_over(tmp_path: Path) -> None:
    source = MODULE
    doc = TreeDocument.open(write(tmp_path, source))
    assert doc.path is None  # saving asks where: the module is never overwritten
    assert doc.source_path == tmp_path / "tree1.js"


def test_export_choice_prefers_project_config_and_export_picks_another(tmp_path: Path) -> None:
    source = MODULE
    path = write(tmp_path, source)
    assert load_tree(path).models  # projectConfig carries the models
    only_tree = load_tree(path, export_name="myTree")
    assert not only_tree.models
    assert only_tree.nodes[0].id == "year"
    with pytest.raises(TreeError, match=r"exports no 'nope'; its exports: myTree, projectConfig"):
        load_tree(path, export_name="nope")


def test_without_project_config_the_only_tree_like_export_is_taken() -> None:
    source = 'export const label = "x";\nexport const t = { type: "text", config: {prompt: "hi"} };'
    assert read_js_module(source)["type"] == "text"
    assert read_js_module("export default [{type: 'text'}];") == [{"type": "text"}]
    two = "export const a = {type: 'text'}; export const b = {type: 'text'};"
    assert "exports several values (a, b); choose one with --export NAME" in error_of(two)
    assert "exports nothing" in error_of("const a = 1;")
    assert "exports nothing" in error_of("const a = {type: 'text'}; const b = {type: 'text'};")


def test_a_script_that_exports_nothing_gives_its_one_tree_and_export_names_any_const() -> None:
    # the shape of the original's t2.js: a const tree, then code that runs it
    script = (
        "import { processTree } from './core/processor.js';\n"
        "const testTree = { id: 'y', type: 'object', generations: [] };\n"
        "async function runTest() { await processTree(testTree, { year: '2024' }); }\n"
        "runTest();\n"
    )
    assert read_js_module(script)["id"] == "y"
    two = "const a = {type: 'text'}; export const b = {type: 'image'};"
    assert read_js_module(two, export_name="a") == {"type": "text"}


def test_export_is_refused_for_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"nodes": []}')
    with pytest.raises(TreeError, match=r"--export is for \.js files"):
        load_tree(path, export_name="x")


@pytest.mark.parametrize(
    ("source", "where", "what"),
    [
        ("export const t = {\n  a: make(),\n};", "line 2, column 6", "a function call is not read"),
        ("export const t = {a: `x ${1 + 1}`};", "line 1, column 27", "${...} in a backtick"),
        ("export const t = {a: b};", "line 1, column 22", "'b' is not a top-level const"),
        (
            "import {b} from './m.js';\nexport const t = {a: b};",
            "line 2, column 22",
            "'b' is imported from another file",
        ),
        (
            "const a = {x: b};\nconst b = [a];\nexport const t = a;",
            "line 2, column 12",
            "'a' refers to itself (a -> b -> a)",
        ),
        ("export const t = {...o};", "line 1, column 19", "a spread (...) is not read"),
        ("export const t = {[k]: 1};", "line 1, column 19", "a computed key"),
        ("export const t = {a: /x/};", "line 1, column 22", "a regular expression"),
        ("export const t = {a: 1 + 2};", "line 1, column 22", "an operator expression"),
        ("export const t = {a: [1,,2]};", "line 1, column 22", "an array has a hole"),
        ("export const t = {a: undefined};", "line 1, column 22", "undefined is not a value"),
        ("export const t = {a: () => 1};", "line 1, column 22", "a function is not read"),
        ("export const t = {a: 1 b: 2};", "line 1, column 24", "is not valid JavaScript"),
        ("export const t = {a: 1,\n  b: 'open};", "line 2, column 6", "is not valid JavaScript"),
    ],
)
def test_what_is_not_literal_data_is_an_error_with_line_and_column(
    source: str, where: str, what: str
) -> None:
    message = error_of(source)
    assert message.startswith(f"t.js: {where}: "), message
    assert what in message
    assert "\n" not in message


def test_a_self_reference_through_an_export_is_a_cycle() -> None:
    assert "'t' refers to itself (t -> t)" in error_of("export const t = {generations: [t]};")


def test_the_file_is_named_in_errors_from_load_tree(tmp_path: Path) -> None:
    path = write(tmp_path, "export const t = {type: 'text', config: {prompt: f()}};")
    with pytest.raises(TreeError) as info:
        load_tree(path)
    assert str(info.value) == (
        f"{path}: line 1, column 50: a function call is not read (only literal data is)"
    )


def test_a_tree_problem_in_a_js_file_names_the_legacy_path(tmp_path: Path) -> None:
    path = write(tmp_path, "export const t = {models: {}, generations: [{type: 'nope'}]};")
    with pytest.raises(TreeError, match=r"tree1\.js: generations\[0\]\.type: unknown node type"):
        load_tree(path)


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"", "is empty"), (b"\x00\x01", "binary data"), (b"\xff\xfe\xfa", "is not UTF-8")],
)
def test_empty_binary_and_non_utf8_files_are_clear_errors(
    tmp_path: Path, raw: bytes, message: str
) -> None:
    path = tmp_path / "t.js"
    path.write_bytes(raw)
    with pytest.raises(TreeError, match=message):
        load_tree(path)


def test_without_esprima_a_js_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "esprima", None)  # import esprima now fails
    with pytest.raises(TreeError, match=r"need esprima \(pip install esprima\)"):
        load_tree(write(tmp_path, "export const t = {};"))


def test_nothing_in_the_module_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    source = (
        f"require('fs').writeFileSync({str(marker)!r}, 'x');\n"
        "export const t = {type: 'text', config: {prompt: 'hi'}};"
    )
    assert load_tree(write(tmp_path, source)).nodes[0].type == "text"
    assert not marker.exists()


def test_the_shipped_original_style_example_loads_without_warnings() -> None:
    tree = load_tree(EXAMPLES / "original-style.js")
    assert tree.source_format == "javascript"
    assert tree.nodes[0].id == "almanac"
    assert tree.nodes[0].config == {}
    assert check_tree(tree, default_registry()) == []


def test_deep_nesting_reads_up_to_the_limit_and_beyond_is_one_clear_error() -> None:
    # 150 levels: esprima's recursion stopped near 45 with Python's default limit
    deep = "export const t = " + "{a: [" * 75 + "1" + "]}" * 75 + ";"
    value = read_js_module(deep)
    for _ in range(75):
        value = value["a"][0]
    assert value == 1
    limit = sys.getrecursionlimit()
    absurd = "export const t = " + "[" * 5000 + "]" * 5000 + ";"
    message = error_of(absurd)
    assert "nests" in message
    assert "\n" not in message
    assert sys.getrecursionlimit() == limit  # the raised limit was only for the parse
