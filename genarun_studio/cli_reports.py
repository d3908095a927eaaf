"""Tables the CLI prints: the dry-run bill, the run list, one run's details."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from genarun_studio.engine.run import Run, RunSummary

__all__ = ["console", "print_dry_run", "print_run", "print_runs"]


def console(*, stderr: bool = False) -> Console:
    """A console for the CLI's reports. On a terminal, rich's own; piped or redirected, text
    is never wrapped (a message cut mid-sentence at 80 columns breaks greps and copied
    commands) and tables get 160 columns instead of 80."""
    probe = Console(stderr=stderr)
    if probe.is_terminal:
        return probe
    return Console(stderr=stderr, width=160, soft_wrap=True)


def _console() -> Console:
    return console()


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"


def print_dry_run(run: Run, summary: RunSummary, *, as_json: bool) -> list[dict[str, Any]]:
    """Per node: instances, calls, estimated tokens and cost, model; then the total."""
    rows: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "instances": 0,
            "calls": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "images": 0,
            "cost_usd": 0.0,
            "models": set(),
        }
    )
    calls = []
    for inst in run.instances.values():
        if inst.state not in ("done", "failed"):
            continue
        row = rows[inst.node_id]
        row["instances"] += 1
        for call in inst.calls:
            row["calls"] += 1
            row["input_tokens"] += call["usage"]["input_tokens"]
            row["output_tokens"] += call["usage"]["output_tokens"]
            row["images"] += call["usage"]["images"]
            row["cost_usd"] += call.get("cost_usd", 0.0)
            row["models"].add(call["model"])
            prompt = call.get("prompt") or (call.get("messages") or [{}])[-1].get("content", "")
            calls.append(
                {
                    "key": inst.key,
                    "kind": call["kind"],
                    "model": call["model"],
                    "prompt": prompt,
                    "cost_usd": call.get("cost_usd", 0.0),
                }
            )
    table = [
        {
            "node_id": node_id,
            **{k: v for k, v in row.items() if k != "models"},
            "models": sorted(row["models"]),
        }
        for node_id, row in rows.items()
    ]
    unpriced = sorted(run.pricing.unpriced)
    total = sum(r["cost_usd"] for r in table)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "dry_run": True,
                    "nodes": table,
                    "calls": calls,
                    "estimated_cost_usd": total,
                    "unpriced_models": unpriced,
                    "instances": summary.counts,
                }
            )
        )
        return table
    console = _console()
    for call in calls[:200]:
        prompt = " ".join(str(call["prompt"]).split())
        console.print(
            f"[dim]{call['key']}[/] ({call['model']}): {prompt[:110]}",
            highlight=False,
            soft_wrap=True,
        )
    if len(calls) > 200:
        console.print(f"... and {len(calls) - 200} more calls")
    out = Table(title="dry run: calls and estimated cost (nothing was called)")
    for name in (
        "node",
        "instances",
        "calls",
        "input tok",
        "output tok",
        "images",
        "model",
        "est. cost",
    ):
        out.add_column(name, justify="left" if name in ("node", "model") else "right")
    for r in table:
        out.add_row(
            r["node_id"],
            str(r["instances"]),
            str(r["calls"]),
            str(r["input_tokens"]),
            str(r["output_tokens"]),
            str(r["images"]),
            ", ".join(r["models"]),
            _money(r["cost_usd"]),
        )
    out.add_row("total", "", str(sum(r["calls"] for r in table)), "", "", "", "", _money(total))
    console.print(out)
    if unpriced:
        console.print(
            f"[yellow]no price for: {', '.join(unpriced)}[/] (counted as $0; add them "
            "to .genarun/pricing.json in the project)"
        )
    return table


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def print_runs(rows: list[dict[str, Any]]) -> None:
    table = Table()
    for name in (
        "run",
        "status",
        "started",
        "duration",
        "instances",
        "failed",
        "cached",
        "tokens",
        "cost",
        "mock",
    ):
        table.add_column(
            name,
            justify="right"
            if name in ("duration", "instances", "failed", "cached", "tokens", "cost")
            else "left",
        )
    for r in rows:
        table.add_row(
            r["run_id"],
            r["status"],
            _when(r["started_at"]),
            f"{r['wall_s']:.1f} s" if r["wall_s"] is not None else "-",
            str(r["total"]),
            str(r["failed"]),
            str(r["cached"]),
            str(r["input_tokens"] + r["output_tokens"]),
            _money(r["cost_usd"]),
            "mock" if r["mock"] else "",
        )
    _console().print(table)


def print_run(run: dict[str, Any], nodes: list[dict[str, Any]], assets: list[str]) -> None:
    console = _console()
    console.print(
        f"[bold]{run['run_id']}[/]  {run['status']}{'  (mock)' if run['mock'] else ''}"
        f"  started {_when(run['started_at'])}  seed {run['seed']}",
        highlight=False,
    )
    console.print(f"folder: {escape(str(run['run_dir']))}", highlight=False, soft_wrap=True)
    table = Table()
    for name in (
        "node",
        "instances",
        "done",
        "cached",
        "failed",
        "total s",
        "mean s",
        "tokens",
        "retries",
        "cost",
    ):
        table.add_column(name, justify="left" if name == "node" else "right")
    for n in nodes:
        table.add_row(
            n["node_id"],
            str(n["instances"]),
            str(n["done"]),
            str(n["cached"]),
            str(n["failed"]),
            f"{n['total_s']:.2f}",
            f"{n['mean_s']:.2f}" if n["mean_s"] is not None else "-",
            str((n["input_tokens"] or 0) + (n["output_tokens"] or 0)),
            str(n["retries"] or 0),
            _money(n["cost_usd"]),
        )
    console.print(table)
    console.print(f"total cost {_money(run['cost_usd'])}, {len(assets)} asset(s)")
