"""The build manifest: assembled from the writers' reports, checked, then committed atomically.

Shards are written to a staging folder; only when every report is in and the rows read back
from the shards equal the counts reported is the build committed: the new manifest goes into
staging, a journal (`_commit.json`) is renamed into place — the commit point — and the files
move over the old build's. A run killed before the commit point leaves the old build; one
killed after it is finished by `recover_commit`, which the next build and every reader of the
manifest run first. At no instant is neither build complete.
"""

from __future__ import annotations

import json
import platform
import posixpath
from collections import Counter, defaultdict
from importlib import metadata
from typing import Any, Iterator

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from pipeline.config import BuildConfig, ConfigError, join_inside
from pipeline.records import Document
from pipeline.shards import ShardReport, read_documents

MANIFEST_NAME = "manifest.json"
JOURNAL_NAME = "_commit.json"
"""Present only between a commit's commit point and its end (see `commit_build`)."""
FORMAT_VERSION = 1
# Stage order of the funnel before the optional stages.
FIXED_STAGES = ["read", "normalize", "exact_dedup"]
# Folders of a build's output, replaced as a whole by the next commit.
BUILD_FOLDERS = ("documents", "rejected", "tokens", "contamination", "index")


class ManifestError(ConfigError):
    """A file given as a build manifest is not one; the message names it."""


class SilentLossError(RuntimeError):
    """The shards do not hold what the pipeline says it wrote."""


def tool_versions() -> dict[str, str]:
    names = ["crawl2gpt", "apache-beam", "pyarrow", "numpy", "resiliparse"]
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def source_funnel(config: BuildConfig, name: str, counts: dict[str, Counter],
                  reports: list[ShardReport]) -> dict[str, Any]:
    """Per-source counts: read, each stage's removals by reason, kept, shard list."""
    doc_reports = [r for r in reports if r.source == name and r.kind == "documents"]
    rej_reports = [r for r in reports if r.source == name and r.kind == "rejected"]
    removed: dict[str, Counter] = defaultdict(Counter)
    added: Counter = Counter()
    for r in rej_reports:
        removed[r.stage or "unknown"].update(r.reasons)
        added[r.stage or "unknown"] += r.derived
    read = counts["documents_read"][name]
    stages, remaining = [], read
    for stage in [s for s in FIXED_STAGES[1:]] + list(config.stages):
        n = sum(removed[stage].values())
        remaining += added[stage] - n
        stages.append({"stage": stage, "removed": n, "added": added[stage], "kept": remaining,
                       "reasons": dict(sorted(removed[stage].items()))})
    kept = sum(r.rows for r in doc_reports)
    languages: Counter = Counter()
    for r in doc_reports:
        languages.update(r.languages)
    return {
        "role": config.source(name).role,
        "documents_read": read,
        "rejected_input_records": sum(removed["read"].values()),
        "rejected_input_reasons": dict(sorted(removed["read"].items())),
        "skipped_records": dict(sorted(counts["skipped"].get(name, Counter()).items())),
        "stages": stages,
        "documents": kept,
        "text_bytes": sum(r.text_bytes for r in doc_reports),
        "languages": dict(sorted(languages.items())),
        "shards": [r.to_dict() for r in sorted(doc_reports, key=lambda r: r.path)],
    }


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


def assemble_manifest(config: BuildConfig, input_files: list[dict[str, Any]],
                      counts: dict[str, Counter], reports: list[ShardReport]) -> dict[str, Any]:
    sources = {}
    for src in config.sources:
        funnel = source_funnel(config, src.name, counts, reports)
        check_no_loss(funnel, src.name)
        sources[src.name] = funnel
    rejected = [r.to_dict() for r in sorted(reports, key=lambda r: r.path)
                if r.kind == "rejected"]
    return {
        "format_version": FORMAT_VERSION,
        "config": config.to_dict(),
        "config_fingerprint": config.fingerprint(),
        "input_files": input_files,
        "sources": sources,
        "rejected_shards": rejected,
        "totals": {
            "documents": sum(s["documents"] for s in sources.values()),
            "text_bytes": sum(s["text_bytes"] for s in sources.values()),
            "input_bytes": sum(f["bytes"] for f in input_files),
        },
        "tool_versions": tool_versions(),
    }


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
