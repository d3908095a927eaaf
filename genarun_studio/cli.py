"""The ``genarun`` command: run, validate and describe trees.

Exit codes: 0 all finished; 2 invalid tree or usage (a missing required input included);
3 finished with failed nodes; 4 stopped or waiting. Errors are one clear sentence on
stderr, never a traceback. With ``--json`` the last line on stdout is one JSON object.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from genarun_studio.cli_api import api
from genarun_studio.cli_human import answer, hooks, requests
from genarun_studio.cli_index import index
from genarun_studio.cli_keys import keys
from genarun_studio.cli_profiles import profiles
from genarun_studio.errors import GenarunError, InputError, RunError, TreeError
from genarun_studio.profiles import ProfilesError

__all__ = ["main"]

EXIT_OK, EXIT_USAGE, EXIT_FAILED, EXIT_STOPPED = 0, 2, 3, 4
STATUS_EXIT = {
    "finished": EXIT_OK,
    "failed": EXIT_FAILED,
    "stopped": EXIT_STOPPED,
    "waiting": EXIT_STOPPED,
}


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"genarun: {message}", err=True)
    sys.exit(code)


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    result = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            _fail(f"{what} {value!r} should look like KEY=VALUE")
        result[key.strip()] = rest
    return result


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="genarun-studio", prog_name="genarun")
def cli() -> None:
    """Genarun: run recursive generative trees of LLM, image and data steps."""


@cli.command()
@click.argument("tree", type=click.Path(path_type=Path))
@click.option(
    "--export",
    "export_name",
    metavar="NAME",
    help="For a .js tree: the export to read (default: projectConfig, else the only one).",
)
@click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A tree input (repeatable). Typed inputs are parsed as JSON.",
)
@click.option(
    "--inputs-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON object of inputs.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),  # core.tree.MAX_SEED, without importing pydantic
    help="Seed for random picks and the mock provider (0 to 2**63 - 1).",
)
@click.option("--mock", is_flag=True, help="Answer every call with the offline mock provider.")
@click.option(
    "--mock-latency",
    type=click.FloatRange(0, 60),
    default=0.0,
    metavar="SECONDS",
    help="With --mock: wait this long per call, to watch a run progress.",
)
@click.option(
    "--concurrency",
    "-c",
    multiple=True,
    metavar="LANE=N",
    help="Concurrency of a lane (text, image, http, local), repeatable.",
)
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project folder (default: $GENARUN_PROJECT, else the nearest folder holding "
    ".genarun/ here or above, else the user data folder).",
)
@click.option(
    "--only",
    multiple=True,
    metavar="NODE_ID",
    help="Run only these nodes (repeatable); ancestors come from the cache.",
)
@click.option("--with-children", is_flag=True, help="With --only: run their subtrees too.")
@click.option(
    "--force", multiple=True, metavar="NODE_ID", help="Never take NODE_ID from the cache."
)
@click.option("--no-cache", is_flag=True, help="Take nothing from the cache.")
@click.option(
    "--budget",
    type=click.FloatRange(min=0),
    metavar="USD",
    help="Stop before a call would pass this cost; the run stays resumable.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Resolve every template and print the calls and their estimated cost; call nothing.",
)
@click.option(
    "--assume-items",
    type=click.IntRange(min=0),
    metavar="N",
    help="With --dry-run: fan-out size for lists whose validation gives no item counts.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="End with one JSON line on stdout: run_id, status, run_dir, instances, wall_s.",
)
@click.option("--quiet", "-q", is_flag=True, help="No live progress.")
@click.option(
    "--auto-answer",
    is_flag=True,
    help="Answer every question to a person at once (its default, else the first option).",
)
def run(
    tree: Path,
    export_name: str | None,
    inputs: tuple[str, ...],
    inputs_file: Path | None,
    seed: int | None,
    mock: bool,
    mock_latency: float,
    concurrency: tuple[str, ...],
    project: Path | None,
    only: tuple[str, ...],
    with_children: bool,
    force: tuple[str, ...],
    no_cache: bool,
    budget: float | None,
    dry_run: bool,
    assume_items: int | None,
    as_json: bool,
    quiet: bool,
    auto_answer: bool,
) -> None:
    """Run TREE (a .genarun.json file, native or legacy, or an original Genarun .js tree)
    and write a run folder."""
    from genarun_studio.core.formats import load_tree
    from genarun_studio.engine import RunOptions

    given: dict[str, Any] = {}
    if inputs_file is not None:
        from genarun_studio.core.jsonerrors import describe_json_error

        try:
            text = inputs_file.read_text(encoding="utf-8")
            loaded = json.loads(text)
        except UnicodeDecodeError as exc:
            _fail(f"{inputs_file}: not a JSON object of inputs ({exc})")
        except json.JSONDecodeError as exc:
            _fail(f"{inputs_file} is not valid JSON {describe_json_error(text, exc)}")
        if not isinstance(loaded, dict):
            _fail(f"{inputs_file}: must hold a JSON object of inputs")
        given.update(loaded)
    given.update(_pairs(inputs, "--input"))
    lanes: dict[str, int] = {}
    known_lanes = _known_lanes() if concurrency else set()
    for lane, n in _pairs(concurrency, "--concurrency").items():
        if lane not in known_lanes:
            _fail(
                f"--concurrency {lane}={n}: unknown lane {lane!r} "
                f"(known: {', '.join(sorted(known_lanes))})"
            )
        if not n.isdigit() or int(n) < 1:
            _fail(f"--concurrency {lane}={n}: the limit must be a whole number of at least 1")
        lanes[lane] = int(n)
    if assume_items is not None and not dry_run:
        _fail("--assume-items only makes sense with --dry-run")
    try:
        tree_model = load_tree(tree, export_name=export_name)
        if not (mock or dry_run):
            _check_keys(tree_model)
        engine = _engine(project, mock_latency=mock_latency, assume_items=assume_items)
        options = RunOptions(
            seed=seed,
            mock=mock or dry_run,
            targets=list(only),
            with_children=with_children,
            force=list(force),
            no_cache=no_cache,
            concurrency=lanes,
            budget_usd=budget,
            dry_run=dry_run,
            auto_answer=auto_answer,
        )
        prepared = engine.prepare(tree_model, given, options)
    except (TreeError, InputError, RunError, ProfilesError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the project folder: {exc}")
    if dry_run:
        _dry_run(prepared, as_json, assume_items=assume_items, mock=engine.mock_provider)
    _execute(prepared, as_json=as_json, quiet=quiet)


def _known_lanes() -> set[str]:
    """The lanes a limit can be given for: the built-in ones and every node type's."""
    from genarun_studio.core.registry import default_registry
    from genarun_studio.core.tree import RunLimits

    return set(RunLimits().concurrency) | {t.lane for t in default_registry().types()}


def _check_keys(tree: Any, *, with_user_profiles: bool = True) -> None:
    """Exit 2 before anything starts when a real run would lack an API key."""
    from genarun_studio.core.registry import default_registry
    from genarun_studio.profiles import load_profiles, missing_keys, with_profiles

    if with_user_profiles:
        tree = with_profiles(tree, load_profiles())
    problems = missing_keys(tree, default_registry())
    if problems:
        _fail("; ".join(problems))


def _engine(
    project: Path | None, *, mock_latency: float = 0.0, assume_items: int | None = None
) -> Any:
    from genarun_studio.engine import Engine
    from genarun_studio.profiles import load_profiles
    from genarun_studio.store import Project, default_project_dir

    mock_provider = None
    if mock_latency or assume_items is not None:
        from genarun_studio.providers.mock import MockProvider

        mock_provider = MockProvider(latency_s=mock_latency, default_items=assume_items)
    return Engine(
        project=Project(project or default_project_dir()),
        mock_provider=mock_provider,
        profiles=load_profiles(),
    )


def _execute(prepared: Any, *, as_json: bool, quiet: bool) -> NoReturn:
    """Run a prepared run with live progress and Ctrl-C handling; exit with its status."""
    from genarun_studio.cli_progress import Progress

    progress = Progress(prepared, enabled=not quiet)
    from genarun_studio.cli_human import attach

    attach(prepared, progress)

    async def go() -> Any:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows
                loop.add_signal_handler(sig, prepared.stop)
        with progress:
            return await prepared.wait()

    try:
        summary = asyncio.run(go())
    except GenarunError as exc:  # pragma: no cover - the run reports errors per node
        _fail(str(exc), EXIT_FAILED)
    progress.report(summary)
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    sys.exit(STATUS_EXIT.get(summary.status, EXIT_FAILED))


def _dry_run(
    prepared: Any, as_json: bool, *, assume_items: int | None = None, mock: Any = None
) -> NoReturn:
    """Plan every call on the mock, price it at the real models' prices, print the bill."""
    from genarun_studio.cli_reports import print_dry_run

    summary = asyncio.run(prepared.wait())
    if assume_items is not None and mock is not None and not mock.default_items_used:
        click.echo(
            f"genarun: warning: --assume-items {assume_items} was ignored: every list in "
            "this tree has item counts of its own (validation min_items / max_items)",
            err=True,
        )
    print_dry_run(prepared, summary, as_json=as_json)
    shutil.rmtree(prepared.folder.path.parents[2], ignore_errors=True)  # the scratch project
    sys.exit(STATUS_EXIT.get(summary.status, EXIT_FAILED))


@cli.command()
@click.argument("run_id")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project folder holding the run.",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0),
    metavar="USD",
    help="A new budget for the rest of the run.",
)
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No live progress.")
@click.option("--auto-answer", is_flag=True, help="Answer every open question at once.")
def resume(
    run_id: str,
    project: Path | None,
    budget: float | None,
    as_json: bool,
    quiet: bool,
    auto_answer: bool,
) -> None:
    """Continue RUN_ID (tree-id/timestamp) from its journal: finished nodes are not called
    again; failed, stopped and unstarted ones run."""
    try:
        prepared = _engine(project).prepare_resume(
            run_id, budget_usd=budget, auto_answer=True if auto_answer else None
        )
        if not (prepared.options.mock or prepared.options.dry_run):
            _check_keys(prepared.tree, with_user_profiles=False)  # the run's own snapshot
    except (TreeError, InputError, RunError, ProfilesError) as exc:
        _fail(str(exc))
    _execute(prepared, as_json=as_json, quiet=quiet)


@cli.command()
@click.argument("tree", type=click.Path(path_type=Path))
@click.option(
    "--export",
    "export_name",
    metavar="NAME",
    help="For a .js tree: the export to read (default: projectConfig, else the only one).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the problems as a JSON array.")
def validate(tree: Path, export_name: str | None, as_json: bool) -> None:
    """Check TREE: structure, node configs, templates and variables. Exit 2 on errors."""
    from genarun_studio.core.formats import load_tree
    from genarun_studio.core.registry import default_registry
    from genarun_studio.core.validate import check_tree

    try:
        model = load_tree(tree, export_name=export_name)
    except TreeError as exc:
        if as_json:
            click.echo(
                json.dumps(
                    [{"severity": "error", "path": p, "message": m} for p, m in exc.problems]
                )
            )
        _fail(str(exc))
    from dataclasses import replace

    from genarun_studio.core.formats import source_path

    problems = [
        replace(p, path=source_path(model, p.path)) for p in check_tree(model, default_registry())
    ]
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "severity": p.severity,
                        "path": p.path,
                        "message": p.message,
                        "node_id": p.node_id,
                    }
                    for p in problems
                ]
            )
        )
    else:
        for line in _grouped(problems):
            click.echo(f"{tree}: {line}", err=True)
        count = sum(1 for _ in model.walk())
        click.echo(f"{tree}: valid ({count} nodes, {len(problems)} warning(s))")


@cli.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--export",
    "export_name",
    metavar="NAME",
    help="For a .js tree: the export to read (default: projectConfig, else the only one).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write the native tree ('-' for stdout); default: beside SOURCE, "
    "named NAME.genarun.json.",
)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def import_(source: Path, export_name: str | None, output: Path | None, force: bool) -> None:
    """Convert SOURCE (an original Genarun .js tree or legacy JSON) to a native tree file.

    The module is parsed, never run. An existing OUTPUT is kept unless --force is given."""
    from genarun_studio.core.formats import dumps_tree, load_tree, save_tree, slug_of

    try:
        model = load_tree(source, export_name=export_name)
    except TreeError as exc:
        _fail(str(exc))
    if output is not None and str(output) == "-":
        click.echo(dumps_tree(model), nl=False)
        return
    target = output if output is not None else source.with_name(f"{slug_of(source)}.genarun.json")
    if target.exists() and target.resolve() == source.resolve():
        _fail(f"{target}: is the file being imported; choose another -o")
    if target.exists() and not force:
        _fail(f"{target}: exists; choose another -o or pass --force to overwrite it")
    try:
        save_tree(model, target)
    except OSError as exc:
        _fail(f"{target}: cannot be written: {exc.strerror or exc}")
    count = sum(1 for _ in model.walk())
    click.echo(f"{source}: wrote {target} ({count} nodes, native format)")


def _grouped(problems: list[Any], shown: int = 3) -> list[str]:
    """One line per distinct (severity, message), in order of first appearance: a warning
    that 1,011 nodes share is one line with its count and first paths, not 1,011 lines
    (``--json`` keeps every problem)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for problem in problems:
        groups.setdefault((problem.severity, problem.message), []).append(problem.path)
    lines = []
    for (severity, message), paths in groups.items():
        if len(paths) == 1:
            lines.append(f"{severity}: {paths[0]}: {message}")
            continue
        more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
        lines.append(
            f"{severity}: {message} ({len(paths)} times: {', '.join(paths[:shown])}{more})"
        )
    return lines


@cli.group()
def runs() -> None:
    """The run history of a project (from its index)."""


def _project(project: Path | None) -> Any:
    from genarun_studio.store import Project, default_project_dir

    return Project(project or default_project_dir())


def _index(project: Path | None) -> Any:
    """The project's index, or exit 2 with one sentence when it is damaged."""
    try:
        return _project(project).index
    except RunError as exc:
        _fail(str(exc))


_PROJECT_OPTION = click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    help="The project folder (default: $GENARUN_PROJECT, else the nearest folder holding "
    ".genarun/ here or above, else the user data folder).",
)


def _run_row(row: dict[str, Any]) -> dict[str, Any]:
    """An index row as the JSON ``genarun runs`` prints."""
    from genarun_studio.store.history import effective_status

    return {
        "run_id": row["run_id"],
        "tree": row["tree_id"],
        "tree_name": row["tree_name"],
        "status": effective_status(row),
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "duration_s": row["wall_s"],
        "instances": {
            "total": row["total"],
            "done": row["done"],
            "cached": row["cached"],
            "failed": row["failed"],
            "skipped": row["skipped"],
        },
        "tokens": {
            "input": row["input_tokens"],
            "output": row["output_tokens"],
            "images": row["images"],
        },
        "cost_usd": row["cost_usd"],
        "mock": bool(row["mock"]),
        "seed": row["seed"],
        "run_dir": row["run_dir"],
    }


@runs.command("list")
@click.option("--tree", "tree_id", metavar="ID", help="Only runs of this tree.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N runs.")
@_PROJECT_OPTION
@click.option("--json", "as_json", is_flag=True, help="A JSON array, newest first.")
def runs_list(tree_id: str | None, limit: int | None, project: Path | None, as_json: bool) -> None:
    """Runs, newest first: status, duration, instances, tokens, cost."""
    from genarun_studio.cli_reports import print_runs

    index = _index(project)
    rows = [_run_row(r) for r in index.runs(tree_id=tree_id, limit=limit)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
    elif rows:
        print_runs(
            [
                {**r, "status": s["status"]}
                for r, s in zip(index.runs(tree_id=tree_id, limit=limit), rows, strict=True)
            ]
        )
    else:
        click.echo("no runs yet in this project", err=True)


@runs.command("show")
@click.argument("run_id")
@_PROJECT_OPTION
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def runs_show(run_id: str, project: Path | None, as_json: bool) -> None:
    """One run: per-node instances, timings, tokens, cost, retries, and its assets."""
    from genarun_studio.cli_reports import print_run

    index = _index(project)
    row = index.run(run_id)
    if row is None:
        _fail(f"no run {run_id!r} in the project's index (try: genarun runs list)")
    nodes = index.node_stats(run_id)
    assets = sorted({a for i in index.instances(run_id) for a in json.loads(i["assets_json"])})
    if as_json:
        click.echo(
            json.dumps({**_run_row(row), "nodes": nodes, "assets": assets}, ensure_ascii=False)
        )
    else:
        print_run({**row, "status": _run_row(row)["status"]}, nodes, assets)


@runs.command("rebuild")
@click.argument("run_id", required=False)
@_PROJECT_OPTION
def runs_rebuild(run_id: str | None, project: Path | None) -> None:
    """Rebuild RUN_ID's output.json and logs.json from its journal; with no RUN_ID, rebuild
    the project's index from every run folder."""
    from genarun_studio.store.rebuild import rebuild_index, rebuild_run

    proj = _project(project)
    try:
        if run_id:
            rebuild_run(proj.run_folder(run_id))
            click.echo(f"rebuilt output.json and logs.json of {run_id}")
        else:
            click.echo(f"rebuilt the index from {rebuild_index(proj)} run folder(s)")
    except RunError as exc:
        _fail(str(exc))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the tree format (with every installed node type)."""
    from genarun_studio.core.registry import default_registry
    from genarun_studio.core.schema import tree_json_schema

    click.echo(json.dumps(tree_json_schema(default_registry()), indent=2))


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def nodes(as_json: bool) -> None:
    """List the installed node types (built-in and plugins)."""
    from genarun_studio.core.registry import default_registry

    registry = default_registry()
    rows = [
        {
            "type": t.type_id,
            "title": t.title,
            "category": t.category,
            "lane": t.lane,
            "description": t.description,
        }
        for t in registry.types()
    ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['type']:<14} {row['lane']:<6} {row['category']:<10} {row['description']}")
    for name, reason in registry.broken.items():
        click.echo(f"{name:<14} BROKEN  {reason}", err=True)


cli.add_command(keys)
cli.add_command(index)
cli.add_command(answer)
cli.add_command(requests)
cli.add_command(hooks)
cli.add_command(profiles)
cli.add_command(api)


def main() -> None:
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
