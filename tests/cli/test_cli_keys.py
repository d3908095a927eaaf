"""Tests of ``genarun keys``: set, list and delete keys without ever showing them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from genarun_studio import cli_keys
from genarun_studio.cli import cli
from tests.keyring_memory import MemoryKeyring

KEY = "sk-proj.Zyx987.Wvu654.Tsr321.Qpo000wxyz"


@pytest.fixture(autouse=True)
def clean_environment(key_environment: None) -> None:
    """No real key from the machine's environment may leak into (or out of) a test."""


def invoke(*args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"genarun crashed: {result.exception!r}\n{result.output}")
    return result


def everything(result: Result) -> str:
    return result.output + result.stdout + result.stderr


def assert_clean_failure(result: Result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("genarun: "), result.stderr
    assert "Traceback" not in everything(result)
    for needle in needles:
        assert needle in result.stderr, result.stderr


# ---------------------------------------------------------------------------------------
# keys set


def test_set_reads_the_key_from_stdin(memory_keyring: MemoryKeyring) -> None:
    result = invoke("keys", "set", "openai", input=f"{KEY}\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "stored the key for openai in the OS keychain (sk-…wxyz)\n"
    assert KEY not in everything(result)
    assert memory_keyring.passwords[("genarun", "openai")] == KEY


def test_set_prompts_without_echo_at_a_terminal(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_keys, "_stdin_is_tty", lambda: True)
    result = invoke("keys", "set", "openai", input=f"{KEY}\n")
    assert result.exit_code == 0, result.output
    assert "Key for openai (input hidden)" in result.stderr
    assert KEY not in everything(result)
    assert memory_keyring.passwords[("genarun", "openai")] == KEY


def test_set_refuses_the_key_as_an_argument_without_repeating_it(
    memory_keyring: MemoryKeyring,
) -> None:
    for args in (["openai", KEY], ["openai", f"--key={KEY}"], [KEY, "openai"]):
        result = invoke("keys", "set", *args)
        assert_clean_failure(result, "not taken as an argument", "shell history")
        assert KEY not in everything(result)
    # An option-looking key in place of the name is refused as a name, still unrepeated.
    result = invoke("keys", "set", f"--key={KEY}")
    assert_clean_failure(result, "key name")
    assert KEY not in everything(result)
    assert memory_keyring.passwords == {}


def test_set_refuses_a_key_typed_in_place_of_the_name(memory_keyring: MemoryKeyring) -> None:
    result = invoke("keys", "set", KEY, input="whatever\n")
    assert_clean_failure(result, "key name")
    assert KEY not in everything(result)
    assert memory_keyring.passwords == {}


def test_set_with_nothing_on_stdin_stores_nothing(memory_keyring: MemoryKeyring) -> None:
    result = invoke("keys", "set", "openai", input="\n")
    assert_clean_failure(result, "no key was given for openai")
    assert memory_keyring.passwords == {}


def test_set_normalises_the_name(memory_keyring: MemoryKeyring) -> None:
    result = invoke("keys", "set", "My-Provider", input=KEY)
    assert result.exit_code == 0, result.output
    assert "stored the key for my-provider" in result.stdout
    assert memory_keyring.passwords[("genarun", "my-provider")] == KEY


@pytest.mark.usefixtures("no_keyring")
def test_set_without_a_keychain_offers_the_environment_variable() -> None:
    result = invoke("keys", "set", "my-provider", input=f"{KEY}\n")
    assert_clean_failure(result, "no OS keychain", "MY_PROVIDER_API_KEY")
    assert KEY not in everything(result)
    assert result.stdout == ""


@pytest.mark.usefixtures("no_keyring")
def test_set_without_a_keychain_says_so_before_asking_for_the_key() -> None:
    result = invoke("keys", "set", "openai", input="")
    assert_clean_failure(result, "no OS keychain", "OPENAI_API_KEY")
    assert "no key was given" not in everything(result)


# ---------------------------------------------------------------------------------------
# keys list


def test_list_shows_masked_keys_and_never_the_key(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "mp-0123456789abcdefghijklmnopqrstuv"
    monkeypatch.setenv("OPENAI_API_KEY", other)  # the keychain's key wins over it
    assert invoke("keys", "set", "openai", input=KEY).exit_code == 0
    result = invoke("keys", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SOURCE", "KEY", "ENV", "VAR"]
    assert lines[1].split() == ["openai", "keychain", "sk-…wxyz", "OPENAI_API_KEY"]
    assert len(lines) == 2
    assert KEY not in everything(result)
    assert other not in everything(result)


def test_list_json_parses(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert (
        invoke("keys", "set", "my-provider", input="mp-0123456789abcdefghijklmnopqrstuv").exit_code
        == 0
    )
    result = invoke("keys", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "name": "my-provider",
            "source": "keychain",
            "masked": "mp-…stuv",
            "env_var": "MY_PROVIDER_API_KEY",
        },
        {
            "name": "openai",
            "source": "environment",
            "masked": "sk-…wxyz",
            "env_var": "OPENAI_API_KEY",
        },
    ]
    assert KEY not in everything(result)


def test_list_with_no_keys_says_how_to_add_one(memory_keyring: MemoryKeyring) -> None:
    result = invoke("keys", "list")
    assert result.exit_code == 0, result.output
    assert "genarun keys set openai" in result.stdout
    assert "OPENAI_API_KEY" in result.stdout
    assert json.loads(invoke("keys", "list", "--json").stdout) == []


@pytest.mark.usefixtures("no_keyring")
def test_list_without_a_keychain_shows_environment_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    result = invoke("keys", "list")
    assert result.exit_code == 0, result.output
    assert ["openai", "environment", "sk-…wxyz", "OPENAI_API_KEY"] in [
        line.split() for line in result.stdout.splitlines()
    ]
    assert "no OS keychain" in result.stderr
    assert KEY not in everything(result)
    as_json = invoke("keys", "list", "--json")
    assert as_json.exit_code == 0
    assert [row["source"] for row in json.loads(as_json.stdout)] == ["environment"]


# ---------------------------------------------------------------------------------------
# keys delete


def test_delete_removes_the_key(memory_keyring: MemoryKeyring) -> None:
    assert invoke("keys", "set", "openai", input=KEY).exit_code == 0
    result = invoke("keys", "delete", "openai")
    assert result.exit_code == 0, result.output
    assert result.stdout == "deleted the key for openai from the OS keychain\n"
    assert ("genarun", "openai") not in memory_keyring.passwords
    assert json.loads(invoke("keys", "list", "--json").stdout) == []


def test_delete_of_a_missing_key_says_so_and_succeeds(memory_keyring: MemoryKeyring) -> None:
    result = invoke("keys", "delete", "openai")
    assert result.exit_code == 0, result.output
    assert result.stdout == "no key for openai was stored in the OS keychain\n"


def test_delete_mentions_a_key_still_in_the_environment(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    result = invoke("keys", "delete", "openai")
    assert result.exit_code == 0, result.output
    assert "OPENAI_API_KEY is set in the environment and will still be used" in result.stderr
    assert KEY not in everything(result)


@pytest.mark.usefixtures("no_keyring")
def test_delete_without_a_keychain_says_so() -> None:
    result = invoke("keys", "delete", "openai")
    assert_clean_failure(result, "no OS keychain", "OPENAI_API_KEY")


# ---------------------------------------------------------------------------------------
# names


@pytest.mark.parametrize("name", ["../openai", "a/b", "open ai", ".hidden"])
@pytest.mark.parametrize("command", ["set", "delete"])
def test_invalid_names_are_usage_errors(
    memory_keyring: MemoryKeyring, command: str, name: str
) -> None:
    result = invoke("keys", command, name, input=KEY)
    assert_clean_failure(result, "key name", repr(name))
    assert memory_keyring.passwords == {}


def test_help_explains_the_environment_fallback_and_delete_exit_code() -> None:
    group = invoke("keys", "--help")
    assert group.exit_code == 0
    assert "OPENAI_API_KEY" in group.stdout
    delete = invoke("keys", "delete", "--help")
    assert "Exits 0 whether or not a key was stored" in delete.stdout
