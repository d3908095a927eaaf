"""Typed errors of Genarun, each carrying where it happened.

Every error the user can cause reaches them as one clear sentence (``str(error)``);
tracebacks are for bugs only.

    GenarunError
    ├── TreeError            a tree file or tree model is invalid (file, JSON path)
    ├── TemplateError        a template does not parse or names a missing variable
    ├── NodeTypeError        an unknown node type, or a node type that fails to load
    ├── InputError           a run's inputs are missing or of the wrong type
    ├── ProviderError        a model provider call failed (``transient`` says if retrying helps)
    ├── OutputError          a model answer did not parse or validate (the node re-asks)
    ├── RunError             a run cannot start or continue (e.g. unknown run id)
    ├── LimitError           an instance passed a size limit of the tree's ``limits``
    └── BudgetReached        the next call would pass the run's budget (the run stops,
                             resumable)
"""

from __future__ import annotations

__all__ = [
    "BudgetReached",
    "GenarunError",
    "InputError",
    "LimitError",
    "NodeTypeError",
    "OutputError",
    "ProviderError",
    "RunError",
    "TemplateError",
    "TreeError",
]


class GenarunError(Exception):
    """Base of every error Genarun raises on purpose."""


class TreeError(GenarunError):
    """A tree file or tree model is invalid.

    ``problems`` holds one ``(json_path, message)`` pair per problem found, so a caller can
    show them all; ``str()`` is a readable summary naming the file.
    """

    def __init__(self, file: str | None, problems: list[tuple[str, str]]) -> None:
        self.file = file
        self.problems = problems
        where = f"{file}: " if file else ""
        if len(problems) == 1:
            path, msg = problems[0]
            text = f"{where}{path}: {msg}" if path else f"{where}{msg}"
        else:
            lines = [f"{where}{len(problems)} problems:"]
            lines += [f"  {p}: {m}" if p else f"  {m}" for p, m in problems[:50]]
            if len(problems) > 50:
                lines.append(f"  ... and {len(problems) - 50} more")
            text = "\n".join(lines)
        super().__init__(text)


class TemplateError(GenarunError):
    """A template string does not parse, or names a variable its context lacks."""

    def __init__(self, message: str, *, template: str | None = None, position: int | None = None):
        self.template = template
        self.position = position
        super().__init__(message)


class NodeTypeError(GenarunError):
    """A node type is unknown, or a registered node type fails to load."""


class InputError(GenarunError):
    """A run's inputs are missing, unknown or of the wrong type."""


class ProviderError(GenarunError):
    """A provider call failed.

    ``transient`` is true for errors a retry may cure (429, 5xx, timeouts, resets);
    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    The message never holds an API key.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        self.transient = transient
        self.retry_after = retry_after
        self.status = status
        super().__init__(message)


class OutputError(GenarunError):
    """A model's answer did not parse or validate; the message says what was wrong."""


class RunError(GenarunError):
    """A run cannot start or continue."""


class LimitError(GenarunError):
    """An instance passed one of its tree's size limits (rendered text, output, answer);
    the message names the node, the size, the limit and the ``limits`` key that raises it."""


class BudgetReached(GenarunError):
    """The next call would take the run past its budget; the run stops and can resume."""


def install_hint(extra: str) -> str:
    """The command that adds an optional extra, for a checkout and for a wheel. The package
    is not on PyPI, so ``pip install 'genarun-studio[rag]'`` would not find it."""
    try:
        from importlib.metadata import version

        wheel = f"genarun_studio-{version('genarun-studio')}-py3-none-any.whl"
    except Exception:  # not installed as a distribution (e.g. run from PYTHONPATH)
        wheel = "genarun_studio-VERSION-py3-none-any.whl"
    return (
        f"pip install -e '.[{extra}]' in a checkout of genarun-studio, "
        f"or pip install '{wheel}[{extra}]' from a wheel"
    )
