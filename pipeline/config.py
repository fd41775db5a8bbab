"""Build configuration as data: typed dataclasses loaded from one TOML file plus dotted overrides.

`load_build_config("build.toml", ["shards.num_buckets=8"])` returns a validated `BuildConfig`;
`BuildConfig.to_dict()` is what every output records. Errors name the field and the file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from typing import Any

ROLES = ("raw", "reference")
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""A source name is a plain identifier: it becomes a folder name in every output."""


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the field and file."""


@dataclass
class SourceConfig:
    """One input corpus: a name, a role, input globs and the reader that parses them."""

    name: str
    """Short id used in shard paths and reports, e.g. `commoncrawl`, `wikipedia`."""
    role: str
    """`raw` crawl (filtered, the negatives of the quality classifier) or `reference`."""
    inputs: list[str]
    """Globs through Beam's FileSystems (local, gs://, s3:// alike)."""
    format: str
    """Reader name: warc, arc, wet, jsonl, parquet, text, zip, wikiextractor, wikipedia-xml."""
    options: dict[str, Any] = field(default_factory=dict)
    """Reader options, e.g. `extract = "full"`, `text_field = "text"`, `boundary = "..."`."""


@dataclass
class ReadConfig:
    max_record_bytes: int = 64 * 1024 * 1024
    """Input records larger than this are rejected (`read_record_too_large`), not parsed."""


@dataclass
class NormalizeConfig:
    min_chars: int = 100
    """Documents shorter than this after normalisation are rejected (`normalize_too_short`)."""
    max_chars: int = 50_000_000
    """Documents longer than this are rejected (`normalize_too_long`)."""


@dataclass
class ExactDedupConfig:
    enabled: bool = True
    scope: str = "source"
    """`source`: duplicates within each source; `global`: across all sources."""


@dataclass
class ShardConfig:
    num_buckets: int = 4
    """Rows go to bucket hash(id) % num_buckets: independent of bundling and workers."""
    target_file_bytes: int = 256 * 1024 * 1024
    """A bucket's rows rotate to a new file past this many text bytes."""
    row_group_bytes: int = 32 * 1024 * 1024
    """Text bytes per Parquet row group (streaming readers decode one group at a time)."""
    compression: str = "zstd"


@dataclass
class BuildConfig:
    sources: list[SourceConfig]
    output_dir: str = "out"
    stages: list[str] = field(default_factory=list)
    """Optional stages after exact dedup, in order (paper: quality_filter, fuzzy_dedup, ...)."""
    read: ReadConfig = field(default_factory=ReadConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    exact_dedup: ExactDedupConfig = field(default_factory=ExactDedupConfig)
    shards: ShardConfig = field(default_factory=ShardConfig)
    stage_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Raw `[<stage>]` tables; `stage_config(name)` turns one into the stage's dataclass."""
    config_path: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        where = f" in {self.config_path}" if self.config_path else ""
        if not self.sources:
            raise ConfigError(f"no [[sources]] declared{where}")
        names = [s.name for s in self.sources]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError(f"sources.name: duplicate source names {sorted(dup)}{where}")
        from pipeline.sources import check_source
        for i, s in enumerate(self.sources):
            if not SOURCE_NAME.fullmatch(s.name):
                raise ConfigError(f"sources[{i}].name: {s.name!r} is not a plain identifier "
                                  f"(letters, digits, '_' and '-'; at most 64){where}")
            if s.role not in ROLES:
                raise ConfigError(f"sources[{i}].role: {s.role!r} is not one of {ROLES}{where}")
            if not s.inputs:
                raise ConfigError(f"sources[{i}].inputs: source {s.name!r} has no inputs{where}")
            problem = check_source(s)
            if problem:
                raise ConfigError(f"sources[{i}].{problem}{where}")
        for key, value, minimum in (("read.max_record_bytes", self.read.max_record_bytes, 1),
                                    ("normalize.min_chars", self.normalize.min_chars, 0),
                                    ("normalize.max_chars", self.normalize.max_chars, 1),
                                    ("shards.target_file_bytes", self.shards.target_file_bytes, 1),
                                    ("shards.row_group_bytes", self.shards.row_group_bytes, 1)):
            if value < minimum:
                raise ConfigError(f"{key}: {value} is below the minimum {minimum}{where}")
        if self.exact_dedup.scope not in ("source", "global"):
            raise ConfigError(f"exact_dedup.scope: {self.exact_dedup.scope!r} is not 'source' "
                              f"or 'global'{where}")
        if self.shards.num_buckets < 1:
            raise ConfigError(f"shards.num_buckets must be >= 1{where}")
        from pipeline.stages import STAGES
        for i, name in enumerate(self.stages):
            if name not in STAGES:
                raise ConfigError(f"stages[{i}]: unknown stage {name!r}; known stages: "
                                  f"{sorted(STAGES)}{where}")
        for name in self.stage_options:
            self.stage_config(name)  # validates the table now, not mid-pipeline

    @property
    def tokenize(self) -> Any:
        """The `[tokenize]` settings when the build writes token shards, else None."""
        return self.stage_config("tokenize") if "tokenize" in self.stage_options else None

    def stage_config(self, name: str) -> Any:
        """The typed config of stage `name`, built from its `[name]` table (or defaults)."""
        from pipeline.stages import section_config_class
        cls = section_config_class(name)
        where = f" in {self.config_path}" if self.config_path else ""
        return _build(cls, dict(self.stage_options.get(name, {})), f"{name}.", where)

    def source(self, name: str) -> SourceConfig:
        return next(s for s in self.sources if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("config_path")
        d.pop("stage_options")
        for name in sorted(set(self.stages) | set(self.stage_options)):
            d[name] = dataclasses.asdict(self.stage_config(name))
        return d

    def fingerprint(self) -> str:
        import hashlib
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


def _build(cls: type, data: dict[str, Any], path: str, where: str) -> Any:
    """Construct dataclass `cls` from a dict, naming unknown or mistyped fields."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    if cls is BuildConfig:
        from pipeline.stages import SECTIONS, STAGES
        data = dict(data)
        data["stage_options"] = {k: data.pop(k) for k in list(data)
                                 if k in STAGES or k in SECTIONS}
    unknown = set(data) - set(known)
    if unknown:
        raise ConfigError(f"{path or 'config '}: unknown field(s) {sorted(unknown)}{where}")
    kwargs = {}
    for name, value in data.items():
        sub = _NESTED.get((cls, name))
        if sub is not None:
            if sub is SourceConfig:
                if not isinstance(value, list):
                    raise ConfigError(f"{path}{name}: expected a list of tables{where}")
                if not all(isinstance(v, dict) for v in value):
                    raise ConfigError(f"{path}{name}: expected a list of tables{where}")
                value = [_build(SourceConfig, v, f"{path}{name}[{i}].", where)
                         for i, v in enumerate(value)]
            else:
                if not isinstance(value, dict):
                    raise ConfigError(f"{path}{name}: expected a table{where}")
                value = _build(sub, value, f"{path}{name}.", where)
        elif name in known:
            _check_type(value, _field_types(cls).get(name, Any), f"{path}{name}", where)
        kwargs[name] = value
    try:
        return cls(**kwargs)
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


_NESTED: dict[tuple[type, str], type] = {
    (BuildConfig, "sources"): SourceConfig,
    (BuildConfig, "read"): ReadConfig,
    (BuildConfig, "normalize"): NormalizeConfig,
    (BuildConfig, "exact_dedup"): ExactDedupConfig,
    (BuildConfig, "shards"): ShardConfig,
}


def register_section(name: str, cls: type) -> None:
    """Let a later stage add its own `[name]` table to the build config."""
    _NESTED[(BuildConfig, name)] = cls


def section_from_dict(cls: type, data: dict[str, Any], name: str,
                      overrides: list[str] | None = None) -> Any:
    """A stage's config dataclass from its table (e.g. one recorded in a manifest) + overrides."""
    data = json.loads(json.dumps(data))
    for assignment in overrides or []:
        key, _, value = assignment.partition("=")
        apply_override(data, f"{key.removeprefix(name + '.')}={value}")
    return _build(cls, data, f"{name}.", "")


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


def resolve_inputs(data: dict[str, Any], base_dir: str) -> None:
    """Make relative local input globs relative to the config file's folder (values of the
    wrong type are left for the type check to name)."""
    sources = data.get("sources")
    for src in sources if isinstance(sources, list) else []:
        inputs = src.get("inputs", []) if isinstance(src, dict) else None
        if isinstance(inputs, list) and all(isinstance(p, str) for p in inputs):
            src["inputs"] = [p if "://" in p or os.path.isabs(p) else _local_relative(base_dir, p)
                             for p in inputs]


# Config fields holding local paths, resolved relative to the config file's folder like inputs.
PATH_FIELDS = [("tokenize", "tokenizer"), ("quality_filter", "model_path"),
               ("quality_train", "model_path"),
               ("contamination", "benchmarks"), ("url_blocklist", "urls_file"),
               ("url_blocklist", "domains_file")]


def _resolve(base_dir: str, path: str) -> str:
    if not path or "://" in path or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(base_dir, path))


def resolve_paths(data: dict[str, Any], base_dir: str) -> None:
    """Relative paths in stage tables (PATH_FIELDS) are relative to the config's folder."""
    for section, key in PATH_FIELDS:
        table = data.get(section)
        if not isinstance(table, dict) or key not in table:
            continue
        value = table[key]
        if isinstance(value, str):
            table[key] = _resolve(base_dir, value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            table[key] = [_resolve(base_dir, v) for v in value]


def _local_relative(base_dir: str, pattern: str) -> str:
    path = os.path.normpath(os.path.join(base_dir, pattern))
    # Beam's local glob matches nothing for a bare "name*" without a folder part.
    return path if os.sep in path else os.path.join(".", path)


def join_inside(root: str, relative: str) -> str:
    """`root/relative`, refusing a relative path (built from config or data) that is absolute,
    empty or climbs out of `root`: a build writes nothing outside its output folder."""
    parts = relative.replace("\\", "/").split("/")
    if not relative or relative.startswith(("/", "\\")) or "://" in relative \
            or re.match(r"[A-Za-z]:", relative) or ".." in parts:
        raise ConfigError(f"path {relative!r} would leave the output folder {root}")
    return posixpath.join(root, relative)


def load_build_config(path: str, overrides: list[str] | None = None) -> BuildConfig:
    """Read a TOML build config, apply `key=value` overrides, validate."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    for assignment in overrides or []:
        apply_override(data, assignment)
    base_dir = os.path.relpath(os.path.dirname(os.path.abspath(path)))
    resolve_inputs(data, base_dir)
    resolve_paths(data, base_dir)
    data["config_path"] = path
    return _build(BuildConfig, data, "", f" in {path}")
