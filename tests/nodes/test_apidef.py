"""API definitions for ``assembleCall`` and the ``api`` node's config checks (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from genarun_nodes.api import ApiConfig, list_presets
from genarun_nodes.apidef import ApiParam, Operation, apply_fill, check_fill, load_operation
from pydantic import ValidationError

from genarun_studio.core.formats import tree_from_data
from genarun_studio.core.registry import default_registry
from genarun_studio.core.validate import check_tree
from genarun_studio.errors import OutputError, TreeError
from genarun_studio.providers.base import ChatRequest, Message
from genarun_studio.providers.mock import MockProvider

DOCUMENT = """
openapi: 3.0.0
servers: [{url: "https://api.example.com/v2"}]
paths:
  /pets/{pet_id}:
    parameters:
      - {name: pet_id, in: path, schema: {type: integer}}
    put:
      operationId: update pet
      summary: Update a pet
      parameters:
        - {name: X-Trace, in: header, schema: {type: string}}
        - {name: session, in: cookie}
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
"""


def test_a_whole_openapi_document_in_yaml_gives_its_one_operation() -> None:
    op = load_operation(DOCUMENT)
    assert (op.name, op.method, op.path, op.server) == (
        "update_pet",
        "PUT",
        "/pets/{pet_id}",
        "https://api.example.com/v2",
    )
    assert [(p.name, p.location, p.required) for p in op.params] == [
        ("pet_id", "path", True),
        ("X-Trace", "header", False),
        ("body", "body", True),
    ]
    schema = op.fill_schema()
    assert schema["required"] == ["pet_id", "body"]
    assert op.tool()["function"]["parameters"] == schema


def test_a_fill_goes_to_path_header_and_body() -> None:
    op = load_operation(DOCUMENT)
    fill = check_fill({"pet_id": 7, "X-Trace": "t1", "body": {"name": "Rex"}}, op)
    request = apply_fill(fill, op, {"url": "https://h/pets/{pet_id}", "query": {}, "headers": {}})
    assert request["url"] == "https://h/pets/7"
    assert request["headers"] == {"X-Trace": "t1"}
    assert request["body"] == {"name": "Rex"}


def test_a_bad_fill_says_what_is_wrong() -> None:
    op = load_operation(DOCUMENT)
    with pytest.raises(OutputError, match="'body' is a required property"):
        check_fill({"pet_id": 7}, op)
    with pytest.raises(OutputError, match="pet_id: 'seven' is not of type 'integer'"):
        check_fill({"pet_id": "seven", "body": {"name": "x"}}, op)
    with pytest.raises(OutputError, match="Additional properties"):
        check_fill({"pet_id": 1, "body": {"name": "x"}, "extra": 1}, op)


def test_several_operations_need_an_operation_id() -> None:
    doc = {"paths": {"/a": {"get": {"operationId": "a"}}, "/b": {"get": {"operationId": "b"}}}}
    with pytest.raises(ValueError, match=r"several operations \(a, b\); set operation_id"):
        load_operation(json.dumps(doc))
    assert load_operation(json.dumps(doc), "b").path == "/b"


def test_text_that_is_neither_json_nor_yaml_is_refused_with_its_line() -> None:
    with pytest.raises(ValueError, match=r"neither JSON nor YAML \(line 3, column 1\): expected"):
        load_operation("parameters:\n  - name: [unclosed\n")


def test_config_errors_are_clear() -> None:
    with pytest.raises(ValidationError, match="is not a JMESPath expression"):
        ApiConfig.model_validate({"url": "https://x", "extract": "items[?"})
    with pytest.raises(ValidationError, match="unknown preset 'nope'"):
        ApiConfig.model_validate({"preset": "nope"})
    with pytest.raises(ValidationError, match="define the API"):
        ApiConfig.model_validate({"url": "https://x", "assemble": {"instruction": "do it"}})


def test_a_preset_gives_defaults_and_the_node_wins(tmp_path: Path) -> None:
    assert {"hacker-news-item", "hacker-news-top", "open-meteo-current"} <= set(list_presets())
    config = ApiConfig.model_validate(
        {
            "preset": "open-meteo-current",
            "base_url": "http://127.0.0.1:1/v1",
            "query": {"timezone": "UTC"},
            "assemble": {"instruction": "Weather in Oslo"},
        }
    )
    assert config.base_url == "http://127.0.0.1:1/v1"
    assert config.url == "/forecast"
    assert config.query["timezone"] == "UTC"
    assert "current" in config.query
    assert config.assemble is not None
    assert config.assemble.instruction == "Weather in Oslo"
    assert [p.name for p in config.assemble.definition().params] == ["latitude", "longitude"]


def test_an_operation_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "op.yaml"
    path.write_text(DOCUMENT, encoding="utf-8")
    config = ApiConfig.model_validate(
        {"assemble": {"instruction": "rename pet 3", "operation_file": str(path)}}
    )
    assert config.assemble is not None
    assert config.assemble.definition().method == "PUT"
    missing = ApiConfig.model_validate(
        {"assemble": {"instruction": "x", "operation_file": str(tmp_path / "gone.yaml")}}
    )
    assert missing.assemble is not None
    with pytest.raises(ValueError, match="cannot read operation_file"):
        missing.assemble.definition()


def test_validate_reports_api_config_problems_with_their_path() -> None:
    tree = tree_from_data(
        {"id": "t", "nodes": [{"id": "a", "type": "api", "config": {"url": "https://x/${nope}"}}]}
    )
    problems = [str(p) for p in check_tree(tree, default_registry())]
    assert any("unknown variable 'nope'" in t for t in problems)
    bad = {"id": "b", "type": "api", "config": {"url": "https://x", "extract": "[?"}}
    with pytest.raises(TreeError) as caught:
        tree_from_data(
            {"id": "t", "nodes": [{"id": "a", "type": "template", "config": {"value": 1}}, bad]}
        )
    assert str(caught.value) == (
        "nodes[1].config.extract: Value error, is not a JMESPath expression at position 2: "
        "Invalid jmespath expression: Incomplete expression"
    )


async def test_the_mock_provider_answers_a_tool_call_matching_its_schema() -> None:
    op = Operation(
        name="find",
        params=[
            ApiParam(name="lat", json_schema={"type": "number", "minimum": 0, "maximum": 1}),
            ApiParam(name="mode", required=True, json_schema={"enum": ["a", "b"]}),
        ],
    )
    request = ChatRequest(
        messages=[Message(role="user", content="find it")],
        model="m",
        tools=[op.tool()],
        seed_key="k",
    )
    response = await MockProvider().chat(request)
    (call,) = response.tool_calls
    assert call.name == "find"
    check_fill(json.loads(call.arguments), op)
    assert response == await MockProvider().chat(request)  # deterministic
