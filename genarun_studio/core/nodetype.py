"""How a node type is declared: once, without Qt, and found through entry points.

A node type is a class with an identifier, a title, a category, a lane, a pydantic
``Config`` model, and two steps:

* :meth:`NodeType.plan` resolves the node's templates for one instance into a JSON-able
  *plan* (the exact request it would make). It is pure and cheap: the engine hashes it into
  the instance's cache signature, prints it on a dry run and records it in the logs.
* :meth:`NodeType.run` carries the plan out (calls a model, draws an image, ...) and returns
  the instance's output value.

The editor generates its node classes and property forms from the same declaration; the
engine reaches the outside world only through the :class:`NodeContext` it passes in.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel

from genarun_studio.core.tree import ModelProfile, RunLimits
from genarun_studio.human.request import HumanAnswer, HumanQuestion
from genarun_studio.providers.base import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    ImageResponse,
    OutputShape,
)
from genarun_studio.providers.http import HttpRequest, HttpResponse

__all__ = ["ConfigT", "NodeContext", "NodeType", "Plan", "endpoint_of", "template_field"]

Plan = dict[str, Any]
ConfigT = TypeVar("ConfigT", bound=BaseModel)
LogLevel = Literal["debug", "info", "warning", "error"]


def endpoint_of(profile: ModelProfile) -> str | None:
    """Where a profile's calls go (its base URL, else ``OPENAI_BASE_URL``) and with which
    stored key: part of a plan, so answers of one endpoint never stand in for another's."""
    import os

    base = profile.base_url or os.environ.get("OPENAI_BASE_URL")
    if base is None and profile.key_name is None:
        return None
    return f"{base or 'default'}#{profile.key_name or profile.provider}"


def template_field() -> dict[str, Any]:
    """``json_schema_extra`` marking a config field as a template (checked and highlighted)."""
    return {"x-template": True}


class NodeContext(Protocol):
    """What a node instance sees of the run. Implemented by the engine."""

    @property
    def instance_key(self) -> str: ...

    @property
    def variables(self) -> Mapping[str, Any]: ...

    @property
    def limits(self) -> RunLimits: ...

    @property
    def run_id(self) -> str: ...

    @property
    def run_dir(self) -> Path:
        """The run's folder (``assets/`` and the run files are inside)."""
        ...

    @property
    def project_dir(self) -> Path:
        """The project folder the run belongs to (its ``.genarun/indexes/`` are there)."""
        ...

    async def embed(self, texts: list[str], model: str) -> list[list[float]]:
        """Embeddings from the ``embed`` profile's provider (the mock provider's are
        deterministic fakes), retried on transient errors."""
        ...

    def render(self, template: str) -> str:
        """Resolve ``${...}`` and ``[a | b]``; picks are seeded and recorded."""
        ...

    def render_value(self, value: Any) -> Any:
        """Render every string inside a JSON-like value."""
        ...

    def profile(self, name: str) -> ModelProfile:
        """The model profile by name (the tree's, or a built-in default)."""
        ...

    async def chat(self, request: ChatRequest, *, profile: str) -> ChatResponse:
        """One chat call through the named model profile's provider; retried on transient
        errors, timed and costed by the engine."""
        ...

    async def image(self, request: ImageRequest, *, profile: str) -> ImageResponse:
        """One image call through the named profile's provider, retried on transient errors."""
        ...

    async def http(self, request: HttpRequest) -> HttpResponse:
        """One HTTP call (secrets put in at send time), retried on transient errors, timed
        and logged with secrets masked; mock and dry runs answer ``mock_response`` offline."""
        ...

    def outputs_of(self, node_id: str) -> list[Any]:
        """The outputs of every finished instance of ``node_id`` in this run, in fan-out
        order. The asking node must wait for them (``after: [node_id]``)."""
        ...

    def save_asset(self, data: bytes, extension: str) -> str:
        """Store a file in the run's ``assets/``; returns its path relative to the run folder."""
        ...

    def log(self, message: str, level: LogLevel = "info") -> None: ...

    async def ask(self, question: HumanQuestion) -> HumanAnswer:
        """Ask a person and wait for the answer (checked against the question). The
        request is kept in the run folder: the run may end and resume while it waits."""
        ...


class NodeType(ABC, Generic[ConfigT]):
    """Base of every node type. Subclasses set the class attributes and two methods."""

    type_id: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[str] = "General"
    description: ClassVar[str] = ""
    lane: ClassVar[str] = "local"
    Config: ClassVar[type[BaseModel]]
    version: ClassVar[int] = 1
    """Bump when the same plan would give a different output: it is part of the cache key."""
    calls_model: ClassVar[bool] = False
    cacheable: ClassVar[bool] = True
    """False for a type whose work is a side effect outside its output (adding to an index):
    it then always runs instead of being taken from the cache, which could not redo the
    effect. A resumed run still takes its finished instances from the journal."""

    def parse_config(self, raw: Mapping[str, Any]) -> ConfigT:
        """Validate a node's ``config``; raises pydantic.ValidationError."""
        return self.Config.model_validate(dict(raw))  # type: ignore[return-value]

    def templates(self, config: ConfigT) -> list[tuple[str, str]]:
        """``(config path, template)`` for every template in the config.

        The default finds the fields marked with :func:`template_field`, including
        strings inside lists and models of such fields.
        """
        found: list[tuple[str, str]] = []
        _collect_templates(config, "config", found)
        return found

    def output_shape(self, config: ConfigT) -> OutputShape:
        """The shape of the output; ``min_items``/``max_items`` size fan-out estimates."""
        return OutputShape()

    def names_output(self, config: ConfigT) -> bool:
        """Whether the children see this node's output under its key and id. False for a
        node whose output is nothing to use (a grouping ``object`` node's ``{}``): its
        name would only hide an input of the same name (the original's root ``year``)."""
        return True

    @abstractmethod
    def plan(self, ctx: NodeContext, config: ConfigT) -> Plan:
        """Resolve templates into the JSON-able request this instance will make."""

    @abstractmethod
    async def run(self, ctx: NodeContext, config: ConfigT, plan: Plan) -> Any:
        """Carry the plan out and return the output (any JSON value)."""


def _collect_templates(value: Any, path: str, found: list[tuple[str, str]]) -> None:
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        for name, info in fields.items():
            item = getattr(value, name)
            extra = info.json_schema_extra
            child = f"{path}.{name}"
            if isinstance(extra, dict) and extra.get("x-template"):
                _collect_strings(item, child, found)
            elif isinstance(item, BaseModel | list):
                _collect_templates(item, child, found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _collect_templates(item, f"{path}[{i}]", found)


def _collect_strings(value: Any, path: str, found: list[tuple[str, str]]) -> None:
    if isinstance(value, str):
        found.append((path, value))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _collect_strings(item, f"{path}[{i}]", found)
    elif isinstance(value, dict):
        for k, item in value.items():
            _collect_strings(item, f"{path}.{k}", found)
    elif isinstance(value, BaseModel):
        _collect_templates(value, path, found)
