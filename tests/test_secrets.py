"""Tests of ``genarun_studio.secrets``: the keychain, the environment fallback, masking."""

from __future__ import annotations

import pytest
from keyring.errors import KeyringLocked

from genarun_studio import secrets
from genarun_studio.errors import GenarunError
from tests.keyring_memory import MemoryKeyring, installed

OPENAI_KEY = "sk-proj.Abc123.Def456.Ghi789.Jkl012wxyz"
OTHER_KEY = "mp-0123456789abcdefghijklmnopqrstuv"


@pytest.fixture(autouse=True)
def clean_environment(key_environment: None) -> None:
    """No real key from the machine's environment may leak into (or out of) a test."""


class LockedKeyring(MemoryKeyring):
    """A keychain that exists but refuses writes (a locked macOS/GNOME keychain)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the keychain is locked")


# ---------------------------------------------------------------------------------------
# the keychain


def test_set_get_list_delete_round_trip(memory_keyring: MemoryKeyring) -> None:
    secrets.set_key("openai", OPENAI_KEY)
    assert secrets.get_key("openai") == OPENAI_KEY
    # The key is in the keychain under the "genarun" service, where other tools see it.
    assert memory_keyring.passwords[("genarun", "openai")] == OPENAI_KEY

    [info] = secrets.list_keys()
    assert info == secrets.KeyInfo("openai", "keychain", "sk-…wxyz", "OPENAI_API_KEY")

    assert secrets.delete_key("openai") is True
    assert secrets.get_key("openai") is None
    assert secrets.list_keys() == []
    # Deleting again is harmless and says there was nothing.
    assert secrets.delete_key("openai") is False


def test_list_shows_every_stored_key_sorted_and_masked(memory_keyring: MemoryKeyring) -> None:
    secrets.set_key("my-provider", OTHER_KEY)
    secrets.set_key("openai", OPENAI_KEY)
    infos = secrets.list_keys()
    assert [(i.name, i.source, i.env_var) for i in infos] == [
        ("my-provider", "keychain", "MY_PROVIDER_API_KEY"),
        ("openai", "keychain", "OPENAI_API_KEY"),
    ]
    assert all(OPENAI_KEY not in repr(i) and OTHER_KEY not in repr(i) for i in infos)


def test_setting_again_replaces_the_key(memory_keyring: MemoryKeyring) -> None:
    secrets.set_key("openai", OTHER_KEY)
    secrets.set_key("openai", OPENAI_KEY)
    assert secrets.get_key("openai") == OPENAI_KEY
    assert [i.name for i in secrets.list_keys()] == ["openai"]


def test_a_pasted_key_loses_surrounding_whitespace(memory_keyring: MemoryKeyring) -> None:
    secrets.set_key("openai", f"  {OPENAI_KEY}\n")
    assert secrets.get_key("openai") == OPENAI_KEY


@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_an_empty_key_is_refused(memory_keyring: MemoryKeyring, value: str) -> None:
    with pytest.raises(GenarunError, match="empty key"):
        secrets.set_key("openai", value)
    assert memory_keyring.passwords == {}


def test_a_key_spanning_two_lines_is_refused(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(GenarunError, match="line break") as caught:
        secrets.set_key("openai", f"{OPENAI_KEY}\n{OTHER_KEY}")
    assert OPENAI_KEY not in str(caught.value)
    assert memory_keyring.passwords == {}


def test_names_are_case_insensitive(memory_keyring: MemoryKeyring) -> None:
    secrets.set_key("OpenAI", OPENAI_KEY)
    assert secrets.get_key("openai") == OPENAI_KEY
    assert secrets.get_key("OPENAI") == OPENAI_KEY
    assert [i.name for i in secrets.list_keys()] == ["openai"]


# ---------------------------------------------------------------------------------------
# the environment fallback


def test_environment_variable_names() -> None:
    assert secrets.env_var("openai") == "OPENAI_API_KEY"
    assert secrets.env_var("my-provider") == "MY_PROVIDER_API_KEY"
    assert secrets.env_var("my.provider") == "MY_PROVIDER_API_KEY"


def test_the_environment_is_used_when_nothing_is_stored(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert secrets.get_key("openai") is None
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("MY_PROVIDER_API_KEY", f"{OTHER_KEY}\n")
    assert secrets.get_key("openai") == OPENAI_KEY
    assert secrets.get_key("my-provider") == OTHER_KEY
    assert secrets.list_keys(("openai", "my-provider")) == [
        secrets.KeyInfo("my-provider", "environment", "mp-…stuv", "MY_PROVIDER_API_KEY"),
        secrets.KeyInfo("openai", "environment", "sk-…wxyz", "OPENAI_API_KEY"),
    ]


def test_every_api_key_variable_of_the_environment_is_listed(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile's key given only in the environment is listed too, not just openai's."""
    monkeypatch.setenv("MY_PROVIDER_API_KEY", OTHER_KEY)
    monkeypatch.setenv("NOT_A_KEY", "x")
    assert secrets.list_keys() == [
        secrets.KeyInfo("my_provider", "environment", "mp-…stuv", "MY_PROVIDER_API_KEY"),
    ]
    assert secrets.get_key("my_provider") == OTHER_KEY
    # a stored name that reads the same variable is listed once, under its own name
    secrets.set_key("my-provider", OPENAI_KEY)
    assert [(i.name, i.source) for i in secrets.list_keys()] == [("my-provider", "keychain")]


def test_an_empty_environment_variable_counts_as_no_key(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", " ")
    assert secrets.get_key("openai") is None
    assert secrets.list_keys() == []


def test_the_keychain_wins_over_the_environment(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OTHER_KEY)
    secrets.set_key("openai", OPENAI_KEY)
    assert secrets.get_key("openai") == OPENAI_KEY
    assert [i.source for i in secrets.list_keys()] == ["keychain"]
    # Deleting the stored key leaves the environment's in use.
    assert secrets.delete_key("openai") is True
    assert secrets.get_key("openai") == OTHER_KEY
    assert [i.source for i in secrets.list_keys()] == ["environment"]


# ---------------------------------------------------------------------------------------
# a machine without a keychain


@pytest.mark.usefixtures("no_keyring")
def test_without_a_keychain_reading_falls_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert secrets.keychain_available() is False
    assert secrets.get_key("openai") is None
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    assert secrets.get_key("openai") == OPENAI_KEY
    assert secrets.list_keys() == [
        secrets.KeyInfo("openai", "environment", "sk-…wxyz", "OPENAI_API_KEY")
    ]


@pytest.mark.usefixtures("no_keyring")
@pytest.mark.parametrize(
    ("name", "var"), [("openai", "OPENAI_API_KEY"), ("my-provider", "MY_PROVIDER_API_KEY")]
)
def test_without_a_keychain_storing_names_the_environment_variable(name: str, var: str) -> None:
    with pytest.raises(secrets.KeychainUnavailable) as caught:
        secrets.set_key(name, OPENAI_KEY)
    message = str(caught.value)
    assert "no OS keychain" in message
    assert var in message
    assert OPENAI_KEY not in message
    assert isinstance(caught.value, GenarunError)


@pytest.mark.usefixtures("no_keyring")
def test_without_a_keychain_deleting_says_so() -> None:
    with pytest.raises(secrets.KeychainUnavailable, match="OPENAI_API_KEY"):
        secrets.delete_key("openai")


def test_a_locked_keychain_is_reported_as_unusable() -> None:
    with installed(LockedKeyring()):
        assert secrets.keychain_available() is True
        with pytest.raises(secrets.KeychainUnavailable) as caught:
            secrets.set_key("openai", OPENAI_KEY)
        assert "KeyringLocked" in str(caught.value)
        assert "OPENAI_API_KEY" in str(caught.value)


def test_with_a_keychain_it_is_reported_available(memory_keyring: MemoryKeyring) -> None:
    assert secrets.keychain_available() is True


# ---------------------------------------------------------------------------------------
# names


@pytest.mark.parametrize(
    "name",
    [
        "../openai",
        "a/b",
        "a\\b",
        "..",
        ".hidden",
        "/etc/passwd",
        "C:x",
        "",
        "-x",
        "1password",
        "open ai",
        "openai\n",
        "__names__",
    ],
)
def test_names_that_are_not_plain_words_are_refused(
    memory_keyring: MemoryKeyring, name: str
) -> None:
    for call in (secrets.get_key, secrets.delete_key, lambda n: secrets.set_key(n, OPENAI_KEY)):
        with pytest.raises(GenarunError, match="key name"):
            call(name)
    assert memory_keyring.passwords == {}


def test_a_key_given_as_the_name_is_refused_without_being_repeated(
    memory_keyring: MemoryKeyring,
) -> None:
    with pytest.raises(GenarunError, match="key name") as caught:
        secrets.set_key(OPENAI_KEY, "anything")
    assert OPENAI_KEY not in str(caught.value)


def test_a_name_of_32_characters_is_accepted(memory_keyring: MemoryKeyring) -> None:
    name = "p" * 32
    secrets.set_key(name, OPENAI_KEY)
    assert secrets.get_key(name) == OPENAI_KEY


# ---------------------------------------------------------------------------------------
# mask and redact


def test_mask_shows_only_the_start_and_the_end() -> None:
    masked = secrets.mask(OPENAI_KEY)
    assert masked == "sk-…wxyz"
    assert "Abc123" not in masked


def test_mask_hides_short_values_completely_and_their_length() -> None:
    assert secrets.mask("ollama") == "****"
    assert secrets.mask("a-key-of-19-chars!!") == "****"
    assert secrets.mask("") == "****"


def test_redact_replaces_every_known_key() -> None:
    text = f"POST with {OPENAI_KEY} failed; retried with {OTHER_KEY}, then {OPENAI_KEY}"
    clean = secrets.redact(text, {OPENAI_KEY, OTHER_KEY})
    assert clean == "POST with *** failed; retried with ***, then ***"


def test_redact_does_not_leave_part_of_a_longer_key() -> None:
    short, long = "sk-abcdefgh", "sk-abcdefgh.and.more.secret"
    assert secrets.redact(f"key={long}", {short, long}) == "key=***"


def test_redact_knows_the_keys_this_process_read_and_stored(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_PROVIDER_API_KEY", OTHER_KEY)
    secrets.set_key("openai", OPENAI_KEY)
    assert secrets.get_key("my-provider") == OTHER_KEY
    assert {OPENAI_KEY, OTHER_KEY} <= secrets.known_secrets()
    text = f"Authorization: Bearer {OPENAI_KEY} / x-api-key: {OTHER_KEY}"
    assert secrets.redact(text) == "Authorization: Bearer *** / x-api-key: ***"


def test_redact_leaves_text_without_keys_alone() -> None:
    assert secrets.redact("nothing secret here", {OPENAI_KEY}) == "nothing secret here"
