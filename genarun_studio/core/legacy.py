"""Trees written for the original JavaScript Genarun, read into the native model.

The original's shape: a project ``{models, generations}`` (or a bare list of generations, or
one generation), where a generation has ``type`` (``text``, ``text-array``, ``object``,
``image``), ``outputKey``, ``requiredInputs``, ``config`` (``model``, ``prompt`` as a list of
turns ``{template, system, parseJson}`` or as ``{prefix, template, suffix}``, other request
settings), ``validation`` (``required`` keys, ``minLength``/``maxLength`` of arrays) and child
``generations``. Every field finds a native home; what has none is kept in ``meta.legacy``
so nothing is lost. Saving writes the native format.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "LegacyGeneration",
    "LegacyProject",
    "convert_legacy",
    "identifier",
    "is_legacy",
    "legacy_path",
    "wrap_legacy",
]

_ID_BAD = re.compile(r"[^A-Za-z0-9_-]+")
_IMAGE_KEYS = ("size", "quality")


class _Legacy(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class LegacyTurn(_Legacy):
    template: str = ""
    system: str | None = None
    prefix: str = ""
    suffix: str = ""
    parseJson: bool = False


class LegacyConfig(_Legacy):
    model: str | None = None
    prompt: list[LegacyTurn] | LegacyTurn | str | None = None


class LegacyValidation(_Legacy):
    required: list[str] = Field(default_factory=list)
    minLength: int | None = Field(None, ge=0)
    maxLength: int | None = Field(None, ge=0)


class LegacyGeneration(_Legacy):
    id: str | None = None
    type: str
    outputKey: str | None = None
    requiredInputs: list[str] = Field(default_factory=list)
    config: LegacyConfig = Field(default_factory=LegacyConfig)
    validation: LegacyValidation | None = None
    generations: list[LegacyGeneration] = Field(default_factory=list)
    enabled: bool | None = None
    disabled: bool | None = None
    title: str | None = None


class LegacyProject(_Legacy):
    name: str | None = None
    description: str | None = None
    models: dict[str, str | dict[str, Any]] = Field(default_factory=dict)
    inputs: dict[str, Any] | None = None
    generations: list[LegacyGeneration]


def is_legacy(data: Any) -> bool:
    """True when ``data`` looks like the original's format rather than the native one."""
    if isinstance(data, list):
        return True
    if not isinstance(data, dict) or "nodes" in data or "format" in data:
        return False
    return "generations" in data or "outputKey" in data


def wrap_legacy(data: Any) -> Any:
    """A bare generation list or a single generation, as a project."""
    if isinstance(data, list):
        return {"generations": data}
    if isinstance(data, dict) and ("generations" not in data or "type" in data):
        return {"generations": [data]}  # one generation, possibly with children
    return data


def legacy_path(native_path: str) -> str:
    """Translate a native JSON path back into the legacy file's terms."""
    path = re.sub(r"(^|\.)(nodes|children)\[", r"\1generations[", native_path)
    return path.replace("output_key", "outputKey").replace("required_inputs", "requiredInputs")


def identifier(raw: str, fallback: str) -> str:
    ident = _ID_BAD.sub("_", raw.strip())[:64].strip("_") or fallback
    if not re.match(r"[A-Za-z_]", ident):
        ident = f"n_{ident}"[:64]
    return ident


def _extras(model: _Legacy) -> dict[str, Any]:
    return dict(model.model_extra or {})


def convert_legacy(project: LegacyProject) -> dict[str, Any]:
    """The native tree document (plain JSON) for a validated legacy project."""
    used: set[str] = set()
    counter = 0

    def unique(base: str) -> str:
        name, n = base, 2
        while name in used:
            name = f"{base[:60]}-{n}"
            n += 1
        used.add(name)
        return name

    def node(gen: LegacyGeneration) -> dict[str, Any]:
        nonlocal counter
        counter += 1
        fallback = f"{gen.type}_{counter}".replace("-", "_")
        key = identifier(gen.outputKey, fallback) if gen.outputKey else None
        legacy_meta: dict[str, Any] = _extras(gen)
        if gen.outputKey and key != gen.outputKey:
            legacy_meta["outputKey"] = gen.outputKey
        out: dict[str, Any] = {
            "id": unique(identifier(gen.id, fallback) if gen.id else key or fallback),
            "type": gen.type,
        }
        if key:
            out["output_key"] = key
        if gen.title:
            out["title"] = gen.title
        if gen.enabled is False or gen.disabled is True:
            out["enabled"] = False
        if gen.requiredInputs:
            out["required_inputs"] = list(gen.requiredInputs)
        out["config"] = _config(gen, legacy_meta)
        if legacy_meta:
            out["meta"] = {"legacy": legacy_meta}
        out["children"] = [node(child) for child in gen.generations]
        return out

    tree: dict[str, Any] = {"format": "genarun/1", "nodes": []}
    if project.name:
        tree["name"] = project.name
    if project.description:
        tree["description"] = project.description
    models: dict[str, Any] = {}
    for name, spec in project.models.items():
        if isinstance(spec, str):
            models[name] = {"provider": "openai", "model": spec}
        else:
            profile = dict(spec)
            known = {k: profile.pop(k) for k in ("provider", "model", "base_url") if k in profile}
            known.setdefault("provider", "openai")
            known.setdefault("model", str(profile.pop("name", name)))
            models[name] = {**known, "params": profile} if profile else known
    if models:
        tree["models"] = models
    if project.inputs:
        tree["inputs"] = {
            k: (v if isinstance(v, dict) else {"default": v, "required": False})
            for k, v in project.inputs.items()
        }
    extras = _extras(project)
    if extras:
        tree["meta"] = {"legacy": extras}
    tree["nodes"] = [node(g) for g in project.generations]
    return tree


def _config(gen: LegacyGeneration, legacy_meta: dict[str, Any]) -> dict[str, Any]:
    src = gen.config
    config: dict[str, Any] = {}
    prompt = src.prompt
    turns: list[dict[str, Any]] = []
    if isinstance(prompt, str):
        turns = [{"template": prompt}]
    elif isinstance(prompt, LegacyTurn):
        turns = [_turn(prompt)]
    elif isinstance(prompt, list):
        turns = [_turn(t) for t in prompt]
    if turns:
        config["prompt"] = turns
    turn_extras = [
        _extras(t)
        for t in (prompt if isinstance(prompt, list) else [prompt])
        if isinstance(t, LegacyTurn)
    ]
    if any(turn_extras):
        legacy_meta["prompt"] = turn_extras
    if src.model:
        config["model"] = src.model
    params = _extras(src)
    if gen.type == "image":
        for key in _IMAGE_KEYS:
            if key in params:
                config[key] = params.pop(key)
    if params:
        config["params"] = params
    if gen.validation is not None:
        v = gen.validation
        validation: dict[str, Any] = {}
        if v.required:
            validation["required"] = list(v.required)
        if v.minLength is not None:
            validation["min_items"] = v.minLength
        if v.maxLength is not None:
            validation["max_items"] = v.maxLength
        rest = _extras(v)
        if "schema" in rest:
            validation["schema"] = rest.pop("schema")
        if rest:
            legacy_meta["validation"] = rest
        if validation and gen.type != "image":
            config["validation"] = validation
    return config


def _turn(turn: LegacyTurn) -> dict[str, Any]:
    out: dict[str, Any] = {"template": turn.template}
    if turn.system is not None:
        out["system"] = turn.system
    if turn.prefix:
        out["prefix"] = turn.prefix
    if turn.suffix:
        out["suffix"] = turn.suffix
    if turn.parseJson:
        out["parse_json"] = True
    return out
