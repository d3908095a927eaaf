"""The JSON Schema of the native tree format, with each registered node type's config.

``genarun schema`` prints it so editors can validate and autocomplete tree files. A node's
``config`` is described per ``type`` with ``if``/``then``, so installed plugins appear too.
"""

from __future__ import annotations

from typing import Any

from genarun_studio.core.registry import Registry
from genarun_studio.core.tree import Tree

__all__ = ["tree_json_schema"]

SCHEMA_ID = "https://genarun.dev/schema/genarun-1.json"


def tree_json_schema(registry: Registry) -> dict[str, Any]:
    ref = "#/$defs/{model}"
    schema = Tree.model_json_schema(ref_template=ref)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    node = defs["Node"]
    node["properties"]["type"]["examples"] = registry.ids()
    rules = []
    for node_type in registry.types():
        config_schema = node_type.Config.model_json_schema(ref_template=ref)
        defs.update(config_schema.pop("$defs", {}))
        name = f"config:{node_type.type_id}"
        config_schema["description"] = f"{node_type.title}: {node_type.description}".strip()
        defs[name] = config_schema
        rules.append(
            {
                "if": {"properties": {"type": {"const": node_type.type_id}}, "required": ["type"]},
                "then": {"properties": {"config": {"$ref": f"#/$defs/{name}"}}},
            }
        )
    if rules:
        node["allOf"] = rules
    return schema
