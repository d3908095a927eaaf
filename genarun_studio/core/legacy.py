"""Trees written for the original JavaScript Genarun, read into the native model.

The original's shape: a project ``{models, generations}`` (or a bare list of generations, or
one generation), where a generation has ``type`` (``text``, ``text-array``, ``object``,
``image``), ``id``, ``outputKey``, ``requiredInputs``, ``config`` (``model``, ``prompt`` as a
list of turns ``{template, system, parseJson}``, as ``{prefix, template, suffix}`` or as a
string, other request settings), ``validation`` (``required`` keys, ``minLength``/
``maxLength`` of arrays) and child ``generations``. Every field finds a native home; what has
none is kept in ``meta.legacy`` so nothing is lost. Saving writes the native format.

How fields map (choices where the original was loose):

* ``id`` (sanitised to an identifier) or else ``outputKey`` names the node; ids are made
  unique with ``-2``, ``-3``, ... The original spelling of a changed id or key is kept in
  ``meta.legacy``.
* ``config.model`` is a model name (``"gpt-4o"``) or, as the original wrote it, an object
  ``{name, ...settings}``. A name that is a profile of the project's ``models`` (or one of
  the default profiles ``text``, ``image``, ``embed`` in the object form) becomes the node's
  ``profile``; any other name becomes ``model``. The other settings become ``params``
  (``size``/``quality`` of an image node become its config fields).
* ``{prefix, template, suffix}``: the original joined the non-empty parts with a space, so
  the native turn's prefix gets a trailing space and its suffix a leading one (unless it
  already ends or starts with whitespace).
* ``validation`` may also be written inside ``config`` (the original's ``tree1.js`` does);
  it is the node's validation either way (the node-level one wins key by key).
* ``validation.required`` is a list of keys; ``required: true`` (the original's "must not
  be empty") has no native rule and is kept in ``meta.legacy.validation``, as is any
  validation of an image node.
* Project ``models``: a string is a model name; an object may use the original's
  ``endpoint`` (the model) and ``defaultParams`` (its params).
* The project's ``inputs`` (rare: the original took its inputs at run time and named them
  only in ``requiredInputs``) become declared inputs: an object of ``type``/``default``/
  ``description``/``required`` is a spec, any other value is the default of an optional
  input of that value's JSON type.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
_DEFAULT_PROFILES = ("text", "image", "embed")
_INPUT_SPEC_KEYS = frozenset({"type", "description", "default", "required"})


class _Legacy(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class LegacyTurn(_Legacy):
    template: str = ""
    system: str | None = None
    prefix: str = ""
    suffix: str = ""
    parseJson: bool = False


class LegacyConfig(_Legacy):
    model: Any = None
    """A model name, or an object ``{name, ...settings}``."""
    prompt: list[LegacyTurn] | None = None
    """Turns; a string or a single ``{prefix, template, suffix}`` object is one turn."""

    @field_validator("prompt", mode="before")
    @classmethod
    def _turns(cls, value: Any) -> Any:
        if isinstance(value, str | dict):
            value = [value]
        if isinstance(value, list):
            return [{"template": t} if isinstance(t, str) else t for t in value]
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, dict):
            name = value.get("name", value.get("model"))
            if name is not None and not isinstance(name, str):
                raise ValueError(f"the model's name should be a string, not {name!r}")
            return value
        raise ValueError(
            f"should be a model name or an object like {{'name': 'text'}}, not {value!r}"
        )


class LegacyValidation(_Legacy):
    required: Any = Field(default_factory=list)
    """Keys every object must have; ``true`` in the original's looser form."""
    minLength: int | None = Field(None, ge=0)
    maxLength: int | None = Field(None, ge=0)

    @field_validator("required")
    @classmethod
    def _required(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, list) and all(isinstance(k, str) for k in value):
            return value
        raise ValueError(f"should be a list of keys (or true), not {value!r}")


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

    @model_validator(mode="before")
    @classmethod
    def _config_validation(cls, data: Any) -> Any:
        """``config.validation`` (where the original's own tree1.js wrote it) is the node's
        validation, not a request parameter; the node-level one wins key by key."""
        if not isinstance(data, dict):
            return data
        config = data.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("validation"), dict):
            return data
        config = dict(config)
        inner = config.pop("validation")
        outer = data.get("validation")
        if outer is not None and not isinstance(outer, dict):
            return data  # let the field's own check report it
        return {**data, "config": config, "validation": {**inner, **(outer or {})}}


class LegacyProject(_Legacy):
    name: str | None = None
    description: str | None = None
    models: dict[str, Any] = Field(default_factory=dict)
    """Profile name → a model name, or an object (``model``/``endpoint``, params...)."""
    inputs: dict[str, Any] | None = None
    generations: list[LegacyGeneration]

    @field_validator("models")
    @classmethod
    def _models(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, spec in value.items():
            if not isinstance(spec, str | dict):
                raise ValueError(
                    f"model {name!r} should be a model name or an object, not {spec!r}"
                )
        return value


def is_legacy(data: Any) -> bool:
    """True when ``data`` looks like the original's format rather than the native one.

    A native tree never has ``generations``, ``outputKey``, ``requiredInputs`` or ``type``
    at its top level; any of them (or a top-level array) means the original's format.
    """
    if isinstance(data, list):
        return True
    if not isinstance(data, dict) or "nodes" in data or "format" in data:
        return False
    return any(key in data for key in ("generations", "outputKey", "requiredInputs", "type"))


def wrap_legacy(data: Any) -> Any:
    """A bare generation list or a single generation, as a project."""
    if isinstance(data, list):
        return {"generations": data}
    if isinstance(data, dict) and ("generations" not in data or "type" in data):
        return {"generations": [data]}  # one generation, possibly with children
    return data


_PATH_WORDS = (
    (".config.validation.min_items", ".validation.minLength"),
    (".config.validation.max_items", ".validation.maxLength"),
    (".config.validation.required", ".validation.required"),
    (".config.validation", ".validation"),
    (".parse_json", ".parseJson"),
    (".output_key", ".outputKey"),
    (".required_inputs", ".requiredInputs"),
)


def legacy_path(native_path: str) -> str:
    """Translate a native JSON path back into the legacy file's terms.

    ``nodes[0].children[1].config.validation.min_items`` →
    ``generations[0].generations[1].validation.minLength``. The result is a path in a
    project file (``{generations: [...]}``); the loader strips the wrapper for a bare list
    or a single generation.
    """
    path = re.sub(r"(^|\.)(nodes|children)\[", r"\1generations[", native_path)
    for native, legacy in _PATH_WORDS:
        path = re.sub(re.escape(native) + r"(?=$|[.\[])", legacy, path)
    return path


def identifier(raw: str, fallback: str) -> str:
    """``raw`` as a node id: letters, digits, ``_`` and ``-``, at most 64 characters."""
    ident = _ID_BAD.sub("_", raw.strip())[:64].strip("_") or fallback
    if not re.match(r"[A-Za-z_]", ident):
        ident = f"n_{ident}"[:64]
    return ident


def _extras(model: _Legacy) -> dict[str, Any]:
    return dict(model.model_extra or {})


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _input_spec(value: Any) -> dict[str, Any]:
    """A legacy input: a spec object, or else a default value."""
    if isinstance(value, dict) and value and set(value) <= _INPUT_SPEC_KEYS:
        return value
    spec: dict[str, Any] = {"default": value, "required": False}
    if value is not None:
        spec["type"] = _json_type(value)
    return spec


def _profile(name: str, spec: Any) -> dict[str, Any]:
    if isinstance(spec, str):
        return {"provider": "openai", "model": spec}
    rest = dict(spec)
    known: dict[str, Any] = {k: rest.pop(k) for k in ("provider", "base_url") if k in rest}
    known.setdefault("provider", "openai")
    model = rest.pop("model", None) or rest.pop("endpoint", None) or rest.pop("name", None)
    known["model"] = str(model or name)
    params = rest.pop("defaultParams", None)
    params = {**rest, **params} if isinstance(params, dict) else rest
    return {**known, "params": params} if params else known


def convert_legacy(project: LegacyProject) -> dict[str, Any]:
    """The native tree document (plain JSON) for a validated legacy project."""
    used: set[str] = set()
    counter = 0
    profiles = set(project.models)

    def unique(base: str) -> str:
        name, n = base, 2
        while name in used:
            suffix = f"-{n}"
            name = f"{base[: 64 - len(suffix)]}{suffix}"
            n += 1
        used.add(name)
        return name

    def node(gen: LegacyGeneration) -> dict[str, Any]:
        nonlocal counter
        counter += 1
        fallback = identifier(f"{gen.type}_{counter}".replace("-", "_"), f"node_{counter}")
        key = identifier(gen.outputKey, fallback) if gen.outputKey else None
        legacy_meta: dict[str, Any] = _extras(gen)
        if gen.outputKey and key != gen.outputKey:
            legacy_meta["outputKey"] = gen.outputKey
        base = identifier(gen.id, fallback) if gen.id else key or fallback
        if gen.id and base != gen.id:
            legacy_meta["id"] = gen.id
        out: dict[str, Any] = {"id": unique(base), "type": gen.type}
        if key:
            out["output_key"] = key
        if gen.title:
            out["title"] = gen.title
        if gen.enabled is False or gen.disabled is True:
            out["enabled"] = False
        if gen.requiredInputs:
            out["required_inputs"] = list(gen.requiredInputs)
        out["config"] = _config(gen, legacy_meta, profiles)
        if legacy_meta:
            out["meta"] = {"legacy": legacy_meta}
        out["children"] = [node(child) for child in gen.generations]
        return out

    tree: dict[str, Any] = {"format": "genarun/1", "nodes": []}
    if project.name:
        tree["name"] = project.name
    if project.description:
        tree["description"] = project.description
    models = {name: _profile(name, spec) for name, spec in project.models.items()}
    if models:
        tree["models"] = models
    if project.inputs:
        tree["inputs"] = {k: _input_spec(v) for k, v in project.inputs.items()}
    extras = _extras(project)
    if extras:
        tree["meta"] = {"legacy": extras}
    tree["nodes"] = [node(g) for g in project.generations]
    return tree


def _config(
    gen: LegacyGeneration, legacy_meta: dict[str, Any], profiles: set[str]
) -> dict[str, Any]:
    src = gen.config
    config: dict[str, Any] = {}
    turns = src.prompt or []
    if turns:
        config["prompt"] = [_turn(t) for t in turns]
    turn_extras = [_extras(t) for t in turns]
    if any(turn_extras):
        legacy_meta["prompt"] = turn_extras
    default_profile = "image" if gen.type == "image" else "text"
    params = _extras(src)
    model = src.model
    if isinstance(model, dict):
        settings = dict(model)
        name = settings.pop("name", None) or settings.pop("model", None)
        if name in profiles or name in _DEFAULT_PROFILES:
            if name != default_profile:
                config["profile"] = name
        elif name:
            config["model"] = name
        params = {**settings, **params}
    elif isinstance(model, str) and model:
        if model in profiles:
            if model != default_profile:
                config["profile"] = model
        else:
            config["model"] = model
    if gen.type == "image":
        for key in _IMAGE_KEYS:
            if key in params:
                config[key] = params.pop(key)
    if params:
        config["params"] = params
    if gen.validation is not None and gen.type == "image":
        kept = gen.validation.model_dump(exclude_defaults=True)  # no output rules: keep all
        if kept:
            legacy_meta["validation"] = kept
    elif gen.validation is not None:
        v = gen.validation
        validation: dict[str, Any] = {}
        rest = _extras(v)
        if isinstance(v.required, list):
            if v.required:
                validation["required"] = list(v.required)
        else:
            rest["required"] = v.required
        if v.minLength is not None:
            validation["min_items"] = v.minLength
        if v.maxLength is not None:
            validation["max_items"] = v.maxLength
        if "schema" in rest:
            validation["schema"] = rest.pop("schema")
        if rest:
            legacy_meta["validation"] = rest
        if validation:
            config["validation"] = validation
    return config


def _turn(turn: LegacyTurn) -> dict[str, Any]:
    out: dict[str, Any] = {"template": turn.template}
    if turn.system is not None:
        out["system"] = turn.system
    # The original joined the non-empty parts of prefix + template + suffix with a space
    # (no second space where a part already ends or starts with whitespace).
    prefix, suffix = turn.prefix, turn.suffix
    if prefix and (turn.template or suffix) and not prefix[-1].isspace():
        prefix += " "
    if suffix and turn.template and not suffix[0].isspace():
        suffix = " " + suffix
    if prefix:
        out["prefix"] = prefix
    if suffix:
        out["suffix"] = suffix
    if turn.parseJson:
        out["parse_json"] = True
    return out
