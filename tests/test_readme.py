"""The README's commands stay real (issue 15): every ``genarun`` / ``genarun-studio`` line of
its ``sh`` blocks names a command and options that exist, set-up aside no line reaches into
``.venv/bin/`` (the reader activates the environment once), and its links point at files
that exist. Nothing is executed: the commands are resolved by click and argparse."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from genarun_studio.cli import cli

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
SETUP_BLOCKS = 2
"""The two set-up commands come before the reader activates the environment."""

_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
_SUBST = re.compile(r"\$\(([^()]*)\)")
_SEPARATORS = {"&&", "||", "|", ";", "&"}
_REDIRECTS = {"<", ">", ">>", "2>", "2>&1"}


def sh_blocks() -> list[str]:
    return _BLOCK.findall(README.read_text(encoding="utf-8"))


def commands(block: str) -> Iterator[list[str]]:
    """Each simple command of a block as words (continuations joined, comments dropped,
    ``$(...)`` substitutions checked as commands of their own)."""
    text = block.replace("\\\n", " ")
    for line in text.splitlines():
        for inner in _SUBST.findall(line):
            yield from _split(inner)
        yield from _split(_SUBST.sub("SUBST", line))


def _split(line: str) -> Iterator[list[str]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words: list[str] = []
    skip_next = False
    for word in lexer:
        if word in _SEPARATORS:
            if words:
                yield words
            words = []
        elif word in _REDIRECTS:
            skip_next = True
        elif skip_next:
            skip_next = False
        else:
            words.append(word)
    if words:
        yield words


def genarun_lines() -> list[list[str]]:
    return [
        words
        for block in sh_blocks()
        for words in commands(block)
        if words[0] in ("genarun", "genarun-studio")
    ]


def test_the_readme_has_commands_to_check() -> None:
    lines = genarun_lines()
    assert len(lines) > 30
    assert {w[1] for w in lines if w[0] == "genarun"} >= {"run", "runs", "index", "answer"}


def test_after_set_up_no_command_reaches_into_the_venv() -> None:
    blocks = sh_blocks()
    assert ".venv/bin/activate" in blocks[SETUP_BLOCKS]  # said once, right after set-up
    for block in blocks[SETUP_BLOCKS + 1 :]:
        assert ".venv/bin/" not in block, block


def _check_genarun(args: list[str]) -> None:
    command: click.Command = cli
    ctx = click.Context(cli, info_name="genarun")
    path = ["genarun"]
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(ctx, rest[0])
        assert sub is not None, f"`{' '.join([*path, rest[0]])}`: no such command"
        path.append(rest.pop(0))
        command = sub
        ctx = click.Context(command, info_name=path[-1], parent=ctx)
    assert not isinstance(command, click.Group), f"`{' '.join(path)}` needs a subcommand"
    known = {
        name
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    } | {"-h", "--help"}
    for word in rest:
        if word.startswith("-") and word != "-" and not re.fullmatch(r"-\d+(\.\d+)?", word):
            name = word.split("=", 1)[0]
            assert name in known, f"`{' '.join(path)}` has no option {name}"
    try:  # arguments and option values as click parses them (files need not exist)
        command.make_context(path[-1], rest, parent=ctx.parent)
    except click.BadParameter:
        pass
    except click.UsageError as exc:
        pytest.fail(f"`{' '.join([*path, *rest])}`: {exc.format_message()}")


def _check_studio(args: list[str]) -> None:
    from genarun_studio.qt.app import _parse

    try:
        _parse(args)
    except SystemExit as exc:  # argparse's way of refusing
        pytest.fail(f"`genarun-studio {' '.join(args)}` is refused (exit {exc.code})")


@pytest.mark.parametrize(
    "words", genarun_lines(), ids=lambda w: " ".join(w)[:60] if isinstance(w, list) else None
)
def test_each_readme_command_names_real_commands_and_options(words: list[str]) -> None:
    if words[0] == "genarun":
        _check_genarun(words[1:])
    else:
        _check_studio(words[1:])


def test_the_readme_links_point_at_files_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(((?!https?:|#)[^)\s]+)\)", text)
    assert targets
    for target in targets:
        assert (ROOT / target.split("#")[0]).exists(), target


def test_an_unknown_option_would_be_caught() -> None:
    with pytest.raises(AssertionError, match="no option --colour"):
        _check_genarun(["run", "tree.json", "--colour", "red"])
    with pytest.raises(AssertionError, match="no such command"):
        _check_genarun(["runs", "purge"])
    with pytest.raises(pytest.fail.Exception, match="Got unexpected extra argument"):
        _check_genarun(["validate", "a.json", "b.json"])
    with pytest.raises(pytest.fail.Exception, match="refused"):
        _check_studio(["tree.json", "--colour", "red"])
