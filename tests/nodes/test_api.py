"""The ``api`` node against a real HTTP server on 127.0.0.1 (and the real ``openai`` SDK for
``assembleCall``): query parameters, keychain secrets, retries, timeouts, size and redirect
limits, tool-call fills and their re-asks, and the morning-brief example tree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from genarun_studio import secrets
from genarun_studio.core.formats import load_tree, tree_from_data
from genarun_studio.engine import Engine, RunOptions
from genarun_studio.engine.run import Run
from genarun_studio.resources import resource_path
from genarun_studio.store import Project
from tests.providers.openai_server import CHAT_PATH, OpenAIServer, RecordedRequest, Reply

SECRET = "tok-SECRET-0123456789abcdef"


def api_tree(server: OpenAIServer, config: dict[str, Any], **fields: Any) -> Any:
    data: dict[str, Any] = {
        "id": "api-test",
        "models": {"text": {"provider": "openai", "model": "m", "base_url": server.base_url}},
        "limits": {"retries": 2, "backoff_s": 0, "backoff_max_s": 0},
        "nodes": [{"id": "call", "type": "api", "config": config}],
    }
    data.update(fields)
    return tree_from_data(json.loads(json.dumps(data)))


async def run_tree(tmp_path: Path, tree: Any, **inputs: Any) -> Run:
    engine = Engine(project=Project(tmp_path / "project"))
    run = engine.start(tree, inputs, RunOptions())
    await run.wait()
    return run


def only(run: Run, node_id: str = "call") -> Any:
    (inst,) = [i for i in run.instances.values() if i.node_id == node_id]
    return inst


def search_route(request: RecordedRequest) -> Reply:
    q = request.query.get("q", "")
    n = int(request.query.get("limit", "10"))
    items = [{"name": f"{q}-{i}", "rank": i} for i in range(n)]
    return Reply(body={"query": q, "items": items})


async def test_json_api_with_query_parameters_from_the_context(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.routes["/api/search"] = search_route
    tree = api_tree(
        openai_server,
        {
            "url": f"{openai_server.url}/api/search",
            "query": {"q": "${topic}", "limit": "3"},
            "extract": "items[].name",
            "validation": {"min_items": 3},
        },
        inputs={"topic": {"type": "string"}},
    )
    run = await run_tree(tmp_path, tree, topic="lizards")
    inst = only(run)
    assert inst.state == "done", inst.error
    assert inst.output == ["lizards-0", "lizards-1", "lizards-2"]
    (request,) = openai_server.requests
    assert request.method == "GET"
    assert request.query == {"q": "lizards", "limit": "3"}
    (call,) = inst.calls
    assert call["kind"] == "http"
    assert call["response"]["status"] == 200


async def test_an_auth_header_is_read_from_the_keychain_and_never_kept(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    secrets.set_key("weather-api", SECRET)

    def guarded(request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") != f"Bearer {SECRET}":
            return Reply(status=401, body={"error": "bad token"})
        return Reply(body={"ok": True, "echo": request.headers["authorization"]})

    openai_server.routes["/private"] = guarded
    tree = api_tree(
        openai_server,
        {
            "url": f"{openai_server.url}/private",
            "headers": {"Authorization": "Bearer ${secret:weather-api}"},
        },
    )
    run = await run_tree(tmp_path, tree)
    inst = only(run)
    assert inst.state == "done", inst.error
    assert inst.output == {"ok": True, "echo": "Bearer ***"}  # an echoed secret is scrubbed
    assert inst.calls[0]["request"]["headers"] == {"Authorization": "Bearer ***"}
    assert inst.plan["request"]["headers"] == {
        "Authorization": ["Bearer ", {"secret": "weather-api"}]
    }
    files = [f for f in Path(run.folder.path).rglob("*") if f.is_file()]  # noqa: ASYNC240
    assert files
    for file in files:
        assert SECRET not in file.read_text(encoding="utf-8", errors="replace"), file


async def test_a_missing_secret_fails_the_instance_with_a_clear_message(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    tree = api_tree(
        openai_server,
        {"url": f"{openai_server.url}/x", "query": {"key": "${secret:nowhere}"}},
    )
    inst = only(await run_tree(tmp_path, tree))
    assert inst.state == "failed"
    assert "no secret 'nowhere'" in (inst.error or "")
    assert "genarun keys set nowhere" in (inst.error or "")
    assert openai_server.count() == 0


async def test_a_secret_outside_headers_and_query_is_refused(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    tree = api_tree(openai_server, {"url": f"{openai_server.url}/x?k=${{secret:openai}}"})
    inst = only(await run_tree(tmp_path, tree))
    assert inst.state == "failed"
    assert "only be used in headers and query" in (inst.error or "")


async def test_context_text_that_looks_like_a_secret_stays_text(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    secrets.set_key("openai", SECRET)
    openai_server.routes["/echo"] = lambda r: Reply(body=r.query)
    tree = api_tree(
        openai_server,
        {"url": f"{openai_server.url}/echo", "query": {"q": "${words}"}},
        inputs={"words": {"type": "string"}},
    )
    inst = only(await run_tree(tmp_path, tree, words="${secret:openai}"))
    assert inst.output == {"q": "${secret:openai}"}


async def test_429_then_200_is_retried_after_retry_after(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.script(
        Reply(status=429, body={"error": "slow down"}, headers={"Retry-After": "0"}, path="/rl")
    )
    openai_server.routes["/rl"] = lambda r: Reply(body={"value": 42})
    tree = api_tree(openai_server, {"url": f"{openai_server.url}/rl", "extract": "value"})
    inst = only(await run_tree(tmp_path, tree))
    assert inst.state == "done", inst.error
    assert inst.output == 42
    assert openai_server.count("/rl") == 2
    assert inst.calls[0]["attempts"] == 2


async def test_a_client_error_is_not_retried(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.routes["/missing"] = lambda r: Reply(status=404, body={"error": "no such"})
    tree = api_tree(openai_server, {"url": f"{openai_server.url}/missing"})
    inst = only(await run_tree(tmp_path, tree))
    assert inst.state == "failed"
    assert "HTTP 404" in (inst.error or "")
    assert openai_server.count("/missing") == 1


async def test_a_slow_answer_times_out(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.latency = 5.0
    openai_server.routes["/slow"] = lambda r: Reply(body={})
    tree = api_tree(
        openai_server,
        {"url": f"{openai_server.url}/slow", "timeout_s": 0.2},
        limits={"retries": 0},
    )
    inst = only(await run_tree(tmp_path, tree))
    assert inst.state == "failed"
    assert "within 0.2 s (timeout)" in (inst.error or "")


async def test_a_huge_body_hits_the_size_limit(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.routes["/huge"] = lambda r: Reply(body=b"x" * 200_000, content_type="text/plain")
    tree = api_tree(openai_server, {"url": f"{openai_server.url}/huge", "max_bytes": 10_000})
    inst = only(await run_tree(tmp_path, tree))
    assert inst.state == "failed"
    assert "larger than the limit of 10000 bytes" in (inst.error or "")


async def test_a_redirect_loop_is_cut_off(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.routes["/loop"] = lambda r: Reply(
        status=302, headers={"Location": "/loop"}, body=""
    )
    tree = api_tree(openai_server, {"url": f"{openai_server.url}/loop", "max_redirects": 3})
    inst = only(await run_tree(tmp_path, tree))
    assert inst.state == "failed"
    assert "redirected more than 3 times" in (inst.error or "")
    assert openai_server.count("/loop") == 4


async def test_a_bounded_redirect_is_followed(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.routes["/old"] = lambda r: Reply(status=301, headers={"Location": "/new"})
    openai_server.routes["/new"] = lambda r: Reply(body="plain words", content_type="text/plain")
    tree = api_tree(openai_server, {"url": f"{openai_server.url}/old"})
    inst = only(await run_tree(tmp_path, tree))
    assert inst.output == "plain words"
    assert inst.calls[0]["response"]["url"].endswith("/new")


WEATHER_OPERATION = """
openapi: 3.0.0
servers: [{url: "SERVER"}]
paths:
  /v1/forecast:
    get:
      operationId: current_weather
      summary: Current weather at a place
      parameters:
        - name: latitude
          in: query
          required: true
          schema: {type: number, minimum: -90, maximum: 90}
        - name: longitude
          in: query
          required: true
          schema: {type: number, minimum: -180, maximum: 180}
        - {name: units, in: query, schema: {type: string, enum: [metric, imperial]}}
"""


def weather_route(request: RecordedRequest) -> Reply:
    return Reply(
        body={
            "current": {
                "temperature_2m": 3.5,
                "lat": float(request.query["latitude"]),
                "lon": float(request.query["longitude"]),
            }
        }
    )


def assemble_tree(server: OpenAIServer, **assemble: Any) -> Any:
    return api_tree(
        server,
        {
            "extract": "current",
            "assemble": {
                "instruction": "Current weather in ${city}",
                "operation": WEATHER_OPERATION.replace("SERVER", server.url),
                **assemble,
            },
        },
        inputs={"city": {"type": "string", "default": "Berlin"}},
    )


async def test_assemble_call_fills_parameters_through_a_tool_call(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.tool_answer = lambda r: {"latitude": 52.52, "longitude": 13.4}
    openai_server.routes["/v1/forecast"] = weather_route
    inst = only(await run_tree(tmp_path, assemble_tree(openai_server)))
    assert inst.state == "done", inst.error
    assert inst.output == {"temperature_2m": 3.5, "lat": 52.52, "lon": 13.4}
    (chat,) = openai_server.bodies(CHAT_PATH)
    assert chat["tools"][0]["function"]["name"] == "current_weather"
    assert chat["tool_choice"]["function"]["name"] == "current_weather"
    assert chat["messages"][-1]["content"] == "Current weather in Berlin"
    assert [c["kind"] for c in inst.calls] == ["chat", "http"]
    assert inst.calls[0]["tool_calls"][0]["name"] == "current_weather"
    assert inst.calls[0]["usage"]["output_tokens"] > 0
    assert inst.calls[1]["request"]["query"] == {"latitude": "52.52", "longitude": "13.4"}
    assert all("duration_s" in c for c in inst.calls)
    assert inst.usage.input_tokens > 0


async def test_an_invalid_fill_is_asked_again(tmp_path: Path, openai_server: OpenAIServer) -> None:
    answers = iter([{"latitude": 200, "longitude": 13.4}, {"latitude": 52.5, "longitude": 13.4}])
    openai_server.tool_answer = lambda r: next(answers)
    openai_server.routes["/v1/forecast"] = weather_route
    inst = only(await run_tree(tmp_path, assemble_tree(openai_server)))
    assert inst.state == "done", inst.error
    assert inst.output["lat"] == 52.5
    _, second = openai_server.bodies(CHAT_PATH)
    assert "latitude: 200 is greater than the maximum of 90" in second["messages"][-1]["content"]
    assert openai_server.count("/v1/forecast") == 1  # the bad fill was never sent
    assert any("asking again" in entry["message"] for entry in inst.logs)


async def test_a_fill_that_stays_invalid_fails_without_calling_the_api(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.tool_answer = lambda r: {"latitude": "north"}
    openai_server.routes["/v1/forecast"] = weather_route
    inst = only(await run_tree(tmp_path, assemble_tree(openai_server)))
    assert inst.state == "failed"
    assert "could not assemble the call" in (inst.error or "")
    assert openai_server.count(CHAT_PATH) == 3  # the question and limits.max_reasks (2)
    assert openai_server.count("/v1/forecast") == 0


async def test_an_endpoint_without_tools_is_asked_in_json_mode(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.fail(400, "tools are not supported", when=lambda r: "tools" in r.body)
    openai_server.chat_answer = json.dumps({"latitude": 48.1, "longitude": 11.6})
    openai_server.routes["/v1/forecast"] = weather_route
    inst = only(await run_tree(tmp_path, assemble_tree(openai_server)))
    assert inst.state == "done", inst.error
    assert inst.output["lat"] == 48.1
    first, second = openai_server.bodies(CHAT_PATH)
    assert "tools" in first
    assert "tools" not in second
    assert second["response_format"]["type"] == "json_schema"


async def test_json_mode_can_be_chosen_and_a_parameter_list_defines_the_call(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    openai_server.chat_answer = json.dumps({"q": "geckos", "limit": 2})
    openai_server.routes["/api/search"] = search_route
    tree = api_tree(
        openai_server,
        {
            "url": f"{openai_server.url}/api/search",
            "extract": "items[].name",
            "assemble": {
                "instruction": "Search for small lizards, two results",
                "use_tools": False,
                "parameters": [
                    {"name": "q", "in": "query", "required": True, "description": "search words"},
                    {"name": "limit", "schema": {"type": "integer", "minimum": 1}},
                ],
            },
        },
    )
    inst = only(await run_tree(tmp_path, tree))
    assert inst.output == ["geckos-0", "geckos-1"]
    (chat,) = openai_server.bodies(CHAT_PATH)
    assert "tools" not in chat


def hn_and_weather_routes(server: OpenAIServer) -> None:
    server.routes["/v1/forecast"] = lambda r: Reply(
        body={
            "current": {
                "time": "2026-11-27T07:00",
                "temperature_2m": float(r.query["latitude"]),  # shows the fill arrived
                "apparent_temperature": 1.0,
                "precipitation": 0.2,
                "weather_code": 61,
                "wind_speed_10m": 20.0,
            }
        }
    )
    server.routes["/v0/topstories.json"] = lambda r: Reply(body=list(range(900, 920)))
    for story in range(900, 920):
        server.routes[f"/v0/item/{story}.json"] = lambda r, s=story: Reply(
            body={"id": s, "title": f"Story {s}", "url": "u", "score": s, "descendants": 3}
        )


async def test_the_morning_brief_example_runs_against_the_test_servers(
    tmp_path: Path, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-for-the-local-server")
    hn_and_weather_routes(openai_server)
    openai_server.tool_answer = lambda r: {"latitude": 52.52, "longitude": 13.41}
    openai_server.chat_answer = lambda r: "A line for the brief."
    tree = load_tree(resource_path("examples", "morning-brief.genarun.json"))
    run = await run_tree(
        tmp_path,
        tree,
        city="Berlin",
        weather_base=f"{openai_server.url}/v1",
        hn_base=f"{openai_server.url}/v0",
    )
    assert {i.state for i in run.instances.values()} == {"done"}
    output = json.loads((Path(run.folder.path) / "output.json").read_text())
    assert output["weather"]["temperature_c"] == 52.52
    assert output["greeting"] == "A line for the brief."
    assert [item["story"]["title"] for item in output["top"]] == [
        f"Story {s}" for s in range(900, 905)
    ]
    assert all(item["blurb"] == "A line for the brief." for item in output["top"])
    # one brief from the weather and every blurb (the collect node waited for all five)
    assert output["stories"] == "\n".join(f"{n}. A line for the brief." for n in range(1, 6))
    assert output["brief"] == "A line for the brief."
    brief_prompt = openai_server.bodies("/v1/chat/completions")[-1]["messages"][-1]["content"]
    assert "5. A line for the brief." in brief_prompt
    assert "52.52 °C" in brief_prompt
    assert openai_server.count("/v0/topstories.json") == 1
    weather = only(run, "weather")
    assert weather.calls[1]["request"]["query"]["latitude"] == "52.52"


async def test_the_morning_brief_runs_offline_on_mock(tmp_path: Path) -> None:
    tree = load_tree(resource_path("examples", "morning-brief.genarun.json"))
    engine = Engine(project=Project(tmp_path / "project"))
    run = engine.start(tree, {}, RunOptions(mock=True))
    summary = await run.wait()
    assert summary.counts == {"done": 15}
    weather = only(run, "weather")
    assert weather.calls[0]["tool_calls"]  # the mock provider filled the call
    assert weather.calls[1]["response"]["mock"] is True
    stories = [i.output["title"] for i in run.instances.values() if i.node_id == "story"]
    assert len(set(stories)) == 5
