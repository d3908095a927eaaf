"""JSON syntax errors of a tree file in words, with line, column and a caret (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genarun_studio.core.formats import load_tree
from genarun_studio.errors import TreeError

CASES = [
    ("trailing comma in an object", '{"a": 1,}', "a trailing comma before '}'", 1, 8),
    (
        "trailing comma in a list",
        '{\n  "nodes": [\n    {"id": "a"},\n  ]\n}',
        "a trailing comma before ']'",
        3,
        16,
    ),
    ("missing comma", '{"a": 1\n "b": 2}', "a missing comma", 2, 2),
    ("unquoted key", "{nodes: []}", "an unquoted key 'nodes'", 1, 2),
    ("single quotes", "{'nodes': []}", "single quotes", 1, 2),
    ("line comment", '{\n  // my tree\n  "nodes": []\n}', "JSON has no comments", 2, 3),
    ("block comment", '{"nodes": [] /* x */}', "JSON has no comments", 1, 14),
    ("unterminated string", '{"id": "lizard}', "a string that never ends", 1, 8),
    ("line break in a string", '{"id": "a\nb"}', "a line break inside a string", 1, 10),
    ("Python True", '{"cache": True}', "'True' is not JSON: write true", 1, 11),
    ("missing colon", '{"a" 1}', "a missing ':' after the key", 1, 6),
    ("extra data", '{"a": 1}}', "more text after the end", 1, 9),
    ("ends too early", '{"a": ', "ends too early", 1, 6),
]


@pytest.mark.parametrize(
    ("label", "text", "words", "line", "column"), CASES, ids=[c[0] for c in CASES]
)
def test_a_syntax_error_says_what_is_wrong_and_where(
    tmp_path: Path, label: str, text: str, words: str, line: int, column: int
) -> None:
    file = tmp_path / "tree.genarun.json"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(TreeError) as info:
        load_tree(file)
    message = str(info.value)
    first, shown, caret = message.split("\n")
    assert first.startswith(f"{file}: is not valid JSON at line {line}, column {column}: ")
    assert words in first
    assert "Expecting" not in message
    source_line = text.split("\n")[line - 1]
    assert shown == f"    {source_line}"
    assert caret == "    " + " " * (column - 1) + "^"


def test_a_long_line_is_shown_around_the_spot(tmp_path: Path) -> None:
    text = '{"nodes": [' + ", ".join(f'"{n}"' for n in range(200)) + ",]}"
    file = tmp_path / "min.genarun.json"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(TreeError) as info:
        load_tree(file)
    _, shown, caret = str(info.value).split("\n")
    assert len(shown) < 120
    assert shown[caret.index("^")] == ","
