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
from typing import Any

from apache_beam.io.filesystems import FileSystems

from crawl2gpt.core.manifest import BuildError, OpenedBuild, manifest_path_of
from crawl2gpt.core.shards import INDEX_KINDS, ShardReport
from crawl2gpt.pipeline.config import BuildConfig
from crawl2gpt.pipeline.stages import load_object, stage_spec


class PreviousBuildError(ValueError):
    """A previous build cannot be deduplicated against (no index, other settings)."""


def load_previous_builds(paths: list[str]) -> list[OpenedBuild]:
    """The builds named and, recursively, the builds they were composed of; each once."""
    found: dict[str, OpenedBuild] = {}

    def visit(path: str) -> None:
        path = os.path.normpath(manifest_path_of(path)) if "://" not in path \
            else manifest_path_of(path)
        if path in found:
            return
        try:
            found[path] = OpenedBuild.open(path)
        except BuildError as e:
            raise PreviousBuildError(f"--against {e}") from None
        for entry in found[path].manifest.get("composition", {}).get("builds", []):
            visit(posixpath.join(posixpath.dirname(path), entry["manifest"]))

    for p in paths:
        visit(p)
    return list(found.values())


def check_against(previous: list[OpenedBuild], config: BuildConfig) -> None:
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
        for name, against in stages_against_previous(config):
            problems = against.previous_problems(index, config.stage_config(name))
            if problems:
                raise PreviousBuildError(f"{prev.manifest_path}: " + "; ".join(problems))


def stages_against_previous(config: BuildConfig) -> list[tuple[str, Any]]:
    """(name, composite class) of the configured stages that compare against previous builds
    (the registry's `against_previous`)."""
    return [(name, load_object(stage_spec(name).against_previous)) for name in config.stages
            if stage_spec(name).against_previous]


def index_section(config: BuildConfig, reports: list[ShardReport]) -> dict[str, Any]:
    """The manifest's `index` section: the index files and what their keys depend on."""
    files = {name: [r.to_dict() for r in sorted(reports, key=lambda r: r.path)
                    if r.kind == kind] for name, kind in INDEX_KINDS.items()}
    params = {against.INDEX_KEY: against.index_params(config.stage_config(name))
              for name, against in stages_against_previous(config)}
    return {**files, "exact_scope": config.exact_dedup.scope, **params}


def relative_to(root: str, path: str) -> str:
    """`path` relative to folder `root` when both are local, else `path` unchanged."""
    if "://" in root or "://" in path:
        return path
    return os.path.relpath(os.path.abspath(path), os.path.abspath(root))


def sha256_of(path: str) -> str:
    with FileSystems.open(path) as f:
        return hashlib.sha256(f.read()).hexdigest()


def composition_section(output_dir: str, previous: list[OpenedBuild],
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


def previous_token_reports(output_dir: str, previous: list[OpenedBuild],
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


def previous_kept(previous: list[OpenedBuild]) -> dict[str, int]:
    kept: dict[str, int] = defaultdict(int)
    for prev in previous:
        for name, src in prev.manifest["sources"].items():
            kept[name] += src["documents"]
    return dict(kept)
