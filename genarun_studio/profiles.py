"""Model profiles of the user: endpoints and default models every tree can use.

A tree names model profiles (``text``, ``image``, ``my-local-llama``) and may define them in
its ``models``; a profile it does not define comes from the user's profiles, then from the
built-in defaults (OpenAI's ``gpt-4o-mini``, ``gpt-image-1``, ``text-embedding-3-small``).
So "use my Ollama for ``text``" is set once, in ``profiles.json`` under the user config
folder (``$GENARUN_CONFIG_DIR``, else platformdirs' ``user_config_dir("genarun")``), with
``genarun profiles set`` or the editor's settings, and not in every tree.

A profile holds a provider, a model, a base URL, parameters and the *name* of a stored key;
never a key. A run records the profiles it used in its tree snapshot (``tree.json``), so a
rerun from history calls the same endpoints even if the user's profiles changed since.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from genarun_studio.core.jsonpath import pydantic_problems
from genarun_studio.core.registry import Registry
from genarun_studio.core.tree import ModelProfile, Tree
from genarun_studio.errors import GenarunError

__all__ = [
    "BUILTIN_PROFILES",
    "ProfilesError",
    "config_dir",
    "load_profiles",
    "missing_keys",
    "profile_names",
    "profiles_path",
    "save_profiles",
    "with_profiles",
]

BUILTIN_PROFILES: dict[str, ModelProfile] = {
    "text": ModelProfile(provider="openai", model="gpt-4o-mini"),
    "image": ModelProfile(provider="openai", model="gpt-image-1"),
    "embed": ModelProfile(provider="openai", model="text-embedding-3-small"),
}
"""What a profile name means when neither the tree nor the user defines it."""

_ADAPTER = TypeAdapter(dict[str, ModelProfile])


class ProfilesError(GenarunError):
    """The user's profiles file cannot be read or written."""


def config_dir() -> Path:
    """``$GENARUN_CONFIG_DIR``, else the user config folder (platformdirs)."""
    env = os.environ.get("GENARUN_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("genarun", appauthor=False))


def profiles_path() -> Path:
    return config_dir() / "profiles.json"


def load_profiles(path: Path | None = None) -> dict[str, ModelProfile]:
    """The user's profiles (none when the file does not exist).

    A damaged file is an error naming the file and the JSON path of each problem: a run
    silently using the built-in profile instead of the user's endpoint could send a prompt
    somewhere the user did not mean it to go.
    """
    path = path or profiles_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ProfilesError(f"{path}: cannot read the model profiles ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfilesError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    profiles = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(profiles, dict):
        raise ProfilesError(f'{path}: expected {{"profiles": {{NAME: PROFILE, ...}}}}')
    try:
        return _ADAPTER.validate_python(profiles)
    except ValidationError as exc:
        where = "; ".join(f"{p}: {m}" for p, m in pydantic_problems(exc, "$.profiles"))
        raise ProfilesError(f"{path}: {where}") from None


def save_profiles(profiles: dict[str, ModelProfile], path: Path | None = None) -> Path:
    """Write the user's profiles atomically (readers see the old file or the new one)."""
    path = path or profiles_path()
    data: dict[str, Any] = {
        "profiles": {
            name: profile.model_dump(mode="json", exclude_defaults=True)
            for name, profile in sorted(profiles.items())
        }
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".profiles.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2)
                fh.write("\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ProfilesError(f"{path}: cannot save the model profiles ({exc.strerror})") from None
    return path


def with_profiles(tree: Tree, profiles: dict[str, ModelProfile]) -> Tree:
    """The tree with the user's profiles added where it defines none of that name."""
    missing = {name: p for name, p in profiles.items() if name not in tree.models}
    if not missing:
        return tree
    return tree.model_copy(update={"models": {**tree.models, **missing}})


def profile_names(tree: Tree, profiles: dict[str, ModelProfile] | None = None) -> list[str]:
    """Every profile name a node of this tree can use, sorted."""
    return sorted(set(tree.models) | set(profiles or {}) | set(BUILTIN_PROFILES))


def _used_profiles(tree: Tree, registry: Registry) -> dict[str, str]:
    """Profile name → the first enabled node (id) that uses it. A node's ``profile`` field
    (with its type's default) counts, and so does an ``api`` node's ``assemble.profile``;
    a config that does not parse is left to validation."""
    used: dict[str, str] = {}
    stack = [n for n in reversed(tree.nodes) if n.enabled]
    while stack:
        node = stack.pop()
        stack.extend(c for c in reversed(node.children) if c.enabled)
        if node.type not in registry:
            continue
        try:
            config = registry.get(node.type).parse_config(node.config)
        except (ValidationError, ValueError, TypeError):
            continue
        for holder in (config, getattr(config, "assemble", None)):
            name = getattr(holder, "profile", None)
            if isinstance(name, str):
                used.setdefault(name, node.id)
    return used


def missing_keys(tree: Tree, registry: Registry) -> list[str]:
    """One sentence per API key the tree's real (non-mock) run needs and cannot find.

    A profile needs a key when it goes to the ``openai`` provider at OpenAI itself: one with
    a ``base_url`` (or with ``OPENAI_BASE_URL`` set) is a server of the user's own, often a
    local one that wants no key, and gets a placeholder as the provider does. Checked before
    a run starts, so a missing key is not found by the first call of a run folder that then
    fails. Where the machine has no OS keychain, the sentence names the variable only."""
    from genarun_studio import secrets

    if os.environ.get("OPENAI_BASE_URL"):
        return []
    needed: dict[str, tuple[str, str]] = {}  # key name → (profile, node)
    for name, node_id in _used_profiles(tree, registry).items():
        profile = tree.models.get(name) or BUILTIN_PROFILES.get(name)
        if profile is None or profile.provider != "openai" or profile.base_url:
            continue
        key_name = profile.key_name or profile.provider
        try:
            if secrets.get_key(key_name):
                continue
        except GenarunError:
            continue  # an invalid key name is reported by the call itself
        needed.setdefault(key_name, (name, node_id))
    if not needed:
        return []
    keychain = secrets.keychain_available()
    problems = []
    for key_name, (name, node_id) in sorted(needed.items()):
        var = secrets.env_var(key_name)
        where = f"no API key for {key_name!r} (profile {name!r}, node {node_id!r})"
        if keychain:
            problems.append(f"{where}: run `genarun keys set {key_name}` or set {var}")
        else:
            problems.append(
                f"{where}: this machine has no OS keychain, so set the environment "
                f"variable {var} (e.g. `export {var}=...` in your shell)"
            )
    return problems
