"""The build's configuration: typed dataclasses loaded from one TOML file plus dotted overrides.

`load_build_config("build.toml", ["shards.num_buckets=8"])` returns a validated `BuildConfig`;
`BuildConfig.to_dict()` is what every output records. Each stage's `[<name>]` table is typed by
the stage's own dataclass, found through the stage registry (`crawl2gpt.pipeline.stages`).
Errors name the field and the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from crawl2gpt.core.config import ROLES, ConfigError, apply_override, from_dict
from crawl2gpt.core.shards import ShardConfig
from crawl2gpt.pipeline.stages import STAGES, config_sections, section_config_class


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
        where = f" in {self.config_path}" if self.config_path else ""
        return from_dict(section_config_class(name), dict(self.stage_options.get(name, {})),
                         f"{name}.", where)

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
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


NESTED = {"sources": SourceConfig, "read": ReadConfig, "normalize": NormalizeConfig,
          "exact_dedup": ExactDedupConfig, "shards": ShardConfig}


def build_config_from_dict(data: dict[str, Any], where: str = "") -> BuildConfig:
    """A `BuildConfig` from a parsed TOML document; stage tables go to `stage_options`."""
    data = dict(data)
    if not isinstance(data.get("sources", []), list):
        raise ConfigError(f"sources: expected a list of tables ([[sources]]){where}")
    sections = config_sections()
    data["stage_options"] = {k: data.pop(k) for k in list(data) if k in sections}
    return from_dict(BuildConfig, data, "", where, NESTED)


def resolve_inputs(data: dict[str, Any], base_dir: str) -> None:
    """Make relative local input globs relative to the config file's folder."""
    for src in data.get("sources", []):
        src["inputs"] = [p if "://" in p or os.path.isabs(p) else _local_relative(base_dir, p)
                         for p in src.get("inputs", [])]


def _resolve(base_dir: str, path: str) -> str:
    if not path or "://" in path or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(base_dir, path))


def resolve_paths(data: dict[str, Any], base_dir: str) -> None:
    """Local paths in stage tables (each config class's `PATH_FIELDS`) are relative to the
    config file's folder, like inputs."""
    for section in config_sections():
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        for key in getattr(section_config_class(section), "PATH_FIELDS", ()):
            if key in table:
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
    return build_config_from_dict(data, f" in {path}")
