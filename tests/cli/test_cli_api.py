"""``genarun api test`` as a user runs it: a real process calling a real local server."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.test_cli_run import EXAMPLES, genarun
from tests.providers.openai_server import RecordedRequest, Reply, running_server

SECRET = "tok-CLI-SECRET-9876543210"


def test_api_test_prints_the_masked_request_and_the_response(tmp_path: Path) -> None:
    with running_server() as server:

        def guarded(request: RecordedRequest) -> Reply:
            if request.headers.get("authorization") != f"Bearer {SECRET}":
                return Reply(status=401, body={"error": "bad token"})
            return Reply(body={"items": [{"name": request.query["q"]}]})

        server.routes["/search"] = guarded
        tree = {
            "id": "cli-api",
            "inputs": {"topic": {"type": "string"}},
            "nodes": [
                {
                    "id": "words",
                    "type": "template",
                    "config": {"template": "${topic} care"},
                    "children": [
                        {
                            "id": "search",
                            "type": "api",
                            "config": {
                                "url": f"{server.url}/search",
                                "query": {"q": "${words}"},
                                "headers": {"Authorization": "Bearer ${secret:weather-api}"},
                                "extract": "items[0].name",
                            },
                        }
                    ],
                }
            ],
        }
        path = tmp_path / "tree.genarun.json"
        path.write_text(json.dumps(tree), encoding="utf-8")
        env = {**os.environ, "WEATHER_API_API_KEY": SECRET}
        result = genarun(
            "api",
            "test",
            str(path),
            "search",
            "--input",
            "topic=gecko",
            "--project",
            str(tmp_path / "project"),
            env=env,
        )
        assert result.returncode == 0, result.stderr
        assert f"GET {server.url}/search" in result.stdout
        assert "?q=gecko care" in result.stdout
        assert "Authorization: Bearer ***" in result.stdout
        assert "-- response: HTTP 200" in result.stdout
        assert '"name": "gecko care"' in result.stdout  # the JSON answer, indented
        assert SECRET not in result.stdout + result.stderr
        assert server.count("/search") == 1

        failed = genarun(
            "api", "test", str(path), "search", "--input", "topic=x", "--json",
            "--project", str(tmp_path / "project"),
        )  # fmt: skip
        assert failed.returncode == 3
        report = json.loads(failed.stdout)
        assert report["instances"][0]["state"] == "failed"
        assert "no secret 'weather-api'" in report["instances"][0]["error"]


def test_api_test_runs_the_example_offline_on_mock(tmp_path: Path) -> None:
    result = genarun(
        "api",
        "test",
        str(EXAMPLES / "morning-brief.genarun.json"),
        "weather",
        "--mock",
        "--project",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "current_weather(" in result.stdout
    assert "(mock: nothing was sent)" in result.stdout
    assert '"temperature_c": 4.2' in result.stdout


def test_api_test_names_an_unknown_node(tmp_path: Path) -> None:
    result = genarun(
        "api",
        "test",
        str(EXAMPLES / "morning-brief.genarun.json"),
        "nope",
        "--mock",
        "--project",
        str(tmp_path),
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "genarun: the tree has no node 'nope'"
