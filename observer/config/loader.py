"""Load ``observer.yaml``: ``${ENV}`` interpolation, ``OBSERVER_…`` overrides, pydantic validation.

Every problem is reported with the key, the file and the line it came from, e.g.
``observer.yaml:7: api.prot: unknown key``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from observer.config.settings import Settings

ENV_PREFIX = "OBSERVER_"
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Path_ = tuple[str | int, ...]
_SCALARS = yaml.SafeLoader("")


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` holds one located message per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class _Origins:
    """Where each key of the configuration came from, for error messages."""

    source: str
    lines: dict[Path_, int] = field(default_factory=dict)
    env_keys: dict[Path_, str] = field(default_factory=dict)

    def locate(self, path: Path_) -> str:
        for depth in range(len(path), -1, -1):
            prefix = path[:depth]
            if prefix in self.env_keys:
                return f"environment variable {self.env_keys[prefix]}"
            if prefix in self.lines:
                return f"{self.source}:{self.lines[prefix]}"
        return self.source


@dataclass
class LoadedConfig:
    settings: Settings
    source: str
    secrets: list[str]


def dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(root)"


def default_config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """``--config``, else ``$OBSERVER_CONFIG``, else ``./observer.yaml`` when it exists."""
    if explicit:
        return Path(explicit)
    if os.environ.get("OBSERVER_CONFIG"):
        return Path(os.environ["OBSERVER_CONFIG"])
    candidate = Path("observer.yaml")
    return candidate if candidate.exists() else None


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    use_default_path: bool = True,
) -> LoadedConfig:
    """Read, interpolate, override and validate; raise :class:`ConfigError` with located problems."""
    env = os.environ if environ is None else environ
    config_path = default_config_path(path) if use_default_path else (Path(path) if path else None)
    problems: list[str] = []
    secrets: list[str] = []
    if config_path is None:
        origins = _Origins(source="(defaults)")
        data: Any = {}
    else:
        origins = _Origins(source=str(config_path))
        try:
            text = config_path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError([f"{config_path}: cannot read the configuration: {error.strerror}"]) from None
        data = _parse_yaml(text, origins, env, problems, secrets)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{origins.source}:1: the configuration must be a mapping of sections"])
    _apply_env_overrides(data, env, origins, problems)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        reported = {problem.split(": ", 2)[1] for problem in problems if problem.count(": ") >= 2}
        problems += [
            problem
            for problem in _describe(error, origins)
            if not any(key.startswith(problem.split(": ", 2)[1]) for key in reported)
        ]
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(settings=settings, source=origins.source, secrets=secrets)


def _parse_yaml(
    text: str, origins: _Origins, env: Mapping[str, str], problems: list[str], secrets: list[str]
) -> Any:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{origins.source}:{mark.line + 1}" if mark is not None else origins.source
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError([f"{where}: invalid YAML: {reason}"]) from None
    if node is None:
        return None
    return _to_python(node, (), origins, env, problems, secrets)


def _to_python(
    node: yaml.Node,
    path: Path_,
    origins: _Origins,
    env: Mapping[str, str],
    problems: list[str],
    secrets: list[str],
) -> Any:
    origins.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in result:
                problems.append(
                    f"{origins.source}:{key_node.start_mark.line + 1}: {dotted((*path, key))}: duplicate key"
                )
            result[key] = _to_python(value_node, (*path, key), origins, env, problems, secrets)
            origins.lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(item, (*path, index), origins, env, problems, secrets)
            for index, item in enumerate(node.value)
        ]
    assert isinstance(node, yaml.ScalarNode)
    if isinstance(node.value, str) and "${" in node.value:
        return _interpolate(node, path, origins, env, problems, secrets)
    return _SCALARS.construct_object(node)


def _interpolate(
    node: yaml.ScalarNode,
    path: Path_,
    origins: _Origins,
    env: Mapping[str, str],
    problems: list[str],
    secrets: list[str],
) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None or value == "":
            if default is not None:
                return default
            problems.append(
                f"{origins.source}:{node.start_mark.line + 1}: {dotted(path)}: "
                f"environment variable {name} is not set"
            )
            return ""
        secrets.append(value)
        return value

    return _INTERPOLATION.sub(substitute, node.value)


def _apply_env_overrides(
    data: dict[str, Any], env: Mapping[str, str], origins: _Origins, problems: list[str]
) -> None:
    """``OBSERVER_API__PORT=8080`` sets ``api.port``; numeric parts index lists."""
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts: list[str | int] = [
            int(part) if part.isdigit() else part.lower() for part in name[len(ENV_PREFIX) :].split("__")
        ]
        if any(part == "" for part in parts):
            problems.append(f"environment variable {name}: empty key segment")
            continue
        try:
            value = yaml.safe_load(env[name]) if env[name] != "" else ""
        except yaml.YAMLError:
            value = env[name]
        if value is None:
            value = ""
        container: Any = data
        for index, part in enumerate(parts[:-1]):
            following = parts[index + 1]
            container = _child(container, part, list if isinstance(following, int) else dict, name, problems)
            if container is None:
                break
        else:
            if not _set(container, parts[-1], value):
                problems.append(
                    f"environment variable {name}: {dotted(tuple(parts))} is not a valid key path"
                )
        origins.env_keys[tuple(parts)] = name


def _child(container: Any, key: str | int, kind: type, name: str, problems: list[str]) -> Any:
    if isinstance(container, dict) and isinstance(key, str):
        if not isinstance(container.get(key), dict | list):
            container[key] = kind()
        return container[key]
    if isinstance(container, list) and isinstance(key, int):
        while len(container) <= key:
            container.append(kind())
        return container[key]
    problems.append(f"environment variable {name}: cannot set {key!r} inside a {type(container).__name__}")
    return None


def _set(container: Any, key: str | int, value: Any) -> bool:
    if isinstance(container, dict) and isinstance(key, str):
        container[key] = value
        return True
    if isinstance(container, list) and isinstance(key, int):
        while len(container) <= key:
            container.append(None)
        container[key] = value
        return True
    return False


def _describe(error: ValidationError, origins: _Origins) -> list[str]:
    problems = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if not _is_union_tag(part))
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key is missing"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append(f"{origins.locate(loc)}: {dotted(loc)}: {message}")
    return problems


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and (part.startswith("function-") or part in {"str", "int", "float"})
