"""``genarun keys``: API keys in the OS keychain.

Keys are never taken as command-line arguments (those leak into shell history and process
lists): ``keys set`` prompts without echo, or reads the key from stdin when stdin is not a
terminal. Output shows keys masked (``sk-…wxyz``), never in full. Exit codes: 0 done, 2 a
usage problem (bad name, empty key, no keychain on this machine).
"""

from __future__ import annotations

import json
import os
import sys
from typing import NoReturn

import click

from genarun_studio import secrets
from genarun_studio.errors import GenarunError

__all__ = ["keys"]

EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"genarun: {message}", err=True)
    sys.exit(code)


def _stdin_is_tty() -> bool:
    return sys.stdin is None or sys.stdin.isatty()


def _read_key(name: str) -> str:
    if _stdin_is_tty():
        value: str = click.prompt(
            f"Key for {name} (input hidden)",
            hide_input=True,
            default="",
            show_default=False,
            err=True,
        )
        return value
    return sys.stdin.read()


@click.group()
def keys() -> None:
    """Manage API keys in the OS keychain.

    Where no key is stored, the environment variable is used (OPENAI_API_KEY for openai,
    MY_PROVIDER_API_KEY for my-provider): that is also the way on a machine without a
    keychain.
    """


@keys.command("set", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@click.argument("name")
@click.pass_context
def set_(ctx: click.Context, name: str) -> None:
    """Store the key for NAME (e.g. openai) in the OS keychain.

    Type the key at the hidden prompt, or pipe it in: echo "$KEY" | genarun keys set openai.
    The key is never accepted as an argument: arguments end up in shell history.
    """
    try:
        checked = secrets.check_name(name)
    except GenarunError as exc:
        bad_name = str(exc)
    else:
        bad_name = ""
    if ctx.args:
        # Repeat neither the extra arguments nor a bad name: one of them is probably the key.
        shown = "NAME" if bad_name else checked
        _fail(
            "the key is not taken as an argument (it would stay in your shell history); "
            f"run 'genarun keys set {shown}' and type it at the prompt, or pipe it on stdin"
        )
    if bad_name:
        _fail(bad_name)
    name = checked
    if not secrets.keychain_available():  # say so before asking for a key it cannot keep
        _fail(str(secrets.no_keychain(name)))
    value = _read_key(name).strip()
    if not value:
        _fail(f"no key was given for {name}; nothing was stored")
    try:
        secrets.set_key(name, value)
    except GenarunError as exc:  # KeychainUnavailable included
        _fail(str(exc))
    click.echo(f"stored the key for {name} in the OS keychain ({secrets.mask(value)})")


@keys.command("list")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON array of {name, source, masked, env_var}.",
)
def list_(as_json: bool) -> None:
    """List the keys in the keychain and the environment, masked (never in full)."""
    infos = secrets.list_keys()
    if not secrets.keychain_available():
        click.echo(
            "genarun: note: no OS keychain on this machine; showing environment keys only",
            err=True,
        )
    if as_json:
        rows = [
            {"name": i.name, "source": i.source, "masked": i.masked, "env_var": i.env_var}
            for i in infos
        ]
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not infos:
        click.echo(
            "no keys: store one with 'genarun keys set openai', "
            f"or set {secrets.env_var('openai')} in the environment"
        )
        return
    width = max(4, *(len(i.name) for i in infos))
    click.echo(f"{'NAME':<{width}}  {'SOURCE':<11}  {'KEY':<8}  ENV VAR")
    for i in infos:
        click.echo(f"{i.name:<{width}}  {i.source:<11}  {i.masked:<8}  {i.env_var}")


@keys.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """Remove the key for NAME from the OS keychain.

    Exits 0 whether or not a key was stored (the message says which), so scripts can
    delete idempotently. An environment variable for NAME is left alone (and mentioned).
    """
    try:
        name = secrets.check_name(name)
        existed = secrets.delete_key(name)
    except GenarunError as exc:  # KeychainUnavailable included
        _fail(str(exc))
    if existed:
        click.echo(f"deleted the key for {name} from the OS keychain")
    else:
        click.echo(f"no key for {name} was stored in the OS keychain")
    env = secrets.env_var(name)
    if os.environ.get(env, "").strip():
        click.echo(f"note: {env} is set in the environment and will still be used", err=True)
