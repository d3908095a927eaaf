"""Human requests and answers on disk, in the run folder, where every channel meets.

    human/token                 the run's secret for the webhook (mode 0600; never logged)
    human/requests/<stem>.json  one HumanRequest per waiting instance
    human/answers/<stem>.json   its HumanAnswer, created once (the first answer wins)

Any process may answer (the editor, ``genarun answer``, the hook server): it writes the
answer file. A live run picks answers up by polling the folder; a run that exited while
waiting reads them when ``genarun resume`` reaches the human node again. An answer file is
written to a temporary name and hard-linked into place, so it appears whole and a second
answer to the same request fails with AlreadyAnswered instead of replacing the first.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from genarun_studio.human.request import (
    AlreadyAnswered,
    HumanAnswer,
    HumanRequest,
    RequestNotFound,
    check_answer,
)

__all__ = ["OpenRequest", "RunInbox", "open_requests"]

M = TypeVar("M", bound=BaseModel)


def _stem(key: str) -> str:
    """A file name for an instance key, one per key: ``opening/paths[2]/choice`` →
    ``opening.paths~2.choice``. Node ids never hold ``.`` or ``~``, so two keys never share
    a stem (``a/b_c`` and ``a_b/c`` did, when ``/`` became ``_``: one answer served both)."""
    stem = re.sub(r"\[(\d+)\]", r"~\1", key).replace("/", ".")
    if re.search(r"[^A-Za-z0-9_~.-]", stem):  # not an engine key: keep it safe and unique
        stem = (
            re.sub(r"[^A-Za-z0-9_~.-]", "_", stem)
            + "_"
            + hashlib.sha256(key.encode()).hexdigest()[:16]
        )
    if len(stem) > 100:
        stem = stem[:80] + "_" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return stem


def _legacy_stem(key: str) -> str:
    """The file name runs made before :func:`_stem` used (not one per key: a file found
    under it counts only when the key stored inside it is ``key``)."""
    stem = re.sub(r"\[(\d+)\]", r"-\1", key).replace("/", "_")
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)
    if len(stem) > 100:
        stem = stem[:80] + "_" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return stem


class RunInbox:
    """The human requests and answers of one run folder."""

    def __init__(self, run_dir: Path) -> None:
        self.root = Path(run_dir) / "human"

    @property
    def _requests(self) -> Path:
        return self.root / "requests"

    @property
    def _answers(self) -> Path:
        return self.root / "answers"

    # -- the token -------------------------------------------------------------------------

    def token(self) -> str:
        """The run's webhook secret, made on first use (readable by the owner only)."""
        path = self.root / "token"
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            pass
        self.root.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(token)
        return token

    def check_token(self, given: str | None) -> bool:
        path = self.root / "token"
        if not given or not path.exists():
            return False
        return secrets.compare_digest(given.encode(), self.token().encode())

    # -- requests --------------------------------------------------------------------------

    def save_request(self, request: HumanRequest) -> None:
        self._requests.mkdir(parents=True, exist_ok=True)
        _write_atomic(self._requests / f"{_stem(request.key)}.json", request.model_dump())

    def request(self, key: str) -> HumanRequest | None:
        found = _read(self._requests / f"{_stem(key)}.json", HumanRequest)
        if found is None and _legacy_stem(key) != _stem(key):  # a run from before the rename
            found = _read(self._requests / f"{_legacy_stem(key)}.json", HumanRequest)
            if found is not None and found.key != key:
                found = None
        return found

    def requests(self) -> list[HumanRequest]:
        if not self._requests.is_dir():
            return []
        found = [_read(p, HumanRequest) for p in sorted(self._requests.glob("*.json"))]
        return sorted((r for r in found if r is not None), key=lambda r: (r.created_at, r.key))

    def open_requests(self) -> list[HumanRequest]:
        """Requests without an answer, oldest first."""
        answered = self.answered_stems()
        return [r for r in self.requests() if not self.has_answer(r.key, answered)]

    # -- answers ---------------------------------------------------------------------------

    def answer(self, key: str) -> HumanAnswer | None:
        found = _read(self._answers / f"{_stem(key)}.json", HumanAnswer)
        if found is None and _legacy_stem(key) != _stem(key):  # a run from before the rename
            legacy = self._answers / f"{_legacy_stem(key)}.json"
            if _stored_key(legacy) == key:
                found = _read(legacy, HumanAnswer)
        return found

    def answered_stems(self) -> set[str]:
        """File stems of the answered requests (one directory listing: cheap to poll)."""
        try:
            return {e.name[:-5] for e in os.scandir(self._answers) if e.name.endswith(".json")}
        except FileNotFoundError:
            return set()

    def has_answer(self, key: str, stems: set[str] | None = None) -> bool:
        stems = stems if stems is not None else self.answered_stems()
        if _stem(key) in stems:
            return True
        legacy = _legacy_stem(key)
        return legacy in stems and _stored_key(self._answers / f"{legacy}.json") == key

    def record_answer(self, key: str, answer: HumanAnswer) -> HumanAnswer:
        """Store the first answer to ``key``; AlreadyAnswered when one exists."""
        self._answers.mkdir(parents=True, exist_ok=True)
        target = self._answers / f"{_stem(key)}.json"
        fd, tmp = tempfile.mkstemp(prefix=".answer-", dir=self._answers)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"key": key, **answer.model_dump()}, fh, ensure_ascii=False)
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links: create it exclusively
                with open(target, "x", encoding="utf-8") as fh:
                    fh.write(Path(tmp).read_text(encoding="utf-8"))
        except FileExistsError:
            earlier = self.answer(key)
            by = f" by {earlier.who} ({earlier.channel})" if earlier else ""
            raise AlreadyAnswered(f"{key} was already answered{by}") from None
        finally:
            Path(tmp).unlink(missing_ok=True)
        return answer

    def submit(self, key: str, value: Any, *, who: str, channel: str) -> HumanAnswer:
        """Check ``value`` against the request of ``key`` and record it.

        Raises RequestNotFound, AnswerInvalid or AlreadyAnswered.
        """
        request = self.request(key)
        if request is None:
            raise RequestNotFound(f"no human request for instance {key!r} in this run")
        if self.has_answer(key):
            earlier = self.answer(key)
            by = f" by {earlier.who} ({earlier.channel})" if earlier else ""
            raise AlreadyAnswered(f"{key} was already answered{by}")
        checked = check_answer(request, value)
        return self.record_answer(key, HumanAnswer(value=checked, who=who, channel=channel))


@dataclass(frozen=True)
class OpenRequest:
    run_id: str
    run_dir: Path
    request: HumanRequest


def open_requests(project_root: Path) -> list[OpenRequest]:
    """Every unanswered request of every run in a project, oldest first."""
    found: list[OpenRequest] = []
    for human in sorted((Path(project_root) / "trees").glob("*/*/human")):
        run_dir = human.parent
        if run_dir.name == "latest" or run_dir.name.startswith("."):
            continue
        run_id = f"{run_dir.parent.name}/{run_dir.name}"
        found += [OpenRequest(run_id, run_dir, r) for r in RunInbox(run_dir).open_requests()]
    return sorted(found, key=lambda o: (o.request.created_at, o.run_id, o.request.key))


def _write_atomic(path: Path, value: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(value, fh, ensure_ascii=False, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stored_key(path: Path) -> str | None:
    """The instance key an answer file was written for."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    key = data.get("key") if isinstance(data, dict) else None
    return key if isinstance(key, str) else None


def _read(path: Path, model: type[M]) -> M | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if model is HumanAnswer and isinstance(data, dict):
        data.pop("key", None)  # stored beside the answer for people reading the file
    try:
        return model.model_validate(data)
    except ValueError:
        return None
