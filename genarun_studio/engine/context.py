"""What a node instance sees of its run: the engine's side of ``NodeContext``."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from genarun_studio.core import template as tpl
from genarun_studio.core.nodetype import LogLevel
from genarun_studio.core.textsafe import scrub_text
from genarun_studio.core.tree import ModelProfile, RunLimits
from genarun_studio.engine.instance import NodeInstance, asset_stem
from genarun_studio.engine.retry import call_with_retries
from genarun_studio.errors import BudgetReached, LimitError, ProviderError, RunError
from genarun_studio.human.request import HumanAnswer, HumanQuestion
from genarun_studio.profiles import BUILTIN_PROFILES
from genarun_studio.providers.base import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    ImageResponse,
    Usage,
)
from genarun_studio.providers.http import HttpRequest, HttpResponse
from genarun_studio.providers.httputil import ANSWER_LIMIT

if TYPE_CHECKING:
    from genarun_studio.engine.run import Run

__all__ = ["DEFAULT_PROFILES", "InstanceContext"]

T = TypeVar("T")

DEFAULT_PROFILES = BUILTIN_PROFILES
"""The built-in profiles (see :mod:`genarun_studio.profiles`)."""


class InstanceContext:
    def __init__(self, run: Run, instance: NodeInstance) -> None:
        self._run = run
        self._instance = instance
        self._rng = tpl.rng_for(run.seed, instance.key)

    @property
    def instance_key(self) -> str:
        return self._instance.key

    @property
    def variables(self) -> Mapping[str, Any]:
        return self._instance.context

    @property
    def limits(self) -> RunLimits:
        return self._run.limits

    @property
    def run_id(self) -> str:
        return self._run.id

    @property
    def run_dir(self) -> Path:
        return self._run.folder.path

    @property
    def project_dir(self) -> Path:
        return self._run.folder.path.parents[2]  # <project>/trees/<tree-id>/<run>

    async def embed(self, texts: list[str], model: str) -> list[list[float]]:
        base = self._run.tree.models.get("embed") or DEFAULT_PROFILES["embed"]
        backend = self._run.providers.get(base.model_copy(update={"model": model}))
        embed = getattr(backend, "embed", None)
        if embed is None:
            raise ProviderError(f"the {backend.name} provider cannot make embeddings")

        key = _key_of(base)

        async def once() -> list[list[float]]:
            self._check_key(key)
            ANSWER_LIMIT.set(self.limits.max_answer_bytes)  # this task's context only
            result: list[list[float]] = await embed(texts, model)
            return result

        return await self._with_retries(once, key)

    def render(self, template: str) -> str:
        limit = self.limits.max_prompt_chars
        try:
            return tpl.render(
                template, self._instance.context, self._rng, self._instance.picks, None, limit
            )
        except tpl.RenderTooLarge as exc:
            raise self._too_large(exc) from None

    def render_value(self, value: Any) -> Any:
        limit = self.limits.max_prompt_chars
        try:
            return tpl.render_value(
                value, self._instance.context, self._rng, self._instance.picks, None, limit
            )
        except tpl.RenderTooLarge as exc:
            raise self._too_large(exc) from None

    def _too_large(self, exc: tpl.RenderTooLarge) -> LimitError:
        return LimitError(
            f"node {self._instance.node_id!r}: a rendered text passes the limit of "
            f"{exc.limit:,} characters (it reached {exc.size:,} before rendering stopped); "
            "raise limits.max_prompt_chars in the tree if this is intended"
        )

    def outputs_of(self, node_id: str) -> list[Any]:
        node = self._instance.node
        if node_id not in node.after:
            raise RunError(
                f"{node.id!r} reads the outputs of {node_id!r}: add after: [{node_id!r}] so "
                f"it waits for every instance of {node_id!r} to finish"
            )
        done = [
            i
            for i in self._run.instances.values()
            if i.node_id == node_id and i.state in ("done", "cached") and i.has_output
        ]
        done.sort(key=lambda i: _fan_out_order(i.key))
        return [i.output for i in done]

    def profile(self, name: str) -> ModelProfile:
        profile = self._run.tree.models.get(name) or DEFAULT_PROFILES.get(name)
        if profile is None:
            known = ", ".join(sorted(set(self._run.tree.models) | set(DEFAULT_PROFILES)))
            raise ProviderError(f"no model profile {name!r} (known: {known})")
        return profile

    def _seed_key(self, part: str) -> str:
        return f"{self._run.seed}:{self._instance.key}:{part}"

    async def _with_retries(self, once: Callable[[], Awaitable[T]], key: _Key | None) -> T:
        """The retry policy, backing off without the lane slot; a refused key (401) is
        remembered, so the rest of the run makes no more calls with it."""
        try:
            return await call_with_retries(once, self.limits, self._on_retry, self._sleep)
        except ProviderError as exc:
            if key is not None and exc.status == 401:
                self._run.refused_keys.setdefault(key, str(exc))
            raise

    async def _sleep(self, seconds: float) -> None:
        await self._run.lane_sleep(self._instance, seconds)

    def _check_key(self, key: _Key) -> None:
        refused = self._run.refused_keys.get(key)
        if refused is not None:
            raise ProviderError(
                f"not sent: an earlier call with the same key was refused: {refused}"
            )

    def _on_retry(self, attempt: int, wait_s: float, error: ProviderError) -> None:
        self._run.instance_progress(
            self._instance,
            f"attempt {attempt} failed ({error}); retrying in {wait_s:.1f} s",
            attempt,
        )

    async def chat(self, request: ChatRequest, *, profile: str) -> ChatResponse:
        chosen = self.profile(profile)
        key = _key_of(chosen)
        self._check_key(key)
        backend = self._run.providers.get(chosen)
        request = request.model_copy(update={"seed_key": self._seed_key(request.seed_key)})
        estimate, est_cost = self._run.pricing.estimate_chat(request)
        self._reserve(est_cost)
        started = time.monotonic()
        attempts = 0

        async def once() -> ChatResponse:
            nonlocal attempts
            self._check_key(key)
            attempts += 1
            ANSWER_LIMIT.set(self.limits.max_answer_bytes)  # this task's context only
            return await backend.chat(request)

        try:
            response = await self._with_retries(once, key)
        finally:
            self._instance.attempts += attempts
            self._run.reserved_usd -= est_cost
        response = self._writable_answer(response)
        if self._run.options.dry_run:
            usage, cost = estimate, est_cost
        else:
            usage = response.usage
            cost = self._price(request.model, usage)
        self._account(usage, cost)
        self._instance.calls.append(
            {
                "kind": "chat",
                "provider": backend.name,
                "model": response.model or request.model,
                "messages": [m.model_dump() for m in request.messages],
                "answer": response.text,
                **(
                    {"tool_calls": [c.model_dump() for c in response.tool_calls]}
                    if response.tool_calls
                    else {}
                ),
                "usage": usage.model_dump(),
                "cost_usd": cost,
                "attempts": attempts,
                "duration_s": round(time.monotonic() - started, 6),
            }
        )
        return response

    def _writable_answer(self, response: ChatResponse) -> ChatResponse:
        """The answer with unpaired surrogates replaced by U+FFFD (a model cut off inside an
        emoji, or a ``\ud83d`` escape): it is kept, journaled and can be sent back on a
        re-ask; the log says what was replaced."""
        text, replaced = scrub_text(response.text)
        calls = []
        for call in response.tool_calls:
            arguments, n = scrub_text(call.arguments)
            replaced += n
            calls.append(call.model_copy(update={"arguments": arguments}) if n else call)
        if not replaced:
            return response
        self.log(
            f"the answer held {replaced} invalid character(s) (unpaired surrogates, e.g. an "
            "emoji cut off at max_tokens); replaced with U+FFFD",
            "warning",
        )
        return response.model_copy(update={"text": text, "tool_calls": calls})

    async def image(self, request: ImageRequest, *, profile: str) -> ImageResponse:
        chosen = self.profile(profile)
        key = _key_of(chosen)
        self._check_key(key)
        backend = self._run.providers.get(chosen)
        request = request.model_copy(update={"seed_key": self._seed_key(request.seed_key)})
        estimate, est_cost = self._run.pricing.estimate_image(request)
        self._reserve(est_cost)
        started = time.monotonic()
        attempts = 0

        async def once() -> ImageResponse:
            nonlocal attempts
            self._check_key(key)
            attempts += 1
            ANSWER_LIMIT.set(self.limits.max_image_bytes)  # this task's context only
            return await backend.image(request)

        try:
            response = await self._with_retries(once, key)
        finally:
            self._instance.attempts += attempts
            self._run.reserved_usd -= est_cost
        if self._run.options.dry_run:
            usage, cost = estimate, est_cost
        else:
            usage = response.usage
            cost = self._price(request.model, usage, request.size, request.quality)
        self._account(usage, cost)
        self._instance.calls.append(
            {
                "kind": "image",
                "provider": backend.name,
                "model": response.model or request.model,
                "prompt": request.prompt,
                "size": request.size,
                "revised_prompt": response.revised_prompt,
                "usage": usage.model_dump(),
                "cost_usd": cost,
                "attempts": attempts,
                "duration_s": round(time.monotonic() - started, 6),
            }
        )
        return response

    async def http(self, request: HttpRequest) -> HttpResponse:
        from genarun_studio.providers.http import send

        started = time.monotonic()
        attempts = 0
        offline = self._run.mock or self._run.options.dry_run
        try:
            if offline:
                response = HttpResponse(
                    status=200,
                    url=request.url,
                    content_type="application/json",
                    value=request.mock_response,
                    size=len(json.dumps(request.mock_response).encode()),
                    mock=True,
                )
            else:
                limits = self.limits.model_copy(update={"timeout_s": request.timeout_s + 1.0})

                async def once() -> HttpResponse:
                    nonlocal attempts
                    attempts += 1
                    return await send(request, on_hop=self.log)

                try:
                    response = await call_with_retries(once, limits, self._on_retry, self._sleep)
                finally:
                    self._instance.attempts += attempts
        except ProviderError as exc:
            self._record_http(request, None, attempts, started, str(exc))
            raise
        self._record_http(request, response, attempts, started, None)
        return response

    def _record_http(
        self,
        request: HttpRequest,
        response: HttpResponse | None,
        attempts: int,
        started: float,
        error: str | None,
    ) -> None:
        self._instance.calls.append(
            {
                "kind": "http",
                "provider": "http",
                "model": f"{request.method} {urlsplit(request.url).netloc.rpartition('@')[2]}",
                "prompt": f"{request.method} {request.url}",
                "usage": Usage().model_dump(),
                "request": request.shown(),
                "response": response.shown() if response is not None else None,
                "error": error,
                "cost_usd": 0.0,
                "attempts": attempts,
                "duration_s": round(time.monotonic() - started, 6),
            }
        )

    def _price(
        self, model: str, usage: Usage, size: str | None = None, quality: str | None = None
    ) -> float:
        """Actual cost; runs on the mock provider are free and say so."""
        if self._run.mock:
            return 0.0
        return self._run.pricing.cost(model, usage, size=size, quality=quality)

    def _reserve(self, est_cost: float) -> None:
        """Hold ``est_cost`` of the budget for a call about to be made, or refuse it.

        Calls in flight count with their estimates, so concurrent calls cannot together pass
        the budget; once one is refused, no further call starts (calls in flight finish).
        """
        run = self._run
        budget = run.budget_usd
        live = not run.options.dry_run and not run.mock
        if budget is not None and live:
            if run.budget_note is None and run.cost_usd + run.reserved_usd + est_cost > budget:
                run.budget_note = (
                    f"the next call (about ${est_cost:.4f}) would take the run past its budget "
                    f"of ${budget:.2f} (spent ${run.cost_usd:.4f}); resume with a higher "
                    "--budget to go on"
                )
            if run.budget_note is not None:
                raise BudgetReached(run.budget_note)
        run.reserved_usd += est_cost

    def _account(self, usage: Usage, cost: float) -> None:
        self._instance.usage = self._instance.usage + usage
        self._instance.cost_usd += cost
        self._run.add_usage(usage, cost)

    def save_asset(self, data: bytes, extension: str) -> str:
        ext = "".join(c for c in extension.lower() if c.isalnum())[:8] or "bin"
        stem = asset_stem(self._instance.key)
        n = len(self._instance.assets) + 1
        name = f"{stem}.{ext}" if n == 1 else f"{stem}-{n}.{ext}"
        while (self._run.folder.assets / name).exists() and n < 10_000:
            n += 1  # another instance's key mapped to the same stem: never overwrite it
            name = f"{stem}-{n}.{ext}"
        path = self._run.folder.save_asset(name, data)
        self._instance.assets.append(path)
        return path

    def log(self, message: str, level: LogLevel = "info") -> None:
        self._run.instance_log(self._instance, message, level)

    async def ask(self, question: HumanQuestion) -> HumanAnswer:
        answer = await self._run.human.ask(self._instance, question)
        # in the instance's logs (journal, logs.json), not its calls: those are model calls
        self._instance.logs.append(
            {
                "at": answer.at,
                "level": "info",
                "message": f"answered by {answer.who} via {answer.channel}",
                "human": {
                    "question": question.question,
                    "answer": answer.value,
                    "who": answer.who,
                    "channel": answer.channel,
                    "at": answer.at,
                },
            }
        )
        return answer


_Key = tuple[str, str, str]


def _key_of(profile: ModelProfile) -> _Key:
    """Which stored key a profile's calls use, at which endpoint."""
    return (profile.provider, profile.base_url or "", profile.key_name or profile.provider)


def _fan_out_order(key: str) -> list[Any]:
    """``a[2]/b`` before ``a[10]/b``: instance keys compared with their indexes as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]
