"""Human steps: requests a run asks people, their answers, and where both are kept."""

from __future__ import annotations

from genarun_studio.human.inbox import OpenRequest, RunInbox, open_requests
from genarun_studio.human.request import (
    KINDS,
    AlreadyAnswered,
    AnswerInvalid,
    AnswerRejected,
    HumanAnswer,
    HumanError,
    HumanQuestion,
    HumanRequest,
    RequestNotFound,
    auto_answer,
    check_answer,
    printable,
)

__all__ = [
    "KINDS",
    "AlreadyAnswered",
    "AnswerInvalid",
    "AnswerRejected",
    "HumanAnswer",
    "HumanError",
    "HumanQuestion",
    "HumanRequest",
    "OpenRequest",
    "RequestNotFound",
    "RunInbox",
    "auto_answer",
    "check_answer",
    "open_requests",
    "printable",
]
