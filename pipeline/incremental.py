"""Builds on top of earlier builds: their index, dedup against it, and composed manifests.

Every build writes an index next to its shards (`index/exact/`: the exact-dedup key of each
exact-dedup survivor; `index/bands/`: the MinHash band hashes of each fuzzy-dedup survivor,
when the build runs `fuzzy_dedup`). A build given `--against PREVIOUS` reads that index instead
of the previous build's documents: its own documents with a key or a verified band match in the
index are removed (`exact_dedup_previous_build`, `fuzzy_dedup_previous_build`, naming the
previous document), the previous build's documents are never re-scored, and the new manifest's
`composition` section lists the previous builds so that the trainer reads them all as one
corpus (docs/incremental.md).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from dedup.config import FuzzyDedupConfig
from pipeline.config import BuildConfig
from pipeline.manifest import MANIFEST_NAME, load_manifest
from pipeline.records import Document
from pipeline.shards import SCHEMAS, ShardReport, read_documents

INDEX_KINDS = {"exact": "index_exact", "bands": "index_bands"}
# The MinHash settings a band hash depends on: two builds' band indexes meet only if equal.
BAND_KEYS = ("ngram", "num_perm", "seed", "hash", "bands", "rows")


class PreviousBuildError(ValueError):
    """A previous build cannot be deduplicated against (no index, other settings)."""


@dataclass(frozen=True)
class PreviousBuild:
    manifest_path: str
    manifest: dict[str, Any]

    @property
    def root(self) -> str:
        return posixpath.dirname(self.manifest_path)

    @property
    def num_buckets(self) -> int:
        return int(self.manifest["config"]["shards"]["num_buckets"])

    def index_files(self, kind: str) -> list[str]:
        return [posixpath.join(self.root, f["path"])
                for f in self.manifest.get("index", {}).get(kind, [])]

    def document_files(self, source: str, bucket: int) -> list[str]:
        """The document shards of one bucket of one source (where a document id lives)."""
        prefix = f"b{bucket:04d}-"
        shards = self.manifest["sources"].get(source, {}).get("shards", [])
        return [posixpath.join(self.root, s["path"]) for s in shards
                if posixpath.basename(s["path"]).startswith(prefix)]


def manifest_path_of(path: str) -> str:
    """A build folder or its manifest → the manifest's path."""
    return path if path.endswith(".json") else posixpath.join(path, MANIFEST_NAME)


def load_previous_builds(paths: list[str]) -> list[PreviousBuild]:
    """The builds named and, recursively, the builds they were composed of; each once."""
    found: dict[str, PreviousBuild] = {}

    def visit(path: str) -> None:
        path = os.path.normpath(manifest_path_of(path)) if "://" not in path \
            else manifest_path_of(path)
        if path in found:
            return
        if not FileSystems.exists(path):
            raise PreviousBuildError(f"--against {path}: no build manifest there")
        found[path] = PreviousBuild(path, load_manifest(path))
        for entry in found[path].manifest.get("composition", {}).get("builds", []):
            visit(posixpath.join(posixpath.dirname(path), entry["manifest"]))

    for p in paths:
        visit(p)
    return list(found.values())


def band_params(config: FuzzyDedupConfig) -> dict[str, Any]:
    bands, rows = config.lsh_params()
    return {**{k: getattr(config, k) for k in BAND_KEYS[:4]}, "bands": bands, "rows": rows}


def check_against(previous: list[PreviousBuild], config: BuildConfig) -> None:
    """Refuse previous builds whose index cannot meet this build's, naming why."""
    for prev in previous:
        index = prev.manifest.get("index")
        if index is None:
            raise PreviousBuildError(f"{prev.manifest_path}: the build has no index (built "
                                     f"before indexes existed); rebuild it to add to it")
        if config.exact_dedup.enabled and index["exact_scope"] != config.exact_dedup.scope:
            raise PreviousBuildError(
                f"{prev.manifest_path}: exact_dedup.scope {index['exact_scope']!r} there, "
                f"{config.exact_dedup.scope!r} here")
        if "fuzzy_dedup" not in config.stages:
            continue
        if index.get("band_params") is None:
            raise PreviousBuildError(f"{prev.manifest_path}: the build ran no fuzzy_dedup, so "
                                     f"it has no band index to deduplicate against")
        ours = band_params(config.stage_config("fuzzy_dedup"))
        changed = [f"fuzzy_dedup.{k}: {index['band_params'][k]!r} there, {ours[k]!r} here"
                   for k in BAND_KEYS if index["band_params"][k] != ours[k]]
        if changed:
            raise PreviousBuildError(f"{prev.manifest_path}: band hashes are not comparable; "
                                     + "; ".join(changed))


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


def index_section(config: BuildConfig, reports: list[ShardReport]) -> dict[str, Any]:
    """The manifest's `index` section: the index files and what their keys depend on."""
    files = {name: [r.to_dict() for r in sorted(reports, key=lambda r: r.path)
                    if r.kind == kind] for name, kind in INDEX_KINDS.items()}
    fuzzy = (band_params(config.stage_config("fuzzy_dedup"))
             if "fuzzy_dedup" in config.stages else None)
    return {**files, "exact_scope": config.exact_dedup.scope, "band_params": fuzzy}


def relative_to(root: str, path: str) -> str:
    """`path` relative to folder `root` when both are local, else `path` unchanged."""
    if "://" in root or "://" in path:
        return path
    return os.path.relpath(os.path.abspath(path), os.path.abspath(root))


def sha256_of(path: str) -> str:
    with FileSystems.open(path) as f:
        return hashlib.sha256(f.read()).hexdigest()


def composition_section(output_dir: str, previous: list[PreviousBuild],
                        manifest: dict[str, Any]) -> dict[str, Any]:
    """The previous builds and, per source, every document shard of the composed corpus."""
    sources: dict[str, dict[str, Any]] = defaultdict(lambda: {"documents": 0, "shards": []})
    for prev in previous:
        for name, src in prev.manifest["sources"].items():
            sources[name]["documents"] += src["documents"]
            sources[name]["shards"] += [
                relative_to(output_dir, posixpath.join(prev.root, s["path"]))
                for s in src["shards"]]
    for name, src in manifest["sources"].items():
        sources[name]["documents"] += src["documents"]
        sources[name]["shards"] += [s["path"] for s in src["shards"]]
    builds = [{"manifest": relative_to(output_dir, p.manifest_path),
               "sha256": sha256_of(p.manifest_path),
               "config_fingerprint": p.manifest["config_fingerprint"]} for p in previous]
    return {"builds": builds, "sources": dict(sorted(sources.items())),
            "documents": sum(s["documents"] for s in sources.values())}


def previous_token_reports(output_dir: str, previous: list[PreviousBuild],
                           tokenizer: dict[str, Any]) -> list[ShardReport]:
    """The previous builds' token shards as reports with paths relative to `output_dir`, each
    file once (a composed build lists its own previous builds' shards too); refuses a previous
    build tokenised otherwise."""
    reports: dict[str, ShardReport] = {}
    for prev in previous:
        tokens = prev.manifest.get("tokens")
        theirs = {k: v for k, v in (tokens or {}).get("tokenizer", {}).items() if k != "path"}
        ours = {k: v for k, v in tokenizer.items() if k != "path"}
        if theirs != ours:
            raise PreviousBuildError(f"{prev.manifest_path}: token shards missing or made with "
                                     f"another tokenizer ({theirs or 'none'}); cannot compose")
        for name, src in tokens["sources"].items():
            for s in src["shards"]:
                path = relative_to(output_dir, posixpath.join(prev.root, s["path"]))
                reports[posixpath.normpath(path)] = ShardReport(
                    path=path, kind="tokens", source=name, rows=s["rows"], text_bytes=0,
                    file_bytes=s["bytes"], sha256=s["sha256"], tokens=s["tokens"])
    return list(reports.values())


def previous_kept(previous: list[PreviousBuild]) -> dict[str, int]:
    kept: dict[str, int] = defaultdict(int)
    for prev in previous:
        for name, src in prev.manifest["sources"].items():
            kept[name] += src["documents"]
    return dict(kept)
