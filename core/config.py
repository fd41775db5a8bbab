"""Configuration as data, for every layer: the error type and the TOML/dataclass helpers.

A config is a dataclass filled from a TOML table plus `a.b=value` overrides; errors name the
field and the file. The build's own config (`crawl2gpt.pipeline.config`), each stage's table and
the training run's config are all read with `from_dict`.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from typing import Any, Protocol

ROLES = ("raw", "reference")


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the field and file."""


class SourceView(Protocol):
    name: str
    role: str


class BuildView(Protocol):
    """What a stage may read of the whole build's config: its sources and the stage order.

    The build's `BuildConfig` is one; stages take it as their second argument.
    """

    sources: list[SourceView]
    stages: list[str]


def from_dict(cls: type, data: dict[str, Any], path: str = "", where: str = "",
              nested: dict[str, type] | None = None) -> Any:
    """Construct dataclass `cls` from a dict, naming unknown or mistyped fields.

    `nested` maps field names to the dataclass of their table (a list of tables when the value
    is a list); `path` prefixes field names in messages, `where` names the file.
    """
    nested = nested or {}
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{path.rstrip('.') or 'config'}: unknown field(s) "
                          f"{sorted(unknown)}{where}")
    kwargs = {}
    for name, value in data.items():
        sub = nested.get(name)
        if sub is not None and isinstance(value, list):
            value = [_table(sub, v, f"{path}{name}[{i}].", where) for i, v in enumerate(value)]
        elif sub is not None:
            value = _table(sub, value, f"{path}{name}.", where)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except ConfigError as e:
        raise ConfigError(str(e) if where in str(e) else f"{e}{where}") from None
    except TypeError as e:
        raise ConfigError(f"{path.rstrip('.') or 'config'}: {e}{where}") from None


def _table(cls: type, value: Any, path: str, where: str) -> Any:
    if not isinstance(value, dict):
        raise ConfigError(f"{path.rstrip('.')}: expected a table{where}")
    return from_dict(cls, value, path, where)


def section_from_dict(cls: type, data: dict[str, Any], name: str,
                      overrides: list[str] | None = None) -> Any:
    """A stage's config dataclass from its table (e.g. one recorded in a manifest) + overrides."""
    data = json.loads(json.dumps(data))
    for assignment in overrides or []:
        key, _, value = assignment.partition("=")
        apply_override(data, f"{key.removeprefix(name + '.')}={value}")
    return from_dict(cls, data, f"{name}.")


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one `a.b.c=value` override; the value is parsed as TOML, else taken as a string."""
    if "=" not in assignment:
        raise ConfigError(f"override {assignment!r} is not of the form key.path=value")
    key, raw = assignment.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node.setdefault(part, {})
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
