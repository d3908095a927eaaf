"""Running one node on its own, to see the calls it makes: ``genarun api test`` and the
editor's "Test call" button.

The node runs through the engine like ``--only NODE --force NODE``: its ancestors come from
the project's cache (an ancestor the cache lacks is run, with a warning), the node itself is
always called afresh, and the run is recorded in the project like any other. The report
shows each call as the run records it, so secrets appear as ``***``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genarun_studio.engine.run import RunOptions
from genarun_studio.errors import RunError

if TYPE_CHECKING:
    from genarun_studio.core.tree import Tree
    from genarun_studio.engine.engine import Engine
    from genarun_studio.engine.instance import NodeInstance

__all__ = ["TryResult", "describe_instance", "try_node"]


@dataclass
class TryResult:
    node_id: str
    run_id: str
    status: str
    instances: list[NodeInstance]
    mock: bool

    def report(self) -> str:
        if not self.instances:
            return f"{self.node_id} did not run (the run ended {self.status})"
        return "\n\n".join(describe_instance(i) for i in self.instances)

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "run_id": self.run_id,
            "status": self.status,
            "mock": self.mock,
            "instances": [
                {
                    "key": i.key,
                    "state": i.state,
                    "output": i.output if i.has_output else None,
                    "error": i.error,
                    "calls": i.calls,
                }
                for i in self.instances
            ],
        }


def _find(tree: Tree, node_id: str) -> Any:
    stack = list(tree.nodes)
    while stack:
        node = stack.pop()
        if node.id == node_id:
            return node
        stack.extend(node.children)
    return None


async def try_node(
    engine: Engine, tree: Tree, node_id: str, inputs: dict[str, Any], *, mock: bool = False
) -> TryResult:
    """Run ``node_id`` once (once per instance under a fan-out); RunError for a bad id."""
    if _find(tree, node_id) is None:
        raise RunError(f"the tree has no node {node_id!r}")
    options = RunOptions(mock=mock, targets=[node_id], force=[node_id])
    run = engine.start(tree, inputs, options)
    summary = await run.wait()
    instances = [i for i in run.instances.values() if i.node_id == node_id]
    return TryResult(node_id, summary.run_id, summary.status, instances, summary.mock)


def _block(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    return "\n".join(f"    {line}" for line in text.splitlines() or [""])


def _pretty(body: Any) -> Any:
    """A JSON answer's start, indented when it is whole (a long one is cut at the preview)."""
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def describe_instance(inst: NodeInstance) -> str:
    """The instance's calls (model fills, HTTP requests and responses), output or error."""
    lines = [f"== {inst.key}: {inst.state}"]
    for call in inst.calls:
        took = f"{call.get('duration_s', 0):.3f} s"
        if call.get("kind") == "http":
            req = call["request"]
            lines.append(f"-- request ({took}, {call.get('attempts', 0)} attempt(s))")
            lines.append(f"    {req['method']} {req['url']}")
            for n, (name, value) in enumerate(req.get("query", {}).items()):
                lines.append(f"    {'&' if n else '?'}{name}={value}")
            for name, value in req.get("headers", {}).items():
                lines.append(f"    {name}: {value}")
            if req.get("body") is not None:
                lines.append(_block(req["body"]))
            resp = call.get("response")
            if resp is not None:
                mock = " (mock: nothing was sent)" if resp.get("mock") else ""
                lines.append(
                    f"-- response: HTTP {resp['status']} {resp.get('content_type', '')}, "
                    f"{resp.get('size', 0)} bytes{mock}"
                )
                lines.append(_block(_pretty(resp.get("body", ""))))
            elif call.get("error"):
                lines.append(f"-- no response: {call['error']}")
        else:
            usage = call.get("usage") or {}
            lines.append(
                f"-- model {call.get('provider', '')}/{call.get('model', '')} ({took}, "
                f"{usage.get('input_tokens', 0)}+{usage.get('output_tokens', 0)} tokens, "
                f"${call.get('cost_usd', 0.0):.4f})"
            )
            for tool_call in call.get("tool_calls") or []:
                lines.append(f"    {tool_call['name']}({tool_call['arguments']})")
            if not call.get("tool_calls"):
                lines.append(_block(call.get("answer", "")))
    for entry in inst.logs:
        if entry.get("level") in ("warning", "error"):
            lines.append(f"-- {entry['level']}: {entry['message']}")
    if inst.has_output:
        lines.append("-- output")
        lines.append(_block(inst.output))
    elif inst.error:
        lines.append(f"-- error: {inst.error}")
    return "\n".join(lines)
