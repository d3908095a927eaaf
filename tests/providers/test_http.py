"""``providers.http.send`` on its own, against the local test server: what the engine's
retry policy needs to know, and secrets kept out of every message."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

from genarun_studio import secrets
from genarun_studio.errors import ProviderError
from genarun_studio.providers.http import HttpRequest, send
from tests.providers.openai_server import OpenAIServer, RecordedRequest, Reply, closed_port_url

SECRET = "tok-HTTP-SECRET-5555555555"


async def test_a_429_is_transient_and_carries_retry_after(openai_server: OpenAIServer) -> None:
    openai_server.routes["/rl"] = lambda r: Reply(
        status=429, body={"error": "slow down"}, headers={"Retry-After": "7"}
    )
    with pytest.raises(ProviderError) as caught:
        await send(HttpRequest(url=f"{openai_server.url}/rl"))
    error = caught.value
    assert (error.transient, error.retry_after, error.status) == (True, 7.0, 429)
    assert (
        str(error) == f'127.0.0.1:{openai_server.port} answered HTTP 429: {{"error": "slow down"}}'
    )


async def test_an_error_body_echoing_the_secret_is_masked(openai_server: OpenAIServer) -> None:
    secrets.set_key("echo", SECRET)
    openai_server.routes["/bad"] = lambda r: Reply(
        status=400, body={"error": f"bad key {r.query.get('key')}"}
    )
    request = HttpRequest(url=f"{openai_server.url}/bad", query={"key": [{"secret": "echo"}]})
    with pytest.raises(ProviderError) as caught:
        await send(request)
    assert caught.value.transient is False
    assert SECRET not in str(caught.value)
    assert "bad key ***" in str(caught.value)
    assert openai_server.requests[0].query == {"key": SECRET}
    assert request.shown()["query"] == {"key": "***"}


async def test_a_secret_echoed_url_encoded_or_json_escaped_is_masked(
    openai_server: OpenAIServer,
) -> None:
    odd = "Ab+cD/eF=gH 1234567890&x"
    secrets.set_key("odd", odd)

    def echo(r: RecordedRequest) -> Reply:  # servers often echo the raw query string
        key = r.query["key"]
        raw = f"/bad?key={quote(key, safe='')} plus={quote_plus(key)} json={json.dumps(key)}"
        return Reply(status=400, body=raw.replace("/", "\\/"), content_type="text/plain")

    openai_server.routes["/bad"] = echo
    request = HttpRequest(url=f"{openai_server.url}/bad", query={"key": [{"secret": "odd"}]})
    with pytest.raises(ProviderError) as caught:
        await send(request)
    message = str(caught.value)
    assert openai_server.requests[0].query == {"key": odd}
    for form in (odd, quote(odd, safe=""), quote_plus(odd), "Ab+cD", "Ab%2BcD", "eF=gH"):
        assert form not in message, form
    assert message.count("***") == 3


async def test_a_refused_connection_is_transient() -> None:
    with pytest.raises(ProviderError, match="could not reach") as caught:
        await send(HttpRequest(url=closed_port_url()))
    assert caught.value.transient is True


async def test_a_header_with_a_line_break_is_refused_before_sending(
    openai_server: OpenAIServer,
) -> None:
    secrets.set_key("nl", SECRET)
    request = HttpRequest(
        url=f"{openai_server.url}/x", headers={"Authorization": [{"secret": "nl"}, " Lis\nbon"]}
    )
    with pytest.raises(
        ProviderError, match="the header 'Authorization' holds a line break"
    ) as caught:
        await send(request)
    assert caught.value.transient is False  # not retried: it would fail the same way
    assert SECRET not in str(caught.value)
    assert openai_server.requests == []


async def test_a_post_sends_the_json_body(openai_server: OpenAIServer) -> None:
    openai_server.routes["/items"] = lambda r: Reply(status=201, body={"got": r.body})
    response = await send(
        HttpRequest(method="POST", url=f"{openai_server.url}/items", body={"name": "gecko"})
    )
    assert (response.status, response.value) == (201, {"got": {"name": "gecko"}})


async def test_malformed_json_is_reported(openai_server: OpenAIServer) -> None:
    openai_server.routes["/broken"] = lambda r: Reply(
        body='{"a": ', content_type="application/json"
    )
    with pytest.raises(ProviderError, match="malformed JSON"):
        await send(HttpRequest(url=f"{openai_server.url}/broken"))


async def test_only_http_urls_are_called() -> None:
    with pytest.raises(ProviderError, match="is not http"):
        await send(HttpRequest(url="file:///etc/passwd"))
