"""The build manifest's format: checked against the shards, then committed atomically.

The manifest is the commit point of a build. Shards are written to a staging folder; only when
every report is in and the rows read back from the shards equal the counts reported does the
old manifest go, the shards move into place and the new manifest appear (written to a temp
name, then renamed). A killed run therefore never leaves a manifest pointing at partial shards.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from crawl2gpt.core.records import Document
from crawl2gpt.core.shards import INDEX_KINDS, SCHEMAS, ShardReport, read_documents

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1
# Folders of a build's output, replaced as a whole by the next commit.
BUILD_FOLDERS = ("documents", "rejected", "tokens", "contamination", "index")


class SilentLossError(RuntimeError):
    """The shards do not hold what the pipeline says it wrote."""


def check_no_loss(funnel: dict[str, Any], name: str) -> None:
    """Every document read or derived (pieces) is either in a shard or in a rejected row."""
    removed = sum(s["removed"] for s in funnel["stages"])
    added = sum(s.get("added", 0) for s in funnel["stages"])
    if funnel["documents_read"] + added != funnel["documents"] + removed:
        raise SilentLossError(
            f"source {name!r}: {funnel['documents_read']} documents read + {added} derived "
            f"but {funnel['documents']} kept + {removed} rejected")


def verify_reports(root: str, reports: list[ShardReport]) -> None:
    """Read each shard's row count back from the file and compare with its report."""
    for r in reports:
        path = posixpath.join(root, r.path)
        with FileSystems.open(path) as f:
            rows = pq.ParquetFile(f).metadata.num_rows
        if rows != r.rows:
            raise SilentLossError(f"{path}: report says {r.rows} rows, file holds {rows}")


def _remove_if_exists(path: str) -> None:
    if FileSystems.exists(path):
        FileSystems.delete([path])


def _ensure_dir(path: str) -> None:
    if not FileSystems.exists(path):
        FileSystems.mkdirs(path)


def commit_build(output_dir: str, staging_dir: str, manifest: dict[str, Any],
                 reports: list[ShardReport], extra_files: list[str] = ()) -> str:
    """Replace the previous build by the staged one; the manifest is written last.

    `extra_files` are further staged files (relative paths) that belong to the build.
    """
    manifest_path = posixpath.join(output_dir, MANIFEST_NAME)
    _remove_if_exists(manifest_path)
    for subdir in BUILD_FOLDERS:
        _remove_if_exists(posixpath.join(output_dir, subdir))
    for relative in [r.path for r in reports] + list(extra_files):
        target = posixpath.join(output_dir, relative)
        _ensure_dir(posixpath.dirname(target))
        FileSystems.rename([posixpath.join(staging_dir, relative)], [target])
    tmp_path = manifest_path + ".tmp"
    with FileSystems.create(tmp_path) as f:
        f.write(json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
    FileSystems.rename([tmp_path], [manifest_path])
    _remove_if_exists(staging_dir)
    return manifest_path


def load_manifest(path: str) -> dict[str, Any]:
    with FileSystems.open(path) as f:
        return json.loads(f.read())


class BuildError(ValueError):
    """A folder is not a finished build, or one of its shards cannot be read; names the file."""


def manifest_path_of(path: str) -> str:
    """A build folder or its manifest → the manifest's path."""
    return path if path.endswith(".json") else posixpath.join(path, MANIFEST_NAME)


@dataclass(frozen=True)
class OpenedBuild:
    """A finished build: its manifest and where its shards are, read from its outputs only."""

    manifest_path: str
    manifest: dict[str, Any]

    @classmethod
    def open(cls, path: str) -> OpenedBuild:
        """The build in folder `path` (or whose manifest is `path`)."""
        manifest_path = manifest_path_of(path)
        if not FileSystems.exists(manifest_path):
            raise BuildError(f"{path}: no {MANIFEST_NAME} (not a finished build)")
        try:
            return cls(manifest_path, load_manifest(manifest_path))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise BuildError(f"{manifest_path}: not a build manifest ({e})") from None

    @property
    def root(self) -> str:
        return posixpath.dirname(self.manifest_path)

    def path(self, relative: str) -> str:
        return posixpath.join(self.root, relative)

    @property
    def sources(self) -> dict[str, dict[str, Any]]:
        return self.manifest["sources"]

    @property
    def num_buckets(self) -> int:
        return int(self.manifest["config"]["shards"]["num_buckets"])

    def stage_names(self, source: str) -> list[str]:
        """The source's stages in funnel order."""
        return [s["stage"] for s in self.sources[source]["stages"]]

    def document_shards(self) -> list[tuple[str, str]]:
        """(source, relative path) of every kept-document shard."""
        return [(name, s["path"]) for name, src in sorted(self.sources.items())
                for s in src["shards"]]

    def document_files(self, source: str, bucket: int) -> list[str]:
        """The document shards of one bucket of one source (where a document id lives)."""
        prefix = f"b{bucket:04d}-"
        shards = self.sources.get(source, {}).get("shards", [])
        return [self.path(s["path"]) for s in shards
                if posixpath.basename(s["path"]).startswith(prefix)]

    def rejected_shards(self, stage: str | None = None) -> list[dict[str, Any]]:
        """Manifest entries of the rejected shards (of one stage when given)."""
        return [s for s in self.manifest["rejected_shards"] if stage in (None, s["stage"])]

    def token_shards(self) -> list[tuple[str, str]]:
        """(source, relative path) of every token shard (none when the build has no tokens)."""
        sources = self.manifest.get("tokens", {}).get("sources", {})
        return [(name, s["path"]) for name, src in sorted(sources.items()) for s in src["shards"]]

    def index_files(self, kind: str) -> list[str]:
        return [self.path(f["path"]) for f in self.manifest.get("index", {}).get(kind, [])]

    def read(self, relative: str, columns: list[str],
             where: tuple[str, str] | None = None) -> pa.Table:
        """Columns of one shard, optionally only rows whose `where[0]` column equals `where[1]`
        (pushed down to Parquet, so one document's lookup does not load every row)."""
        filters = [(where[0], "==", where[1])] if where else None
        try:
            with FileSystems.open(self.path(relative)) as f:
                return pq.read_table(f, columns=columns, filters=filters)
        except (OSError, pa.ArrowInvalid) as e:
            raise BuildError(f"{self.path(relative)}: cannot read shard ({e})") from e

    def read_containing(self, relative: str, columns: list[str], column: str,
                        needle: str) -> pa.Table:
        """Rows of one shard whose string `column` contains `needle`."""
        table = self.read(relative, list(dict.fromkeys(columns + [column])))
        return table.filter(pc.match_substring(table[column], needle)).select(columns)


def iter_build_documents(manifest_path: str, sources: list[str] | None = None
                         ) -> Iterator[Document]:
    """A build's kept documents, source by source (all, or `sources`), shard by shard."""
    manifest = load_manifest(manifest_path)
    names = sources or sorted(manifest["sources"])
    unknown = sorted(set(names) - set(manifest["sources"]))
    if unknown:
        raise ValueError(f"{manifest_path}: no source(s) {unknown}; "
                         f"sources: {sorted(manifest['sources'])}")
    root = posixpath.dirname(manifest_path)
    for name in names:
        for shard in manifest["sources"][name]["shards"]:
            yield from read_documents(posixpath.join(root, shard["path"]))


def read_index_rows(item: tuple[int, str, str]) -> Iterator[dict[str, Any]]:
    """(previous build number, index kind, index file) → its rows, each with `build` set."""
    build, kind, path = item
    with FileSystems.open(path) as f:
        table = pq.read_table(f, schema=SCHEMAS[INDEX_KINDS[kind]])
    for row in table.to_pylist():
        yield {**row, "build": build}


def read_documents_by_id(paths: list[str], ids: set[str]) -> list[Document]:
    """The documents of some shard files whose id is in `ids`."""
    return [d for path in paths for d in read_documents(path) if d.id in ids]
