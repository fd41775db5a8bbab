"""Configuration as data, for every layer: the error type and the TOML/dataclass helpers.

A config is a dataclass filled from a TOML table plus `a.b=value` overrides; errors name the
field and the file. The build's own config (`crawl2gpt.pipeline.config`), each stage's table and
the training run's config are all read with `from_dict`.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
import tomllib
import types
import typing
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
        elif name in known:
            _check_type(value, _field_types(cls).get(name, Any), f"{path}{name}", where)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except ConfigError as e:
        raise ConfigError(str(e) if where in str(e) else f"{e}{where}") from None
    except TypeError as e:
        raise ConfigError(f"{path.rstrip('.') or 'config'}: {e}{where}") from None


def _field_types(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - a hint that does not resolve is not checked
        return {}


_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
               list: "a list", dict: "a table"}


def _type_matches(value: Any, hint: Any) -> bool:
    """Whether a TOML value fits a field's annotation (unknown kinds of annotation do)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or isinstance(hint, typing.TypeVar):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_type_matches(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin is typing.Literal:
        return value in args
    if hint in (int, float) and isinstance(value, bool):
        return False
    if hint is float:
        return isinstance(value, (int, float))
    if hint in _TYPE_NAMES:
        return isinstance(value, hint)
    if origin in (list, tuple):
        element = args[0] if args else Any
        return isinstance(value, (list, tuple)) and all(_type_matches(v, element) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    return True


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if hint is type(None):
        return "nothing"
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (list, tuple):
        return "a list" + (f" of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
                           if args and args[0] in _TYPE_NAMES else "")
    return _TYPE_NAMES.get(origin or hint, str(hint))


def _check_type(value: Any, hint: Any, key: str, where: str) -> None:
    if not _type_matches(value, hint):
        raise ConfigError(f"{key}: expected {_describe(hint)}, got {value!r} "
                          f"({_TYPE_NAMES.get(type(value), type(value).__name__)}){where}")


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
    try:
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value
    except (ValueError, IndexError, AttributeError, TypeError):
        raise ConfigError(f"override {assignment!r}: {key.strip()!r} names no settable "
                          f"config value") from None


def join_inside(root: str, relative: str) -> str:
    """`root/relative`, refusing a relative path (built from config or data) that is absolute,
    empty or climbs out of `root`: a build writes nothing outside its output folder."""
    parts = relative.replace("\\", "/").split("/")
    if not relative or relative.startswith(("/", "\\")) or "://" in relative \
            or re.match(r"[A-Za-z]:", relative) or ".." in parts:
        raise ConfigError(f"path {relative!r} would leave the output folder {root}")
    return posixpath.join(root, relative)
