"""The build manifest's format: checked against the shards, then committed atomically.

Shards are written to a staging folder; only when every report is in and the rows read back
from the shards equal the counts reported is the build committed: the new manifest goes into
staging, a journal (`_commit.json`) is renamed into place — the commit point — and the files
move over the old build's. A run killed before the commit point leaves the old build; one
killed after it is finished by `recover_commit`, which the next build and every reader of the
manifest run first. At no instant is neither build complete.
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

from crawl2gpt.core.config import ConfigError, join_inside
from crawl2gpt.core.records import Document
from crawl2gpt.core.shards import INDEX_KINDS, SCHEMAS, ShardReport, read_documents

MANIFEST_NAME = "manifest.json"
JOURNAL_NAME = "_commit.json"
"""Present only between a commit's commit point and its end (see `commit_build`)."""
FORMAT_VERSION = 1
# Folders of a build's output, replaced as a whole by the next commit.
BUILD_FOLDERS = ("documents", "rejected", "tokens", "contamination", "index")


class ManifestError(ConfigError):
    """A file given as a build manifest is not one; the message names it."""


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
    """Replace the previous build by the staged one, crash-safely.

    The new manifest is written into the staging folder, then a journal naming that folder
    and the build's files is renamed into place: the commit point. Before it, the old build
    is untouched; after it, `recover_commit` (run by the next build and by readers) finishes
    the move. At every instant either the old or the new build is complete on disk.
    `extra_files` are further staged files (relative paths) that belong to the build.
    """
    _write_json(posixpath.join(staging_dir, MANIFEST_NAME), manifest)
    files = [r.path for r in reports] + list(extra_files)
    for relative in files:
        join_inside(output_dir, relative)    # refuse before the commit point, not after
    _write_json(posixpath.join(output_dir, JOURNAL_NAME),
                {"staging": posixpath.basename(staging_dir), "files": files})
    recover_commit(output_dir)
    return posixpath.join(output_dir, MANIFEST_NAME)


def recover_commit(output_dir: str) -> None:
    """Finish a commit whose journal is in `output_dir` (idempotent; a no-op without one)."""
    journal_path = posixpath.join(output_dir, JOURNAL_NAME)
    if not FileSystems.exists(journal_path):
        return
    with FileSystems.open(journal_path) as f:
        journal = json.loads(f.read())
    staging_dir = posixpath.join(output_dir, journal["staging"])
    staged_manifest = posixpath.join(staging_dir, MANIFEST_NAME)
    new_files = set(journal["files"])
    if FileSystems.exists(staged_manifest):   # else the new manifest is already in place
        _remove_if_exists(posixpath.join(output_dir, MANIFEST_NAME))
        _remove_old_files(output_dir, new_files)
        for relative in sorted(new_files):
            source, target = posixpath.join(staging_dir, relative), join_inside(output_dir,
                                                                                relative)
            if FileSystems.exists(source):
                _remove_if_exists(target)
                _ensure_dir(posixpath.dirname(target))
                FileSystems.rename([source], [target])
        FileSystems.rename([staged_manifest], [posixpath.join(output_dir, MANIFEST_NAME)])
    _remove_if_exists(staging_dir)
    FileSystems.delete([journal_path])


def _remove_old_files(output_dir: str, keep: set[str]) -> None:
    """Delete every file of the build folders that the new build does not name."""
    for subdir in BUILD_FOLDERS:
        pattern = posixpath.join(output_dir, subdir, "**")
        old = [m.path for m in FileSystems.match([pattern])[0].metadata_list
               if posixpath.relpath(m.path, output_dir) not in keep]
        if old:
            FileSystems.delete(old)


def _write_json(path: str, value: Any) -> None:
    """Write to a temporary name, then rename into place."""
    tmp_path = path + ".tmp"
    with FileSystems.create(tmp_path) as f:
        f.write(json.dumps(value, indent=2, sort_keys=True).encode() + b"\n")
    FileSystems.rename([tmp_path], [path])


def load_manifest(path: str) -> dict[str, Any]:
    """A build's manifest (an interrupted commit is finished first); a file that is not one
    (truncated, not JSON) is a ManifestError."""
    recover_commit(posixpath.dirname(path))
    return read_manifest(path)


def read_manifest(path: str) -> dict[str, Any]:
    """`load_manifest` for a folder whose interrupted commit was already finished."""
    try:
        with FileSystems.open(path) as f:
            manifest = json.loads(f.read())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"{path}: not a build manifest (truncated or not JSON: {e})") from None
    except OSError as e:
        raise ManifestError(f"{path}: cannot read the manifest: {e}") from None
    if not isinstance(manifest, dict) or not {"config", "sources"} <= set(manifest):
        raise ManifestError(f"{path}: not a build manifest (no 'config' and 'sources')")
    return manifest


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
        recover_commit(posixpath.dirname(manifest_path))    # a commit that was interrupted
        if not FileSystems.exists(manifest_path):
            raise BuildError(f"{path}: no {MANIFEST_NAME} (not a finished build)")
        try:
            return cls(manifest_path, read_manifest(manifest_path))
        except ManifestError as e:
            raise BuildError(str(e)) from None

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
