"""Build configuration as data: typed dataclasses loaded from one TOML file plus dotted overrides.

`load_build_config("build.toml", ["shards.num_buckets=8"])` returns a validated `BuildConfig`;
`BuildConfig.to_dict()` is what every output records. Errors name the field and the file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

ROLES = ("raw", "reference")


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
        for i, s in enumerate(self.sources):
            if s.role not in ROLES:
                raise ConfigError(f"sources[{i}].role: {s.role!r} is not one of {ROLES}{where}")
            if not s.inputs:
                raise ConfigError(f"sources[{i}].inputs: source {s.name!r} has no inputs{where}")
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
                value = [_build(SourceConfig, v, f"{path}{name}[{i}].", where)
                         for i, v in enumerate(value)]
            else:
                if not isinstance(value, dict):
                    raise ConfigError(f"{path}{name}: expected a table{where}")
                value = _build(sub, value, f"{path}{name}.", where)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"{path.rstrip('.') or 'config'}: {e}{where}") from None


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


def resolve_inputs(data: dict[str, Any], base_dir: str) -> None:
    """Make relative local input globs relative to the config file's folder."""
    for src in data.get("sources", []):
        src["inputs"] = [p if "://" in p or os.path.isabs(p) else _local_relative(base_dir, p)
                         for p in src.get("inputs", [])]


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
        table[key] = ([_resolve(base_dir, v) for v in value] if isinstance(value, list)
                      else _resolve(base_dir, value))


def _local_relative(base_dir: str, pattern: str) -> str:
    path = os.path.normpath(os.path.join(base_dir, pattern))
    # Beam's local glob matches nothing for a bare "name*" without a folder part.
    return path if os.sep in path else os.path.join(".", path)


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
