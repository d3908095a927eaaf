"""``genarun api``: try API nodes.

``genarun api test TREE NODE_ID`` runs one node on its own (its ancestors from the project's
cache) and prints the call it made: the model's fill for ``assembleCall``, the request with
secrets as ``***``, the response and the output. ``genarun api presets`` lists the presets.
Exit codes: 0 the node finished, 2 a usage problem, 3 the node failed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from genarun_studio.errors import GenarunError

__all__ = ["api"]

EXIT_USAGE, EXIT_FAILED = 2, 3


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"genarun: {message}", err=True)
    sys.exit(code)


@click.group()
def api() -> None:
    """Try API-call nodes and list their presets."""


@api.command("test")
@click.argument("tree", type=click.Path(path_type=Path))
@click.argument("node_id")
@click.option("--input", "inputs", multiple=True, metavar="KEY=VALUE", help="A run input.")
@click.option(
    "--mock",
    is_flag=True,
    help="Offline: the mock model fills assembleCall and mock_response answers; nothing is sent.",
)
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="GENARUN_PROJECT",
    help="The project folder (default: $GENARUN_PROJECT, else the nearest folder holding "
    ".genarun/ here or above, else the user data folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def test(
    tree: Path,
    node_id: str,
    inputs: tuple[str, ...],
    mock: bool,
    project: Path | None,
    as_json: bool,
) -> None:
    """Run NODE_ID of TREE once and print its request and response (secrets masked)."""
    from genarun_studio.core.formats import load_tree
    from genarun_studio.engine import Engine
    from genarun_studio.engine.trycall import try_node
    from genarun_studio.store import Project, default_project_dir

    given: dict[str, Any] = {}
    for value in inputs:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            _fail(f"--input {value!r} should look like KEY=VALUE")
        given[key.strip()] = rest
    try:
        tree_model = load_tree(tree)
        engine = Engine(project=Project(project or default_project_dir()))
        result = asyncio.run(try_node(engine, tree_model, node_id, given, mock=mock))
    except GenarunError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the project folder: {exc}")
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        click.echo(result.report())
        click.echo(f"\nrun {result.run_id}" + (" (mock)" if result.mock else ""))
    ok = result.instances and all(i.state in ("done", "cached") for i in result.instances)
    sys.exit(0 if ok else EXIT_FAILED)


@api.command("presets")
def presets() -> None:
    """List the API presets (``"preset": NAME`` in an api node's config)."""
    from genarun_nodes.api import list_presets, load_preset

    from genarun_studio.resources import resource_path

    for name in list_presets():
        text = resource_path("api-presets", f"{name}.json").read_text(encoding="utf-8")
        about = json.loads(text).get("description", "")
        fields = load_preset(name)
        url = f"{fields.get('base_url', '')}{fields.get('url', '')}"
        click.echo(f"{name}\n    {fields.get('method', 'GET')} {url}\n    {about}")
