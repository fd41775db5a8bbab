"""A finished build as the inspection tools see it: its manifest, shard paths and filtered reads.

Everything is read from the build's outputs (`docs/data-format.md`); nothing is recomputed.
Reads name their columns and push equality filters down to Parquet, so looking up one
document does not load every row into Python objects.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


class InspectError(ValueError):
    """The folder is not a finished build, or a shard cannot be read; the message names it."""


@dataclass(frozen=True)
class Build:
    root: str
    manifest: dict[str, Any]

    @classmethod
    def open(cls, build_dir: str) -> Build:
        path = os.path.join(build_dir, "manifest.json")
        if os.path.exists(os.path.join(build_dir, "_commit.json")):
            from pipeline.manifest import recover_commit    # a commit that was interrupted
            recover_commit(build_dir)
        if not os.path.isfile(path):
            raise InspectError(f"{build_dir}: no manifest.json (not a finished build)")
        try:
            with open(path, encoding="utf-8") as f:
                manifest = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InspectError(f"{path}: not a build manifest (truncated or not JSON: {e})"
                               ) from None
        if not isinstance(manifest, dict) or "sources" not in manifest:
            raise InspectError(f"{path}: not a build manifest (no 'sources')")
        return cls(build_dir, manifest)

    def path(self, relative: str) -> str:
        return os.path.join(self.root, relative)

    @property
    def sources(self) -> dict[str, dict[str, Any]]:
        return self.manifest["sources"]

    def stage_names(self, source: str) -> list[str]:
        """The source's stages in funnel order."""
        return [s["stage"] for s in self.sources[source]["stages"]]

    def document_shards(self) -> list[tuple[str, str]]:
        """(source, relative path) of every kept-document shard."""
        return [(name, s["path"]) for name, src in sorted(self.sources.items())
                for s in src["shards"]]

    def rejected_shards(self, stage: str | None = None) -> list[dict[str, Any]]:
        """Manifest entries of the rejected shards (of one stage when given)."""
        return [s for s in self.manifest["rejected_shards"] if stage in (None, s["stage"])]

    def token_shards(self) -> list[tuple[str, str]]:
        """(source, relative path) of every token shard (none when the build has no tokens)."""
        sources = self.manifest.get("tokens", {}).get("sources", {})
        return [(name, s["path"]) for name, src in sorted(sources.items()) for s in src["shards"]]

    def read(self, relative: str, columns: list[str],
             where: tuple[str, str] | None = None) -> pa.Table:
        """Columns of one shard, optionally only rows whose `where[0]` column equals `where[1]`."""
        filters = [(where[0], "==", where[1])] if where else None
        try:
            return pq.read_table(self.path(relative), columns=columns, filters=filters)
        except (OSError, pa.ArrowInvalid) as e:
            raise InspectError(f"{self.path(relative)}: cannot read shard ({e})") from e

    def read_containing(self, relative: str, columns: list[str], column: str,
                        needle: str) -> pa.Table:
        """Rows of one shard whose string `column` contains `needle`."""
        table = self.read(relative, list(dict.fromkeys(columns + [column])))
        return table.filter(pc.match_substring(table[column], needle)).select(columns)


def detail_of(row: dict[str, Any]) -> dict[str, Any]:
    """The parsed `detail` JSON of a rejected row."""
    return json.loads(row.get("detail") or "{}")
