"""Reading and writing tree files, native or legacy, with errors that name the JSON path.

Loading never crashes on bad input: empty files, binary garbage, broken JSON, wrong types,
absurd nesting and unknown node types all become one :class:`TreeError` naming the file and
the path (``nodes[0].children[2].config.prompt[0].template``) and what was expected.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from genarun_studio.core.jsmodule import read_js_module
from genarun_studio.core.jsonerrors import describe_json_error
from genarun_studio.core.jsonpath import format_loc, pydantic_problems
from genarun_studio.core.legacy import (
    LegacyProject,
    convert_legacy,
    identifier,
    is_legacy,
    legacy_path,
    wrap_legacy,
)
from genarun_studio.core.registry import Registry, default_registry
from genarun_studio.core.textsafe import first_unencodable
from genarun_studio.core.tree import Tree
from genarun_studio.core.validate import check_tree
from genarun_studio.errors import TreeError

__all__ = [
    "JS_SUFFIXES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_JSON_DEPTH",
    "dumps_tree",
    "format_loc",
    "is_js_file",
    "load_tree",
    "loads_js_tree",
    "loads_tree",
    "pydantic_problems",
    "save_tree",
    "slug_of",
    "source_path",
    "tree_from_data",
]

MAX_DEPTH = 64
"""Deepest node nesting a tree may have (the deepest real trees have a handful of levels)."""
MAX_JSON_DEPTH = 200
"""Deepest JSON nesting (objects and arrays, nodes included) a tree file may have. A deeper
tree could be read but not written again (pydantic stops serialising near 255 levels)."""
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NUMBER_DIGITS = 4300


def _too_deep(data: Any) -> str | None:
    """The path of the first node nested deeper than MAX_DEPTH, walking without recursion."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return path
        if isinstance(value, dict):
            for key in ("nodes", "children", "generations"):
                kids = value.get(key)
                if isinstance(kids, list):
                    for i, kid in enumerate(kids):
                        stack.append(
                            (kid, f"{path}.{key}[{i}]" if path else f"{key}[{i}]", depth + 1)
                        )
        elif isinstance(value, list) and depth == 0:  # a legacy file's bare generation list
            for i, kid in enumerate(value):
                stack.append((kid, f"[{i}]", depth + 1))
    return None


def _json_too_deep(data: Any) -> str | None:
    """The path of the first object or array nested deeper than MAX_JSON_DEPTH.

    Walks without recursion; a path is built only when one is too deep (each entry keeps a
    link to its parent's entry rather than a copy of its path)."""
    stack: list[tuple[Any, int, Any]] = [(data, 1, None)]  # (value, depth, (parent link, key))
    while stack:
        value, depth, link = stack.pop()
        items: Any
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            loc: list[int | str] = []
            while link is not None:
                link, key = link
                loc.append(key)
            return format_loc(list(reversed(loc)))
        stack.extend((kid, depth + 1, (link, key)) for key, kid in items)
    return None


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError(f"holds a number of {len(text)} digits; at most {MAX_NUMBER_DIGITS}")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; write a number or null")


def loads_tree(
    source: str | bytes,
    *,
    file: str | None = None,
    registry: Registry | None = None,
    default_id: str | None = None,
) -> Tree:
    """Parse and check a tree document; raises TreeError naming ``file`` and the path."""
    if isinstance(source, bytes):
        if b"\x00" in source[:4096]:
            raise TreeError(file, [("", "is not a text file (binary data); expected tree JSON")])
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TreeError(
                file, [("", f"is not UTF-8 text (byte {exc.start}); expected tree JSON")]
            ) from None
    source = source.removeprefix("\ufeff")
    if not source.strip():
        raise TreeError(file, [("", "is empty; expected a tree as JSON")])
    try:
        data = json.loads(source, parse_int=_parse_int, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise TreeError(
            file, [("", f"is not valid JSON {describe_json_error(source, exc)}")]
        ) from None
    except RecursionError:
        raise TreeError(
            file, [("", f"nests JSON too deeply to be a tree (at most {MAX_JSON_DEPTH} levels)")]
        ) from None
    except ValueError as exc:  # from _parse_int and _no_constant
        raise TreeError(file, [("", f"is not valid JSON: {exc}")]) from None
    return tree_from_data(data, file=file, registry=registry, default_id=default_id)


def tree_from_data(
    data: Any,
    *,
    file: str | None = None,
    registry: Registry | None = None,
    default_id: str | None = None,
) -> Tree:
    """The Tree for parsed JSON (native or legacy); raises TreeError."""
    if not isinstance(data, dict | list):
        raise TreeError(file, [("", f"must be a JSON object, not {type(data).__name__}")])
    deep = _too_deep(data)
    if deep is not None:
        raise TreeError(file, [(deep, f"nodes nest deeper than {MAX_DEPTH} levels")])
    deep = _json_too_deep(data)
    if deep is not None:
        raise TreeError(file, [(deep, f"nests JSON deeper than {MAX_JSON_DEPTH} levels")])
    bad = first_unencodable(data)
    if bad is not None:
        raise TreeError(
            file,
            [
                (
                    format_loc(bad),
                    "holds an unpaired surrogate (a \\uD800-\\uDFFF escape without its "
                    "pair), which cannot be saved as UTF-8; remove it or write the whole "
                    "character",
                )
            ],
        )
    shape = _legacy_shape(data)

    def file_path(native: str) -> str:
        """A problem's path in the terms of the file actually read."""
        return native if shape is None else _unwrap_path(legacy_path(native), shape)

    if shape is not None:
        try:
            project = LegacyProject.model_validate(wrap_legacy(data))
        except ValidationError as exc:
            problems = [(_unwrap_path(p, shape), m) for p, m in pydantic_problems(exc)]
            raise TreeError(file, problems) from None
        data = convert_legacy(project)
    elif isinstance(data, list):  # pragma: no cover - is_legacy takes every list
        raise TreeError(file, [("", "must be a JSON object")])
    if default_id and not data.get("id"):
        data = {**data, "id": default_id}
    try:
        # Strict: a file says what it means ("enabled": "yes" is not a boolean, "7" is not
        # a number); objects may still be given as dicts.
        tree = Tree.model_validate(data, strict=True)
    except ValidationError as exc:
        raise TreeError(file, [(file_path(p), m) for p, m in pydantic_problems(exc)]) from None
    if shape is not None:
        tree._source_format = "legacy"
        tree._legacy_shape = shape
    errors = [p for p in check_tree(tree, registry or default_registry()) if p.severity == "error"]
    if errors:
        raise TreeError(file, [(file_path(p.path), p.message) for p in errors])
    return tree


def source_path(tree: Tree, native_path: str) -> str:
    """A native JSON path (e.g. of a :func:`check_tree` problem) in the terms of the file the
    tree was read from: ``nodes[0].children[1].output_key`` is ``[0].generations[1].outputKey``
    in a legacy file that is a bare list of generations. Native trees keep the path."""
    shape = tree._legacy_shape
    if shape is None:
        return native_path
    return _unwrap_path(legacy_path(native_path), shape)


def _legacy_shape(data: Any) -> str | None:
    """None for a native document, else which form of legacy file it is."""
    if not is_legacy(data):
        return None
    if isinstance(data, list):
        return "list"
    return "project" if wrap_legacy(data) is data else "generation"


def _unwrap_path(path: str, shape: str) -> str:
    """A path in the project we wrapped a legacy file in, as a path of the file itself."""
    if shape == "list":
        return path.replace("generations", "", 1)
    if shape == "generation":
        return path.replace("generations[0]", "", 1).lstrip(".")
    return path


JS_SUFFIXES = (".js", ".mjs")
"""Suffixes of the original Genarun's JavaScript tree modules (read as data, never run)."""


def is_js_file(path: str | os.PathLike[str]) -> bool:
    """True for a file :func:`load_tree` reads as a JavaScript module."""
    return Path(path).suffix.lower() in JS_SUFFIXES


def load_tree(
    path: str | os.PathLike[str],
    registry: Registry | None = None,
    *,
    export_name: str | None = None,
) -> Tree:
    """Read a tree file: native or legacy JSON, or a JavaScript module (``.js``/``.mjs``,
    see :mod:`genarun_studio.core.jsmodule`; ``export_name`` picks its export). The one
    loader the CLI and the editor share. The tree's id defaults to a slug of the file name.
    """
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise TreeError(str(file), [("", f"is {size} bytes; a tree file may be 64 MiB")])
        raw = file.read_bytes()
    except FileNotFoundError:
        raise TreeError(str(file), [("", "does not exist")]) from None
    except IsADirectoryError:
        raise TreeError(str(file), [("", "is a folder, not a tree file")]) from None
    except OSError as exc:
        raise TreeError(str(file), [("", f"cannot be read: {exc.strerror}")]) from None
    except ValueError as exc:  # e.g. a NUL character in the path
        raise TreeError(str(file), [("", f"is not a usable path: {exc}")]) from None
    if is_js_file(file):
        return loads_js_tree(
            raw,
            file=str(file),
            registry=registry,
            default_id=slug_of(file),
            export_name=export_name,
        )
    if export_name is not None:
        raise TreeError(str(file), [("", "is not a JavaScript module; --export is for .js files")])
    return loads_tree(raw, file=str(file), registry=registry, default_id=slug_of(file))


def loads_js_tree(
    source: str | bytes,
    *,
    file: str | None = None,
    registry: Registry | None = None,
    default_id: str | None = None,
    export_name: str | None = None,
) -> Tree:
    """Parse (never run) a JavaScript tree module and check the tree it exports.

    The tree remembers it came from JavaScript (``source_format == "javascript"``), so the
    editor saves it to a new native file and never over the module."""
    text = _text(source, file, "a JavaScript tree module")
    data = read_js_module(text, file=file, export_name=export_name)
    tree = tree_from_data(data, file=file, registry=registry, default_id=default_id)
    tree._source_format = "javascript"
    return tree


def _text(source: str | bytes, file: str | None, expected: str) -> str:
    """``source`` as text, or a TreeError for binary, non-UTF-8 or empty input."""
    if isinstance(source, bytes):
        if b"\x00" in source[:4096]:
            raise TreeError(file, [("", f"is not a text file (binary data); expected {expected}")])
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TreeError(
                file, [("", f"is not UTF-8 text (byte {exc.start}); expected {expected}")]
            ) from None
    source = source.removeprefix("\ufeff")
    if not source.strip():
        raise TreeError(file, [("", f"is empty; expected {expected}")])
    return source


def slug_of(file: Path) -> str:
    """A tree id from a file name: ``Lizard Blog.genarun.json`` → ``Lizard_Blog``."""
    name = file.name
    for suffix in (".genarun.json", ".legacy.json", ".json", ".js", ".mjs"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name == "config":  # trees/<id>/config.json in a project folder
        name = file.parent.name
    return identifier(name, "tree")


def dumps_tree(tree: Tree) -> str:
    """The native JSON text of a tree: UTF-8 friendly, non-ASCII text left readable.

    A string holding a lone UTF-16 surrogate (JSON may spell one as an escape) cannot be
    written as UTF-8; such a tree (built in memory) is written with ASCII escapes, so the
    text is never lost, but reading it refuses it and names where the surrogate is.
    """
    data = tree.to_json()
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, indent=2, ensure_ascii=True) + "\n"
    return text


def save_tree(tree: Tree, path: str | os.PathLike[str]) -> None:
    """Write the native format atomically: a crash mid-save leaves the old file whole."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dumps_tree(tree))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
