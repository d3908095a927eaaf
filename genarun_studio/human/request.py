"""What a human step asks and what counts as an answer.

A :class:`HumanQuestion` is what a ``human`` node wants to know (its kind, the question, the
options); the engine makes it a :class:`HumanRequest` by adding where it comes from (run,
instance key) and when. :func:`check_answer` is the one place an answer is judged against
its request, whatever channel it came through (editor, terminal, webhook, API), so every
channel accepts and refuses the same things.

    HumanError               (a GenarunError)
    ├── RequestNotFound      no such run, node or open request
    ├── AnswerInvalid        the answer does not fit the request (not an option, out of range)
    ├── AlreadyAnswered      a first answer was recorded; answers are never replaced
    └── AnswerRejected       an ``approve`` request was rejected (the instance fails)
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import time
import unicodedata
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from genarun_studio.errors import GenarunError

__all__ = [
    "KINDS",
    "AlreadyAnswered",
    "AnswerInvalid",
    "AnswerRejected",
    "HumanAnswer",
    "HumanError",
    "HumanQuestion",
    "HumanRequest",
    "RequestNotFound",
    "auto_answer",
    "check_answer",
    "printable",
    "read_answer",
]

_ESCAPE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clearing the screen
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
    r"|[@-Z\\-_])"  # any other two-character escape
)
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` made safe to print in a terminal on one line: terminal escape sequences
    and control and bidi-override characters removed, line breaks and tabs made spaces,
    runs of spaces made one. Used on a name given by someone else (the webhook's ``who``)
    when it comes in and again when it is shown, so a forged line or a cleared screen
    never reaches the operator's terminal, whatever an older file holds."""
    text = _ESCAPE.sub("", text)
    kept = (
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or (unicodedata.category(ch) != "Cc" and ch not in _BIDI)
    )
    return " ".join("".join(kept).split())


Kind = Literal["multipleChoice", "freeText", "rating", "pickImage", "approve"]
KINDS: tuple[str, ...] = ("multipleChoice", "freeText", "rating", "pickImage", "approve")
DECISIONS = ("accept", "reject", "edit")


class HumanError(GenarunError):
    """Base of the errors of human requests and answers."""


class RequestNotFound(HumanError):
    """No open request with that run id, node id or instance key."""


class AnswerInvalid(HumanError):
    """The answer does not fit its request."""


class AlreadyAnswered(HumanError):
    """The request has an answer already; the first answer stands."""


class AnswerRejected(HumanError):
    """A person rejected the text of an ``approve`` request."""


class HumanQuestion(BaseModel):
    """What to ask. ``options`` are the choices of ``multipleChoice`` and the image paths
    (relative to the run folder) of ``pickImage``; ``text`` is what ``approve`` shows."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    question: str
    options: list[str] = Field(default_factory=list)
    text: str | None = None
    min: int = 1
    max: int = 5
    max_length: int = 10_000
    default: Any = None
    """Taken when ``timeout_s`` passes with no answer (None: the instance fails then)."""
    timeout_s: float | None = None


class HumanRequest(HumanQuestion):
    """A question of one node instance of one run, as stored in the run folder."""

    run_id: str
    key: str
    node_id: str
    created_at: float = Field(default_factory=time.time)
    deadline: float | None = None

    def same_question(self, other: HumanQuestion) -> bool:
        mine = HumanQuestion.model_validate(
            self.model_dump(include=set(HumanQuestion.model_fields))
        )
        return mine == other

    def public(self, post_url: str | None = None) -> dict[str, Any]:
        """The request as the outside world sees it (the seed's shape plus what a kind
        needs): ``{"type", "question", "options", "postUrl", ...}``."""
        data: dict[str, Any] = {
            "type": self.kind,
            "question": self.question,
            "options": list(self.options),
            "postUrl": post_url,
            "runId": self.run_id,
            "nodeId": self.node_id,
            "key": self.key,
            "createdAt": self.created_at,
            "deadline": self.deadline,
        }
        if self.kind == "rating":
            data["min"], data["max"] = self.min, self.max
        if self.kind == "approve":
            data["text"] = self.text
            data["options"] = list(DECISIONS)
        if self.kind == "pickImage":
            data["images"] = list(self.options)
        return data


class HumanAnswer(BaseModel):
    """An answer as recorded: the checked value, who gave it, through which channel, when."""

    model_config = ConfigDict(extra="forbid")

    value: Any
    who: str = "someone"
    channel: str = "api"
    at: float = Field(default_factory=time.time)

    @field_validator("who")
    @classmethod
    def _printable(cls, value: str) -> str:
        """Cleaned when an answer is made and when one is read back from its file."""
        return printable(value) or "someone"


def read_answer(request: HumanQuestion, value: Any, run_dir: Path | None = None) -> Any:
    """The value a person meant, from what they gave, the same for every channel (the
    terminal, ``genarun answer``, the webhook): ``2`` or ``"2"`` is the 2nd option of a
    choice (an option that is itself that text wins; an image may also be given by the full
    path the terminal shows, under ``run_dir``), ``"4"`` is a rating of 4, ``a`` / ``r`` /
    ``accept`` / ``reject`` or JSON text is an approval, text is text. Anything else is
    returned as it is, for :func:`check_answer` to judge. Raises AnswerInvalid for an option
    number out of range."""
    choice = request.kind in ("multipleChoice", "pickImage")
    if choice and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    text = value.strip()
    if choice:
        if value in request.options:
            return value
        if text.isdigit() and text not in request.options:
            if not 1 <= int(text) <= len(request.options):
                raise AnswerInvalid(
                    f"there is no option {text}: give a number from 1 to "
                    f"{len(request.options)}, or the option itself"
                )
            return request.options[int(text) - 1]
        if request.kind == "pickImage" and run_dir is not None:
            for option in request.options:
                if text == str(run_dir / option):
                    return option
        return value
    if request.kind == "rating":
        try:
            return int(text)
        except ValueError:
            return value
    if request.kind == "approve":
        if text.lower() in ("accept", "reject", "a", "r"):
            return {"a": "accept", "r": "reject"}.get(text.lower(), text.lower())
        with contextlib.suppress(json.JSONDecodeError):
            return json.loads(text)
        return value
    return value


def check_answer(request: HumanQuestion, value: Any) -> Any:
    """The answer's value in its normal form, or AnswerInvalid saying what is wrong.

    * ``multipleChoice``, ``pickImage``: one of the options (the text / image path itself).
    * ``freeText``: a non-empty string of at most ``max_length`` characters.
    * ``rating``: a whole number from ``min`` to ``max``.
    * ``approve``: ``"accept"``, ``"reject"`` or ``{"decision": "accept" | "reject" |
      "edit", "text": ...}``; normalised to ``{"decision": ..., "text": <final text>}``.
    """
    kind = request.kind
    if kind in ("multipleChoice", "pickImage"):
        if not isinstance(value, str) or value not in request.options:
            what = "image" if kind == "pickImage" else "option"
            shown = ", ".join(repr(o) for o in request.options[:10])
            raise AnswerInvalid(f"the answer must be one {what} of: {shown}; got {value!r:.80}")
        return value
    if kind == "freeText":
        if not isinstance(value, str) or not value.strip():
            raise AnswerInvalid("the answer must be a non-empty text")
        if len(value) > request.max_length:
            raise AnswerInvalid(
                f"the answer is {len(value)} characters long; at most {request.max_length}"
            )
        return value
    if kind == "rating":
        number = value
        if isinstance(number, float) and math.isfinite(number) and number.is_integer():
            number = int(number)
        if not isinstance(number, int) or isinstance(number, bool):
            raise AnswerInvalid(
                f"the rating must be a whole number from {request.min} to {request.max}"
            )
        if not request.min <= number <= request.max:
            raise AnswerInvalid(
                f"the rating {number} is out of range: {request.min} to {request.max}"
            )
        return number
    # approve
    decision, text = value, request.text
    if isinstance(value, dict):
        extra = set(value) - {"decision", "text"}
        if extra:
            raise AnswerInvalid(f"unknown field(s) in the answer: {', '.join(sorted(extra))}")
        decision = value.get("decision")
        if decision == "edit":
            text = value.get("text")
            if not isinstance(text, str) or not text.strip():
                raise AnswerInvalid("an edit needs the edited text in 'text'")
            if len(text) > request.max_length:
                raise AnswerInvalid(f"the edited text is longer than {request.max_length}")
    if decision not in DECISIONS or (decision == "edit" and not isinstance(value, dict)):
        raise AnswerInvalid(
            "the answer must be 'accept', 'reject' or "
            '{"decision": "edit", "text": "the edited text"}'
        )
    return {"decision": decision, "text": text}


def auto_answer(request: HumanQuestion) -> Any:
    """The answer ``--auto-answer`` gives: the default when there is one, else the first
    option, the middle of a rating, ``accept``, or a fixed text. Deterministic."""
    if request.default is not None:
        return check_answer(request, request.default)
    if request.kind in ("multipleChoice", "pickImage"):
        if not request.options:
            raise AnswerInvalid("there is no option to choose from")
        return request.options[0]
    if request.kind == "rating":
        return (request.min + request.max) // 2
    if request.kind == "approve":
        return {"decision": "accept", "text": request.text}
    return f"(automatic answer to: {request.question[:200]})"
