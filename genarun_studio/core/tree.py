"""The tree model: what a ``*.genarun.json`` file holds, as pydantic v2 models.

A :class:`Tree` has declared inputs, model profiles, run limits, an optional seed and one or
more root :class:`Node` s. A node's type-specific settings live in ``config`` as plain JSON;
the node type registered under ``type`` validates them (see :mod:`genarun_studio.core.nodetype`).
Keeping ``config`` as data makes the tree lossless to save and lets third-party node types
load without the model knowing them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

__all__ = [
    "FORMAT_VERSION",
    "LANES",
    "MAX_SEED",
    "InputSpec",
    "ModelProfile",
    "Node",
    "RunLimits",
    "Tree",
]

FORMAT_VERSION: Literal["genarun/1"] = "genarun/1"
LANES = ("text", "image", "http", "local", "human")
ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
"""Node ids name instances, files and template variables: letters, digits, ``_`` and ``-``,
never path characters."""

OnError = Literal["continue", "stop"]
MAX_SEED = 2**63 - 1
"""The largest run seed: seeds are recorded in JSON and SQLite, which hold 64-bit integers."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class InputSpec(_Model):
    """A declared input of a tree: ``${name}`` in any template."""

    type: Literal["string", "integer", "number", "boolean", "array", "object"] = "string"
    description: str = ""
    default: Any = None
    required: bool = True
    """An input with a default is never missing; one without is required unless this is
    false."""


class ModelProfile(_Model):
    """A named model choice (``text``, ``image``, ``embed``, ...) nodes refer to."""

    provider: str = "openai"
    model: str
    params: dict[str, Any] = Field(default_factory=dict)
    base_url: str | None = None
    """The endpoint (Ollama, LM Studio, vLLM, OpenRouter, ...); default: ``OPENAI_BASE_URL``
    or the provider's own."""
    key_name: str | None = None
    """Which stored API key to use (``genarun keys set NAME``); default: the provider name.
    The key itself never appears in a tree."""


class RunLimits(_Model):
    """How a run of this tree behaves: concurrency, retries, timeouts, budget."""

    concurrency: dict[str, int] = Field(
        default_factory=lambda: {"text": 4, "image": 2, "http": 4, "local": 2, "human": 100}
    )
    retries: int = Field(3, ge=0, le=20)
    """Extra attempts after a transient provider error (429, 5xx, timeout, reset)."""
    backoff_s: float = Field(1.0, ge=0, le=60)
    """First retry delay; doubles each attempt, with jitter, capped at ``backoff_max_s``."""
    backoff_max_s: float = Field(30.0, ge=0, le=600)
    max_reasks: int = Field(2, ge=0, le=10)
    """How often a JSON answer that fails to parse or validate is asked again."""
    timeout_s: float = Field(120.0, gt=0)
    budget_usd: float | None = Field(None, ge=0)
    on_error: OnError = "continue"
    max_prompt_chars: int = Field(1_000_000, ge=1)
    """The longest text one template may render to (a prompt, a URL, a value); an instance
    whose render would pass it fails, before the text is built."""
    max_output_chars: int = Field(10_000_000, ge=1)
    """The largest output an instance may keep, as JSON text; a larger one fails the
    instance instead of filling the journal and the memory."""
    max_answer_bytes: int = Field(16 * 1024 * 1024, ge=1)
    """The most a provider may send for one chat, JSON or embedding answer."""
    max_image_bytes: int = Field(64 * 1024 * 1024, ge=1)
    """The most a provider may send for one image answer."""

    @field_validator("concurrency")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for lane, n in value.items():
            if n < 1:
                raise ValueError(f"concurrency of lane {lane!r} must be at least 1, not {n}")
        return value

    def lane_limit(self, lane: str) -> int:
        return self.concurrency.get(lane, RunLimits().concurrency.get(lane, 4))


class Node(_Model):
    """One generative step. Runs once per instance of its parent (per item on fan-out)."""

    id: str = Field(pattern=ID_PATTERN)
    type: str
    title: str = ""
    enabled: bool = True
    output_key: str | None = Field(None, pattern=ID_PATTERN)
    """Where the output goes in the context and in ``output.json``; defaults to ``id``."""
    required_inputs: list[str] = Field(default_factory=list)
    cache: bool = True
    fan_out: bool = True
    """When the output is an array, run the children once per item (the default)."""
    on_error: OnError | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    after: list[str] = Field(default_factory=list)
    """Node ids this node waits for: its instances start only once every instance of those
    nodes has ended (e.g. a retrieval that must see what another branch indexed)."""
    index_output: str | None = Field(None, pattern=ID_PATTERN)
    """Name of a project index to add each output of this node to, as it lands."""
    children: list[Node] = Field(default_factory=list)
    ui: dict[str, Any] = Field(default_factory=dict)
    """Editor-only data (position, colour, collapsed); the engine ignores it."""
    meta: dict[str, Any] = Field(default_factory=dict)
    """Free data kept on save: notes, and fields of a legacy file that have no native home."""

    @property
    def key(self) -> str:
        """The name of this node's output in contexts and in ``output.json``."""
        return self.output_key or self.id

    def walk(self) -> Iterator[Node]:
        """This node and its descendants, depth first, without recursion."""
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


class Tree(_Model):
    """A whole tree file."""

    format: Literal["genarun/1"] = "genarun/1"
    id: str | None = Field(None, pattern=ID_PATTERN)
    name: str = ""
    description: str = ""
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    models: dict[str, ModelProfile] = Field(default_factory=dict)
    limits: RunLimits = Field(default_factory=RunLimits)
    seed: int | None = None
    """Fixes the random picks and the mock provider; a whole number from 0 to 2**63 - 1."""
    nodes: list[Node] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)
    _source_format: str = PrivateAttr("native")
    _legacy_shape: str | None = PrivateAttr(None)
    """For a legacy tree: ``project``, ``list`` (a bare list of generations) or
    ``generation`` (one generation), so problem paths can be given in the file's terms."""

    @field_validator("seed")
    @classmethod
    def _seed_in_range(cls, value: int | None) -> int | None:
        # a validator, not schema bounds: the editor keeps its big-integer field for seeds
        if value is not None and not 0 <= value <= MAX_SEED:
            raise ValueError("the seed must be a whole number from 0 to 2**63 - 1")
        return value

    @property
    def source_format(self) -> str:
        """``native`` or ``legacy``: the format the tree was read from (saving is native)."""
        return self._source_format

    def __eq__(self, other: object) -> bool:
        """Trees are equal when their content is: where one was read from does not count,
        so a legacy tree equals the native tree it saves as."""
        if not isinstance(other, Tree):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def walk(self) -> Iterator[Node]:
        """Every node, depth first in file order."""
        for root in self.nodes:
            yield from root.walk()

    def node(self, node_id: str) -> Node:
        """The node with this id; KeyError when there is none."""
        for node in self.walk():
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def parents(self) -> dict[str, str | None]:
        """Map of node id → parent id (None for roots)."""
        result: dict[str, str | None] = {}
        stack: list[tuple[Node, str | None]] = [(n, None) for n in self.nodes]
        while stack:
            node, parent = stack.pop()
            result[node.id] = parent
            stack.extend((c, node.id) for c in node.children)
        return result

    def ancestors(self, node_id: str) -> list[Node]:
        """The node's ancestors, root first."""
        parents = self.parents()
        by_id = {n.id: n for n in self.walk()}
        chain: list[Node] = []
        current = parents.get(node_id)
        while current is not None:
            chain.append(by_id[current])
            current = parents[current]
        return list(reversed(chain))

    def to_json(self) -> dict[str, Any]:
        """The native file form: defaults left out, so saved files stay short."""
        return self.model_dump(mode="json", exclude_defaults=True, by_alias=True) | {
            "format": FORMAT_VERSION
        }
