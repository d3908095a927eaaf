"""Reading the original Genarun's JavaScript tree modules as data: parsed, never executed.

The original kept its trees in ES modules (``src/tree1.js``)::

    // comments, unquoted keys, trailing commas, `multi-line prompts`
    export const myTree = { id: "year", type: "object", generations: [ ... ] };
    export const projectConfig = { models, generations: [myTree] };

:func:`read_js_module` parses such a file with esprima (a JavaScript parser; nothing runs)
and turns the literal parts into plain JSON values: objects (also with shorthand
properties ``{models}``), arrays, strings, numbers (also negative), booleans, ``null``,
template literals without ``${...}`` expressions, and identifiers naming another top-level
``const``/``let``/``var`` of the same file (resolved; a cycle is an error). Anything else -- a
call, an operator, a spread, an imported name, a ``${...}`` expression in a backtick string --
is a :class:`~genarun_studio.errors.TreeError` naming the file, line and column.

Why ``${...}`` in a backtick string is refused rather than kept as text: JavaScript runs it
when the module loads, so the original never saw the text ``${year}`` from a backtick
string; its Genarun variables are ``${year}`` inside plain ``"..."`` or ``'...'`` strings
(or ``\\${year}`` in backticks, which JavaScript keeps as text, and so do we).

Which export is the tree: ``--export NAME`` (``export_name``; an export or any top-level
const) if given; else ``projectConfig`` (it carries the models); else the default export;
else the only export; else the only export that looks like a tree (an object with ``type``
or ``generations``, or an array). A module that exports nothing (a script such as the
original's ``t2.js``) gives its only top-level const that looks like a tree.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from genarun_studio.errors import TreeError

__all__ = ["JsModule", "choose_export", "module_value", "parse_js_module", "read_js_module"]

T = TypeVar("T")
_PREFERRED = "projectConfig"
MAX_JS_DEPTH = 200
"""Deepest literal nesting read (a tree file's JSON may nest 200 levels too)."""


@dataclass
class JsModule:
    """A parsed module: its top-level bindings (name → AST node) and what it exports."""

    file: str | None
    bindings: dict[str, Any]
    """Top-level ``const``/``let``/``var`` name → its initialiser's AST node."""
    exports: dict[str, Any]
    """Exported name (``default`` for ``export default``) → the AST node of its value."""
    others: dict[str, str]
    """Other top-level names (functions, classes, imports) → what they are, for errors."""


def _where(node: Any) -> str:
    loc = getattr(node, "loc", None)
    if loc is None:
        return ""
    return f"line {loc.start.line}, column {loc.start.column + 1}"


def _error(file: str | None, node: Any, message: str) -> TreeError:
    return TreeError(file, [(_where(node), message)])


_PARSE_RECURSION = 20_000
"""Python frames the parse may use: esprima's recursive descent takes about 20 frames per
level of nesting, so the default limit (1,000) stopped at some 45 levels of objects and
arrays; a tree file may nest :data:`MAX_JS_DEPTH`."""


def _deep(work: Callable[[], T]) -> T:
    """``work()`` in a thread with a large stack and a raised recursion limit (restored)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, _PARSE_RECURSION))
    try:
        old_size = threading.stack_size(256 * 1024 * 1024)
        try:
            thread = threading.Thread(target=run, name="genarun-js-parse", daemon=True)
            thread.start()
        finally:
            threading.stack_size(old_size)
        thread.join()
    finally:
        sys.setrecursionlimit(old_limit)
    if "error" in box:
        raise box["error"]
    result: T = box["value"]
    return result


def parse_js_module(source: str, *, file: str | None = None) -> JsModule:
    """Parse ``source`` as an ES module; raises TreeError (file, line, column) on bad syntax."""
    try:
        import esprima  # lazily: only .js trees need it
    except ImportError:
        raise TreeError(
            file,
            [
                (
                    "",
                    "cannot be read: JavaScript trees need esprima (pip install esprima)",
                )
            ],
        ) from None

    try:
        program = _deep(lambda: esprima.parseModule(source, {"loc": True}))
    except esprima.Error as exc:
        text = str(getattr(exc, "message", exc) or exc)
        if text.startswith("Line ") and ": " in text:
            text = text.split(": ", 1)[1]
        line, column = getattr(exc, "lineNumber", None), getattr(exc, "column", None)
        where = f"line {line}, column {column}" if line is not None else ""
        raise TreeError(file, [(where, f"is not valid JavaScript: {text}")]) from None
    except RecursionError:
        raise TreeError(file, [("", "nests too deeply to be read as a tree")]) from None
    bindings: dict[str, Any] = {}
    exports: dict[str, Any] = {}
    others: dict[str, str] = {}

    def declare(decl: Any, exported: bool) -> None:
        for item in decl.declarations:
            if item.id.type != "Identifier":
                raise _error(file, item, "destructuring is not read; name each value")
            name = item.id.name
            if item.init is None:
                others[name] = "declared without a value"
                continue
            bindings[name] = item.init
            if exported:
                exports[name] = item.init

    for statement in program.body:
        kind = statement.type
        if kind == "VariableDeclaration":
            declare(statement, exported=False)
        elif kind == "ExportNamedDeclaration":
            decl = statement.declaration
            if decl is not None and decl.type == "VariableDeclaration":
                declare(decl, exported=True)
            elif decl is not None and decl.id is not None:
                others[decl.id.name] = "a function or class, which is not read"
            for spec in statement.specifiers or []:  # export { a, b as c }
                if statement.source is None:
                    exports[spec.exported.name] = spec.local
        elif kind == "ExportDefaultDeclaration":
            exports["default"] = statement.declaration
        elif kind == "ImportDeclaration":
            for spec in statement.specifiers:
                others[spec.local.name] = "imported from another file, which is not read"
        elif kind in ("FunctionDeclaration", "ClassDeclaration") and statement.id is not None:
            others[statement.id.name] = "a function or class, which is not read"
        # Any other statement is skipped: nothing runs, and only literal data is read.
    return JsModule(file=file, bindings=bindings, exports=exports, others=others)


def _looks_like_tree(node: Any) -> bool:
    if node.type == "ArrayExpression":
        return True
    if node.type != "ObjectExpression":
        return False
    keys = {_key_name(p) for p in node.properties if p.type == "Property" and not p.computed}
    return bool(keys & {"type", "generations"})


def _key_name(prop: Any) -> str | None:
    key = prop.key
    if key.type == "Identifier":
        return str(key.name)
    if key.type == "Literal" and isinstance(key.value, str | int | float):
        value = key.value
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return None


def choose_export(module: JsModule, export_name: str | None = None) -> str:
    """The name of the export that is the tree (see the module docstring for the order)."""
    names = list(module.exports)
    listed = ", ".join(names) if names else "none"
    if export_name is not None:
        if export_name not in module.exports and export_name not in module.bindings:
            raise TreeError(
                module.file, [("", f"exports no {export_name!r}; its exports: {listed}")]
            )
        return export_name
    if not names:  # a script such as the original's t2.js: its one tree-like const
        consts = [n for n, node in module.bindings.items() if _looks_like_tree(node)]
        if len(consts) == 1:
            return consts[0]
        raise TreeError(
            module.file,
            [
                (
                    "",
                    "exports nothing and holds no one tree-like const; "
                    "expected e.g. `export const projectConfig = {...}`",
                )
            ],
        )
    if _PREFERRED in module.exports:
        return _PREFERRED
    if "default" in module.exports:
        return "default"
    if len(names) == 1:
        return names[0]
    trees = [n for n in names if _looks_like_tree(_deref(module, module.exports[n]))]
    if len(trees) == 1:
        return trees[0]
    raise TreeError(
        module.file,
        [("", f"exports several values ({listed}); choose one with --export NAME")],
    )


def _deref(module: JsModule, node: Any) -> Any:
    seen: set[str] = set()
    while node.type == "Identifier" and node.name in module.bindings and node.name not in seen:
        seen.add(node.name)
        node = module.bindings[node.name]
    return node


def module_value(module: JsModule, name: str) -> Any:
    """The JSON value of export ``name``; raises TreeError with line and column."""
    file = module.file
    resolving: list[str] = []  # names being resolved, for cycle detection
    done: dict[str, Any] = {}

    def resolve(ident: Any) -> Any:
        name = ident.name
        if name in done:
            return done[name]
        if name in resolving:
            chain = " -> ".join([*resolving[resolving.index(name) :], name])
            raise _error(file, ident, f"{name!r} refers to itself ({chain})")
        if name not in module.bindings:
            if name == "undefined":
                raise _error(file, ident, "undefined is not a value; leave the key out")
            what = module.others.get(name, "not a top-level const of this file")
            raise _error(file, ident, f"{name!r} is {what}")
        resolving.append(name)
        value = convert(module.bindings[name], len(resolving))
        resolving.pop()
        done[name] = value
        return value

    def convert(node: Any, depth: int) -> Any:
        if depth > MAX_JS_DEPTH:
            raise _error(file, node, f"nests deeper than {MAX_JS_DEPTH} levels")
        kind = node.type
        if kind == "Literal":
            if getattr(node, "regex", None) is not None:
                raise _error(file, node, "a regular expression is not a value a tree can hold")
            return node.value
        if kind == "ObjectExpression":
            out: dict[str, Any] = {}
            for prop in node.properties:
                if prop.type != "Property":
                    raise _error(file, prop, "a spread (...) is not read; write the keys out")
                if prop.computed:
                    raise _error(file, prop, "a computed key [..] is not read; write the key")
                if prop.kind != "init" or prop.method:
                    raise _error(file, prop, "a method or getter is not a value")
                key = _key_name(prop)
                if key is None:  # pragma: no cover - esprima gives identifiers or literals
                    raise _error(file, prop, "this key is not a name, string or number")
                out[key] = convert(prop.value, depth + 1)
            return out
        if kind == "ArrayExpression":
            items: list[Any] = []
            for element in node.elements:
                if element is None:
                    raise _error(file, node, "an array has a hole (,,); write null")
                if element.type == "SpreadElement":
                    raise _error(file, element, "a spread (...) is not read; write the items")
                items.append(convert(element, depth + 1))
            return items
        if kind == "TemplateLiteral":
            if node.expressions:
                raise _error(
                    file,
                    node.expressions[0],
                    "a ${...} in a backtick string is JavaScript, which is not run; "
                    'for a Genarun variable use "..." quotes or write \\${name}',
                )
            return "".join(q.value.cooked for q in node.quasis)
        if kind == "UnaryExpression" and node.operator in ("-", "+"):
            arg = node.argument
            if arg.type == "Literal" and isinstance(arg.value, int | float):
                if isinstance(arg.value, bool):
                    raise _error(file, node, "a sign before a boolean is not a value")
                return -arg.value if node.operator == "-" else arg.value
        if kind == "Identifier":
            return resolve(node)
        raise _error(file, node, f"{_describe(node)} is not read (only literal data is)")

    target = module.exports.get(name, module.bindings.get(name))
    if name in module.bindings and module.bindings[name] is target:
        return resolve(_Ident(name, target))
    return convert(target, 1)


class _Ident:
    """A stand-in Identifier for resolving an export by its own name (cycle detection)."""

    type = "Identifier"

    def __init__(self, name: str, node: Any) -> None:
        self.name = name
        self.loc = getattr(node, "loc", None)


_DESCRIPTIONS = {
    "CallExpression": "a function call",
    "NewExpression": "a `new` expression",
    "BinaryExpression": "an operator expression",
    "LogicalExpression": "an operator expression",
    "ConditionalExpression": "a ?: expression",
    "MemberExpression": "a property access (a.b)",
    "ArrowFunctionExpression": "a function",
    "FunctionExpression": "a function",
    "UnaryExpression": "an operator expression",
    "TaggedTemplateExpression": "a tagged template",
    "AssignmentExpression": "an assignment",
}


def _describe(node: Any) -> str:
    return _DESCRIPTIONS.get(node.type, f"a {node.type}")


def read_js_module(source: str, *, file: str | None = None, export_name: str | None = None) -> Any:
    """The JSON value of the tree a JavaScript module exports (see the module docstring)."""
    module = parse_js_module(source, file=file)
    return module_value(module, choose_export(module, export_name))
