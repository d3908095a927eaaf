"""``genarun profiles``: the user's model profiles (endpoints and default models).

A tree's nodes name a profile (``text``, ``image``, or any name); a profile the tree does not
define comes from these, then from the built-in defaults. Exit codes: 0 done, 2 a usage
problem (unknown profile, bad value, a damaged profiles file).
"""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click
from pydantic import ValidationError

from genarun_studio.core.tree import ModelProfile
from genarun_studio.profiles import (
    BUILTIN_PROFILES,
    ProfilesError,
    load_profiles,
    profiles_path,
    save_profiles,
)

__all__ = ["profiles"]

EXIT_USAGE = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"genarun: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _load() -> dict[str, ModelProfile]:
    try:
        return load_profiles()
    except ProfilesError as exc:
        _fail(str(exc))


@click.group()
def profiles() -> None:
    """Model profiles every tree can use: provider, model, base URL, key name.

    A tree's own `models` come first, then these, then the built-in ones (text:
    gpt-4o-mini, image: gpt-image-1, embed: text-embedding-3-small on OpenAI).
    """


@profiles.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_profiles(as_json: bool) -> None:
    """List the user's profiles and the built-in ones they override or leave."""
    user = _load()
    rows = [(name, p, "user") for name, p in sorted(user.items())] + [
        (name, p, "built-in") for name, p in sorted(BUILTIN_PROFILES.items()) if name not in user
    ]
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"name": name, "source": source, **p.model_dump(mode="json")}
                    for name, p, source in rows
                ],
                indent=2,
            )
        )
        return
    click.echo(f"# {profiles_path()}")
    for name, p, source in rows:
        where = p.base_url or "(provider default)"
        key = f" key={p.key_name}" if p.key_name else ""
        click.echo(f"{name:<16} {p.provider}:{p.model:<28} {where}{key}  [{source}]")


@profiles.command("set")
@click.argument("name")
@click.option("--model", "-m", help="The model (required for a new profile).")
@click.option("--provider", help="openai (any OpenAI-compatible endpoint) or mock.")
@click.option("--base-url", help="The endpoint, e.g. http://localhost:11434/v1 for Ollama.")
@click.option("--key-name", help="Which stored key to use (genarun keys set NAME).")
@click.option(
    "--param", "params", multiple=True, metavar="K=JSON", help="A model parameter (repeatable)."
)
def set_profile(
    name: str,
    model: str | None,
    provider: str | None,
    base_url: str | None,
    key_name: str | None,
    params: tuple[str, ...],
) -> None:
    """Create or change the profile NAME (only the options given change)."""
    current = _load()
    old = current.get(name) or BUILTIN_PROFILES.get(name)
    fields = old.model_dump() if old is not None else {}
    if model is None and old is None:
        _fail(f"profile {name!r} is new: give its --model")
    updates = {"model": model, "provider": provider, "base_url": base_url, "key_name": key_name}
    fields.update({k: v for k, v in updates.items() if v is not None})
    for pair in params:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _fail(f"--param {pair}: expected KEY=JSON, e.g. temperature=0.2")
        try:
            fields.setdefault("params", {})[key] = json.loads(value)
        except json.JSONDecodeError:
            fields.setdefault("params", {})[key] = value
    try:
        current[name] = ModelProfile.model_validate(fields)
    except ValidationError as exc:
        _fail(f"profile {name!r}: {exc.errors()[0]['msg']}")
    try:
        path = save_profiles(current)
    except ProfilesError as exc:
        _fail(str(exc))
    click.echo(f"saved profile {name!r} in {path}")


@profiles.command("remove")
@click.argument("name")
def remove_profile(name: str) -> None:
    """Remove the user's profile NAME (a built-in one of that name applies again)."""
    current = _load()
    if name not in current:
        _fail(f"no user profile {name!r} (see genarun profiles list)")
    del current[name]
    try:
        save_profiles(current)
    except ProfilesError as exc:
        _fail(str(exc))
    click.echo(f"removed profile {name!r}")
