"""Request and answer files are named one per instance key; files of runs made under the
first naming (where ``a/b_c`` and ``a_b/c`` shared a name) still count for their own key."""

from __future__ import annotations

import json
from pathlib import Path

from genarun_studio.human import HumanRequest, RunInbox


def _request(key: str, question: str) -> HumanRequest:
    return HumanRequest.model_validate(
        {
            "run_id": "t/1",
            "key": key,
            "node_id": key.rsplit("/", 1)[-1],
            "kind": "freeText",
            "question": question,
        }
    )


def test_keys_that_once_shared_a_file_each_have_their_own(tmp_path: Path) -> None:
    inbox = RunInbox(tmp_path)
    inbox.save_request(_request("a/b_c", "first?"))
    inbox.save_request(_request("a_b/c", "second?"))
    assert {r.key: r.question for r in inbox.open_requests()} == {
        "a/b_c": "first?",
        "a_b/c": "second?",
    }
    inbox.submit("a/b_c", "one", who="ana", channel="cli")
    assert [r.key for r in inbox.open_requests()] == ["a_b/c"]
    assert inbox.answer("a_b/c") is None
    names = sorted(p.name for p in (tmp_path / "human" / "requests").iterdir())
    assert names == ["a.b_c.json", "a_b.c.json"]


def test_files_of_the_first_naming_still_count_for_their_own_key(tmp_path: Path) -> None:
    human = tmp_path / "human"
    (human / "requests").mkdir(parents=True)
    (human / "answers").mkdir()
    old = _request("menu[0]/score", "Rate it")
    (human / "requests" / "menu-0_score.json").write_text(json.dumps(old.model_dump()))
    answer = {"key": "menu[0]/score", "value": "good", "who": "bo", "channel": "cli", "at": 1.0}
    (human / "answers" / "menu-0_score.json").write_text(json.dumps(answer))
    inbox = RunInbox(tmp_path)
    found = inbox.request("menu[0]/score")
    assert found is not None
    assert found.question == "Rate it"
    given = inbox.answer("menu[0]/score")
    assert given is not None
    assert (given.value, given.who) == ("good", "bo")
    assert inbox.has_answer("menu[0]/score")
    assert inbox.open_requests() == []
    # the same old name read for another key that maps to it: not that key's file
    assert inbox.request("menu-0/score") is None
    assert inbox.answer("menu-0/score") is None
    assert not inbox.has_answer("menu-0/score")
