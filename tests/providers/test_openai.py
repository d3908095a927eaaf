"""The OpenAI provider through the real ``openai`` SDK against a real local HTTP server:
chat, structured output and its fallback, error mapping, images, embeddings, keys and
endpoints, and a whole tree run by the engine."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import io
import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from genarun_studio.core.tree import ModelProfile
from genarun_studio.engine import Engine
from genarun_studio.errors import ProviderError
from genarun_studio.providers.base import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    Message,
    OutputShape,
    Usage,
)
from genarun_studio.providers.openai import OpenAIProvider, openai_factory
from genarun_studio.store import Project
from tests.engine.conftest import items, make_tree, text
from tests.keyring_memory import MemoryKeyring
from tests.providers.openai_server import (
    CHAT_PATH,
    EMBEDDINGS_PATH,
    FAKE_KEY,
    IMAGES_PATH,
    OpenAIServer,
    RecordedRequest,
    Reply,
    closed_port_url,
    embedding_for,
    image_bytes,
    png_bytes,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}},
    "required": ["title"],
}


def chat_request(prompt: str, *, model: str = "test-model", **fields: Any) -> ChatRequest:
    """A one-message chat request."""
    return ChatRequest(messages=[Message(role="user", content=prompt)], model=model, **fields)


def has_response_format(request: RecordedRequest) -> bool:
    return isinstance(request.body, dict) and "response_format" in request.body


@pytest.fixture
async def provider(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[OpenAIProvider]:
    """A provider for the test server, with FAKE_KEY in OPENAI_API_KEY."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    backend = OpenAIProvider(base_url=openai_server.base_url, timeout=5)
    yield backend
    await backend.aclose()


async def failure(call: Any) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await call
    return info.value


def test_importing_the_module_and_making_a_provider_does_not_import_the_sdk() -> None:
    code = (
        "import sys\n"
        "from genarun_studio.core.tree import ModelProfile\n"
        "from genarun_studio.providers.registry import builtin_factories\n"
        "factory = builtin_factories()['openai']\n"
        "provider = factory(ModelProfile(model='m', base_url='http://127.0.0.1:9/v1'))\n"
        "print(type(provider).__name__, 'openai' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["OpenAIProvider", "False"]


# -- chat --------------------------------------------------------------------------------


async def test_chat_returns_the_answer_its_usage_and_the_model(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.chat_answer = "The lighthouse keeper waves."
    response = await provider.chat(chat_request("Write one short sentence"))
    assert response == ChatResponse(
        text="The lighthouse keeper waves.",
        usage=Usage(input_tokens=4, output_tokens=4),
        model="test-model",
    )
    (request,) = openai_server.requests
    assert request.path == CHAT_PATH
    assert request.body == {
        "model": "test-model",
        "messages": [{"role": "user", "content": "Write one short sentence"}],
    }


async def test_multi_turn_messages_arrive_in_order(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    messages = [
        Message(role="system", content="You are terse."),
        Message(role="user", content="Outline it."),
        Message(role="assistant", content="1. intro 2. end"),
        Message(role="user", content="Now write it."),
    ]
    await provider.chat(ChatRequest(messages=messages, model="test-model"))
    (body,) = openai_server.bodies(CHAT_PATH)
    assert body["messages"] == [m.model_dump() for m in messages]


async def test_params_pass_through_known_and_unknown(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    params = {"temperature": 0.3, "max_tokens": 50, "top_p": 0.9, "seed": 7, "min_p": 0.05}
    await provider.chat(chat_request("hello", params=params))
    (body,) = openai_server.bodies(CHAT_PATH)
    assert {k: body[k] for k in params} == params


async def test_a_param_the_provider_sets_itself_is_refused(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    error = await failure(provider.chat(chat_request("hello", params={"stream": True})))
    assert "'stream'" in str(error)
    assert not error.transient
    assert openai_server.count() == 0


async def test_a_schema_asks_for_structured_output(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.chat_answer = '{"title": "Geckos"}'
    shape = OutputShape(kind="object", json_schema=SCHEMA)
    response = await provider.chat(chat_request("Plan a blog", json_mode=True, shape=shape))
    assert json.loads(response.text) == {"title": "Geckos"}
    (body,) = openai_server.bodies(CHAT_PATH)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": SCHEMA, "strict": False},
    }


@pytest.mark.parametrize(
    ("prompt", "json_mode", "expected"),
    [
        ("Answer in JSON: a title", True, {"type": "json_object"}),
        ("Answer with a title object", True, None),  # OpenAI refuses json_object without "JSON"
        ("Answer in JSON: a title", False, None),
    ],
)
async def test_json_mode_without_a_schema_asks_for_a_json_object(
    provider: OpenAIProvider,
    openai_server: OpenAIServer,
    prompt: str,
    json_mode: bool,
    expected: dict[str, str] | None,
) -> None:
    await provider.chat(chat_request(prompt, json_mode=json_mode))
    (body,) = openai_server.bodies(CHAT_PATH)
    assert body.get("response_format") == expected


async def test_a_refused_response_format_falls_back_and_is_not_sent_again(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.fail(
        400,
        "response_format is not supported by this server",
        param="response_format",
        when=has_response_format,
        times=None,
    )
    openai_server.chat_answer = '{"title": "Geckos"}'
    shape = OutputShape(kind="object", json_schema=SCHEMA)
    request = chat_request("Plan a blog", json_mode=True, shape=shape)

    first = await provider.chat(request)
    assert openai_server.count(CHAT_PATH) == 2
    second = await provider.chat(request)
    assert openai_server.count(CHAT_PATH) == 3
    assert first.text == second.text == '{"title": "Geckos"}'
    sent = ["response_format" in body for body in openai_server.bodies(CHAT_PATH)]
    assert sent == [True, False, False]

    await provider.chat(request.model_copy(update={"model": "other-model"}))
    sent = ["response_format" in body for body in openai_server.bodies(CHAT_PATH)]
    assert sent == [True, False, False, True, False]  # remembered per model


async def test_a_400_that_the_fallback_does_not_cure_is_raised_and_not_remembered(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.fail(400, "This model's maximum context length is 8192 tokens", times=2)
    request = chat_request("Plan a blog", json_mode=True, shape=OutputShape(json_schema=SCHEMA))
    error = await failure(provider.chat(request))
    assert not error.transient
    assert error.status == 400
    assert "maximum context length" in str(error)
    await provider.chat(request)
    sent = ["response_format" in body for body in openai_server.bodies(CHAT_PATH)]
    assert sent == [True, False, True]


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "Retry-After": "9"}, 0.25),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
async def test_rate_limits_are_transient_with_the_servers_wait(
    provider: OpenAIProvider,
    openai_server: OpenAIServer,
    headers: dict[str, str],
    expected: float | None,
) -> None:
    openai_server.fail(429, "Rate limit reached", headers=headers)
    error = await failure(provider.chat(chat_request("hello")))
    assert error.transient
    assert error.status == 429
    assert error.retry_after == expected
    assert "429" in str(error)
    assert f"127.0.0.1:{openai_server.port}" in str(error)


async def test_retry_after_may_be_an_http_date(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    openai_server.fail(429, headers={"Retry-After": when})
    error = await failure(provider.chat(chat_request("hello")))
    assert error.retry_after is not None
    assert 20 < error.retry_after <= 31


async def test_an_exhausted_quota_is_not_transient(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.fail(429, "You exceeded your current quota", code="insufficient_quota")
    error = await failure(provider.chat(chat_request("hello")))
    assert not error.transient
    assert "quota" in str(error)


@pytest.mark.parametrize("status", [500, 502, 503, 408, 409])
async def test_server_errors_are_transient_and_sent_exactly_once(
    provider: OpenAIProvider, openai_server: OpenAIServer, status: int
) -> None:
    openai_server.fail(status, "upstream trouble")
    error = await failure(provider.chat(chat_request("hello")))
    assert error.transient
    assert error.status == status
    assert f"HTTP {status}" in str(error)
    assert f"127.0.0.1:{openai_server.port}" in str(error)
    assert openai_server.count() == 1  # max_retries=0: the engine alone retries


async def test_a_refused_key_is_not_transient_and_never_shown(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.fail(401, f"Incorrect API key provided: {FAKE_KEY}", code="invalid_api_key")
    error = await failure(provider.chat(chat_request("hello")))
    assert not error.transient
    assert error.status == 401
    assert "refused the API key (401)" in str(error)
    shown = f"{error} {error!r} {error.args!r}"
    assert FAKE_KEY not in shown
    assert "SECRET" not in shown
    assert "bearer" not in shown.lower()
    assert error.__cause__ is None
    assert error.__suppress_context__
    (request,) = openai_server.requests
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"


@pytest.mark.parametrize("status", [400, 403, 404, 422])
async def test_client_errors_carry_the_servers_message_without_the_key(
    provider: OpenAIProvider, openai_server: OpenAIServer, status: int
) -> None:
    openai_server.fail(status, f"model 'test-model' is not available to key {FAKE_KEY}")
    error = await failure(provider.chat(chat_request("hello")))
    assert not error.transient
    assert error.status == status
    assert "model 'test-model' is not available to key ***" in str(error)
    assert FAKE_KEY not in str(error)
    assert f"HTTP {status}" in str(error)


async def test_a_refused_connection_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    url = closed_port_url()
    backend = OpenAIProvider(base_url=url, timeout=5)
    try:
        error = await failure(backend.chat(chat_request("hello")))
    finally:
        await backend.aclose()
    assert error.transient
    assert str(error).startswith(f"could not reach {url}: ")
    assert FAKE_KEY not in str(error)


async def test_no_answer_within_the_timeout_is_transient(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    openai_server.latency = 0.3
    backend = OpenAIProvider(base_url=openai_server.base_url, timeout=0.1)
    try:
        error = await failure(backend.chat(chat_request("hello")))
    finally:
        await backend.aclose()
    assert error.transient
    assert "within 0.1 s" in str(error)
    assert openai_server.count() == 1


async def test_malformed_json_is_a_transient_error(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.script(Reply(body=b'{"id": "chatcmpl-1", "choices": [{"message": '))
    error = await failure(provider.chat(chat_request("hello")))
    assert error.transient
    assert "malformed JSON" in str(error)
    assert f"127.0.0.1:{openai_server.port}" in str(error)


async def test_an_answer_that_is_not_json_at_all_is_not_transient(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.script(Reply(body="<html>LM Studio</html>", content_type="text/html"))
    error = await failure(provider.chat(chat_request("hello")))
    assert not error.transient
    assert "did not answer with JSON" in str(error)


async def test_an_answer_without_choices_is_an_error(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.script(
        Reply(
            body={"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": []}
        )
    )
    error = await failure(provider.chat(chat_request("hello")))
    assert not error.transient
    assert "no choices" in str(error)


@pytest.mark.parametrize(
    ("finish_reason", "message"),
    [("stop", "answered with no text"), ("length", "the answer was cut off at max_tokens")],
)
async def test_null_content_is_an_error(
    provider: OpenAIProvider, openai_server: OpenAIServer, finish_reason: str, message: str
) -> None:
    openai_server.chat_answer = lambda request: None
    openai_server.finish_reason = finish_reason
    error = await failure(provider.chat(chat_request("hello")))
    assert not error.transient
    assert message in str(error)


async def test_a_truncated_answer_with_text_is_returned(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.chat_answer = "Once upon a"
    openai_server.finish_reason = "length"
    response = await provider.chat(chat_request("Tell a story"))
    assert response.text == "Once upon a"


# -- images ------------------------------------------------------------------------------


async def test_an_image_in_base64_is_returned_as_png(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    request = ImageRequest(
        prompt="a gecko on a rock", model="gpt-image-1", size="512x512", quality="high"
    )
    response = await provider.image(request)
    assert response.data == openai_server.image_bytes
    assert response.extension == "png"
    assert response.usage == Usage(images=1)
    assert response.model == "gpt-image-1"
    assert response.revised_prompt == "revised: a gecko on a rock"
    (body,) = openai_server.bodies(IMAGES_PATH)
    assert body == {
        "model": "gpt-image-1",
        "prompt": "a gecko on a rock",
        "size": "512x512",
        "quality": "high",
        "n": 1,
    }


async def test_an_image_url_is_downloaded_without_the_key(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.image_form = "url"
    openai_server.image_bytes = png_bytes(6, 3)
    response = await provider.image(
        ImageRequest(prompt="a gecko", model="dall-e-3", params={"style": "vivid"})
    )
    assert response.extension == "png"
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.size == (6, 3)
    generate, download = openai_server.requests
    assert generate.body["style"] == "vivid"
    assert "response_format" not in generate.body
    assert download.method == "GET"
    assert download.path == "/files/image-1.png"
    assert "authorization" not in download.headers


@pytest.mark.parametrize(("fmt", "extension"), [("JPEG", "jpeg"), ("WEBP", "webp"), ("GIF", "gif")])
async def test_the_image_format_is_detected(
    provider: OpenAIProvider, openai_server: OpenAIServer, fmt: str, extension: str
) -> None:
    openai_server.image_bytes = image_bytes(fmt)
    response = await provider.image(ImageRequest(prompt="a gecko", model="gpt-image-1"))
    assert response.extension == extension


@pytest.mark.parametrize("form", ["b64_json", "url"])
async def test_bytes_that_are_not_an_image_are_refused(
    provider: OpenAIProvider, openai_server: OpenAIServer, form: Any
) -> None:
    openai_server.image_form = form
    openai_server.image_bytes = b"<html>this is not a picture</html>"
    error = await failure(provider.image(ImageRequest(prompt="a gecko", model="gpt-image-1")))
    assert not error.transient
    assert "the image endpoint returned data that is not an image" in str(error)


async def test_an_image_format_we_do_not_store_is_refused(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.image_bytes = image_bytes("BMP")
    error = await failure(provider.image(ImageRequest(prompt="a gecko", model="gpt-image-1")))
    assert not error.transient
    assert "returned a BMP image" in str(error)


async def test_an_image_in_a_data_url_is_decoded(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    encoded = base64.b64encode(png_bytes()).decode()
    openai_server.script(
        Reply(body={"created": 0, "data": [{"url": f"data:image/png;base64,{encoded}"}]})
    )
    response = await provider.image(ImageRequest(prompt="a gecko", model="local-diffusion"))
    assert response.data == png_bytes()
    assert response.extension == "png"
    assert openai_server.count() == 1


async def test_an_image_download_follows_a_few_redirects(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.image_form = "url"
    openai_server.script(
        Reply(status=302, headers={"Location": "/files/hop"}, path="/files/image-1.png"),
        Reply(status=307, headers={"Location": "/files/image-1.png"}, path="/files/hop"),
    )
    response = await provider.image(ImageRequest(prompt="a gecko", model="dall-e-3"))
    assert response.data == openai_server.image_bytes
    assert [r.path for r in openai_server.requests if r.method == "GET"] == [
        "/files/image-1.png",
        "/files/hop",
        "/files/image-1.png",
    ]


async def test_an_image_download_stops_after_five_redirects(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.image_form = "url"
    openai_server.script(
        Reply(
            status=302,
            headers={"Location": "/files/image-1.png"},
            path="/files/image-1.png",
            times=None,
        )
    )
    error = await failure(provider.image(ImageRequest(prompt="a gecko", model="dall-e-3")))
    assert not error.transient
    assert "redirected more than 5 times" in str(error)
    assert sum(1 for r in openai_server.requests if r.method == "GET") == 6


@pytest.mark.parametrize(("status", "transient"), [(404, False), (503, True)])
async def test_a_failed_image_download_names_its_status(
    provider: OpenAIProvider, openai_server: OpenAIServer, status: int, transient: bool
) -> None:
    openai_server.image_form = "url"
    openai_server.script(Reply(status=status, path="/files/image-1.png"))
    error = await failure(provider.image(ImageRequest(prompt="a gecko", model="dall-e-3")))
    assert error.transient is transient
    assert error.status == status
    assert f"HTTP {status}" in str(error)
    assert f"127.0.0.1:{openai_server.port}" in str(error)


async def test_an_image_larger_than_the_limit_is_refused(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.image_form = "url"
    openai_server.image_bytes = png_bytes(64, 64)
    provider.max_image_bytes = 50
    error = await failure(provider.image(ImageRequest(prompt="a gecko", model="dall-e-3")))
    assert not error.transient
    assert "larger than 50 bytes" in str(error)


# -- embeddings --------------------------------------------------------------------------


async def test_embeddings_come_back_in_order(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    texts = ["gecko", "iguana", "a chameleon changes colour"]
    vectors = await provider.embed(texts, "text-embedding-3-small")
    assert vectors == [embedding_for(t) for t in texts]
    (body,) = openai_server.bodies(EMBEDDINGS_PATH)
    assert body == {"model": "text-embedding-3-small", "input": texts, "encoding_format": "float"}
    assert await provider.embed([], "text-embedding-3-small") == []
    assert openai_server.count() == 1


# -- keys and endpoints ------------------------------------------------------------------


async def test_no_key_and_no_base_url_is_a_clear_error() -> None:
    backend = OpenAIProvider()
    error = await failure(backend.chat(chat_request("hello")))
    assert str(error) == (
        "no API key for 'openai': run `genarun keys set openai` or set OPENAI_API_KEY"
    )
    assert not error.transient
    await backend.aclose()


async def test_a_local_endpoint_without_a_key_gets_a_placeholder(
    openai_server: OpenAIServer,
) -> None:
    backend = openai_factory(ModelProfile(model="llama3", base_url=openai_server.base_url))
    try:
        await backend.chat(chat_request("hello", model="llama3"))
    finally:
        await backend.aclose()
    (request,) = openai_server.requests
    assert request.headers["authorization"] == "Bearer not-needed"


async def test_the_standard_environment_variables_are_honoured(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    backend = openai_factory(ModelProfile(model="test-model"))
    try:
        await backend.chat(chat_request("hello"))
    finally:
        await backend.aclose()
    (request,) = openai_server.requests
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"


async def test_the_profile_base_url_wins_over_the_environment(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", closed_port_url())
    backend = openai_factory(ModelProfile(model="test-model", base_url=openai_server.base_url))
    try:
        await backend.chat(chat_request("hello"))
    finally:
        await backend.aclose()
    assert openai_server.count(CHAT_PATH) == 1


async def test_the_profiles_key_name_reads_the_keychain_first(
    openai_server: OpenAIServer, isolated_keys: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolated_keys.passwords[("genarun", "local")] = "sk-keychain-local-0001"
    monkeypatch.setenv("LOCAL_API_KEY", "sk-environment.local.0002")
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    profile = ModelProfile(model="test-model", base_url=openai_server.base_url, key_name="local")
    backend = openai_factory(profile)
    try:
        await backend.chat(chat_request("hello"))
    finally:
        await backend.aclose()
    (request,) = openai_server.requests
    assert request.headers["authorization"] == "Bearer sk-keychain-local-0001"


async def test_concurrent_calls_are_in_flight_together_at_the_server(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    openai_server.hold()
    calls = [asyncio.create_task(provider.chat(chat_request(f"q{i}"))) for i in range(3)]
    try:
        assert await asyncio.to_thread(openai_server.wait_in_flight, 3)
    finally:
        openai_server.release()
    answers = await asyncio.gather(*calls)
    assert sorted(a.text for a in answers) == ["answer to: q0", "answer to: q1", "answer to: q2"]
    assert openai_server.max_in_flight == 3


async def test_a_closed_provider_opens_a_new_client_when_used_again(
    provider: OpenAIProvider, openai_server: OpenAIServer
) -> None:
    await provider.chat(chat_request("one"))
    await provider.aclose()
    await provider.chat(chat_request("two"))
    assert [r.last_user() for r in openai_server.requests] == ["one", "two"]


def test_the_server_stops_while_a_request_is_held() -> None:
    server = OpenAIServer().start()
    server.hold()
    outcome: list[str] = []

    def post() -> None:
        request = urllib.request.Request(
            f"{server.base_url}/chat/completions", data=b"{}", method="POST"
        )
        try:
            urllib.request.urlopen(request, timeout=10).close()
            outcome.append("answered")
        except OSError as exc:
            outcome.append(type(exc).__name__)

    client = threading.Thread(target=post)
    client.start()
    assert server.wait_in_flight(1)
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(timeout=10)
    client.join(timeout=10)
    assert not stopper.is_alive()
    assert not client.is_alive()
    assert len(outcome) == 1
    assert outcome != ["answered"]
    assert server.in_flight == 0


# -- end to end through the engine -------------------------------------------------------


async def test_a_tree_runs_through_the_engine_and_survives_a_rate_limit(
    tmp_path: Path, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)

    def answer(request: RecordedRequest) -> str:
        prompt = request.last_user()
        if prompt.startswith("List two topics"):
            return '["Feeding", "Shedding"]'
        return f"A post about {prompt.removeprefix('Write about ')}."

    openai_server.chat_answer = answer
    openai_server.fail(429, "slow down", headers={"Retry-After": "0"}, path=CHAT_PATH)
    hero = {
        "id": "hero",
        "type": "image",
        "config": {"prompt": "A watercolour of ${topics}", "size": "256x256"},
        "children": [],
    }
    endpoint = {"provider": "openai", "base_url": openai_server.base_url}
    tree = make_tree(
        items(
            "topics", "List two topics about geckos", 2, text("post", "Write about ${topics}"), hero
        ),
        models={
            "text": {**endpoint, "model": "test-model"},
            "image": {**endpoint, "model": "test-image"},
        },
    )
    summary = await Engine(project=Project(tmp_path)).run(tree)

    assert summary.status == "finished"
    chats = openai_server.bodies(CHAT_PATH)
    assert len(chats) == 4  # the rate-limited topics call, its retry, two posts
    assert chats[0] == chats[1]
    assert openai_server.count(IMAGES_PATH) == 2
    run_dir = Path(summary.run_dir)
    output = json.loads((run_dir / "output.json").read_text())
    topics = output["topics"]
    assert [t["value"] for t in topics] == ["Feeding", "Shedding"]
    assert [t["post"] for t in topics] == ["A post about Feeding.", "A post about Shedding."]
    for topic in topics:
        assert topic["hero"].startswith("assets/")
        assert topic["hero"].endswith(".png")
        assert (run_dir / topic["hero"]).read_bytes() == openai_server.image_bytes
    assert all(r.headers["authorization"] == f"Bearer {FAKE_KEY}" for r in openai_server.requests)
    assert files_containing(run_dir, FAKE_KEY) == []


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]
