"""Takedown: remove given URLs or domains from an existing build, without rebuilding it.

    takedown("out", urls_file="remove-urls.txt", domains_file="remove-domains.txt")

Patterns are those of `blocklist.py`. For every group of document shards holding a matching
row (the size-rotated files of one bucket of one input part), the group's rows minus the
matches are written again, in their order, with the build's own writer (`write_bucket`: same
rotation and Parquet settings, so the bytes are those a build without these rows would write),
under new file names; one group at a time, so memory is bounded by a group. The removed rows
go to `rejected/takedown/<source>/` with reason `takedown_url` or `takedown_domain` and the
pattern, but without their text: the point of a takedown is that the content leaves the build.
Then the row counts are read back, the new manifest (counts, shard list with sha256, a
`takedown` stage in each source's funnel, a `takedowns` log entry; token shards holding a
removed document rewritten too, see `takedown_tokens.py`) is written to a temporary name and
renamed over `manifest.json` — the commit point — and only then are the replaced files
deleted. A run killed before the rename leaves the old manifest and its files intact; one
killed after leaves the new manifest valid and at most some unreferenced old files.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from apache_beam.io.filesystems import FileSystems

from crawl2gpt.core.manifest import MANIFEST_NAME, check_no_loss, load_manifest, verify_reports
from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.core.shards import (
    ShardConfig,
    ShardReport,
    document_row,
    read_documents,
    rejected_row,
    rejected_sort_key,
    write_bucket,
)
from crawl2gpt.quality_filter.blocklist import Blocklist, load_blocklist, normalize_url
from crawl2gpt.quality_filter.takedown_tokens import removed_ids, takedown_tokens

STAGE = "takedown"


@dataclass
class TakedownResult:
    manifest_path: str
    removed: dict[str, int] = field(default_factory=dict)
    """Rows removed per source."""
    files_written: list[str] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)
    unparsed: dict[str, list[str]] = field(default_factory=dict)
    """Per source, the document URLs that could not be parsed (kept: nothing to match)."""


TAKEDOWN_TAG = re.compile(r"-td[0-9a-f]+$")


def file_group_of_path(path: str) -> tuple[str, str]:
    """("documents/web", "b0003-<part>") for "documents/web/b0003-<part>-0001.parquet", and
    for a file already rewritten by a takedown, "documents/web/b0003-<part>-td1a2b3c-0000
    .parquet" (the size-rotated files of one bucket of one input part)."""
    stem = posixpath.basename(path).removesuffix(".parquet").rsplit("-", 1)[0]
    return posixpath.dirname(path), TAKEDOWN_TAG.sub("", stem)


def takedown_row(doc: Document, match_kind: str, pattern: str) -> Rejected:
    """The rejected row of a removed document: identity and provenance, no text."""
    rejected = Rejected.of_document(doc, STAGE, f"{STAGE}_{match_kind}", pattern=pattern)
    return dataclasses.replace(rejected, text=None, text_truncated=False)


def split_group(build_dir: str, shards: list[dict], patterns: Blocklist, unparsed: list[str]
                ) -> tuple[list[dict], list[Rejected]]:
    """(rows kept, in order; rejects) of one group of files; URLs that do not parse go to
    `unparsed`."""
    kept, removed = [], []
    for shard in shards:
        for doc in read_documents(posixpath.join(build_dir, shard["path"])):
            if doc.url and normalize_url(doc.url) is None:
                unparsed.append(doc.url)
            match = patterns.match(doc.url)
            if match is None:
                kept.append(document_row(doc))
            else:
                removed.append(takedown_row(doc, match.kind, match.pattern))
    removed.sort(key=rejected_sort_key)
    return kept, removed


class _Writer:
    """Writes files under the build folder, remembering their relative paths."""

    def __init__(self, build_dir: str):
        self.build_dir = build_dir
        self.paths: list[str] = []

    def __call__(self, relative_path: str, data: bytes) -> None:
        with FileSystems.create(posixpath.join(self.build_dir, relative_path)) as f:
            f.write(data)
        self.paths.append(relative_path)


def rewrite_source(build_dir: str, source: str, funnel: dict[str, Any], patterns: Blocklist,
                   tag: str, config: ShardConfig, write: _Writer, unparsed: list[str]
                   ) -> tuple[list[ShardReport], list[ShardReport], Counter]:
    """New document shards of the affected file groups, rejected shards, reasons removed."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for shard in sorted(funnel["shards"], key=lambda s: s["path"]):
        groups[file_group_of_path(shard["path"])].append(shard)
    new_documents: list[ShardReport] = []
    new_rejected: list[ShardReport] = []
    reasons: Counter = Counter()
    for (relative_dir, group), shards in sorted(groups.items()):
        kept, removed = split_group(build_dir, shards, patterns, unparsed)
        if not removed:
            new_documents += [ShardReport(**s) for s in shards]
            continue
        basename = f"{group}-{tag}"
        new_documents += write_bucket(kept, kind="documents", source=source, stage=None,
                                      relative_dir=relative_dir, basename=basename,
                                      config=config, write_file=write) if kept else []
        new_rejected += write_bucket([rejected_row(r) for r in removed], kind="rejected",
                                     source=source, stage=STAGE,
                                     relative_dir=posixpath.join("rejected", STAGE, source),
                                     basename=basename, config=config, write_file=write)
        reasons.update(r.reason for r in removed)
    return new_documents, new_rejected, reasons


def update_funnel(funnel: dict[str, Any], documents: list[ShardReport], reasons: Counter) -> None:
    funnel["shards"] = [r.to_dict() for r in sorted(documents, key=lambda r: r.path)]
    funnel["documents"] = sum(r.rows for r in documents)
    funnel["text_bytes"] = sum(r.text_bytes for r in documents)
    funnel["languages"] = dict(sorted(sum((Counter(r.languages) for r in documents),
                                          Counter()).items()))
    entry = next((s for s in funnel["stages"] if s["stage"] == STAGE), None)
    if entry is None:
        entry = {"stage": STAGE, "removed": 0, "kept": 0, "reasons": {}}
        funnel["stages"].append(entry)
    merged = Counter(entry["reasons"]) + reasons
    entry.update(removed=sum(merged.values()), kept=funnel["documents"],
                 reasons=dict(sorted(merged.items())))


def takedown(build_dir: str, urls_file: str | None = None, domains_file: str | None = None
             ) -> TakedownResult:
    """Remove the documents whose URL or domain is listed; rewrite shards and manifest."""
    patterns = load_blocklist(urls_file, domains_file)
    if not len(patterns):
        raise ValueError("takedown: no URL or domain patterns given (empty or missing lists)")
    manifest_path = posixpath.join(build_dir, MANIFEST_NAME)
    if not FileSystems.exists(manifest_path):
        raise FileNotFoundError(f"takedown: no build at {build_dir} ({MANIFEST_NAME} missing)")
    manifest = load_manifest(manifest_path)
    config = ShardConfig(**manifest["config"]["shards"])
    tag = f"td{patterns.fingerprint()[:8]}"
    write = _Writer(build_dir)
    result = TakedownResult(manifest_path)
    old_paths, new_rejected = set(), []
    for source, funnel in sorted(manifest["sources"].items()):
        unparsed: list[str] = []
        documents, rejected, reasons = rewrite_source(build_dir, source, funnel, patterns, tag,
                                                      config, write, unparsed)
        if unparsed:
            result.unparsed[source] = unparsed
        if not reasons:
            continue
        old_paths |= {s["path"] for s in funnel["shards"]}
        update_funnel(funnel, documents, reasons)
        check_no_loss(funnel, source)
        new_rejected += rejected
        result.removed[source] = sum(reasons.values())
    if not result.removed:
        return result
    verify_reports(build_dir, [ShardReport(**s) for f in manifest["sources"].values()
                               for s in f["shards"] if s["path"] in write.paths] + new_rejected)
    if "tokens" in manifest:
        tokens_written, tokens_replaced = takedown_tokens(
            build_dir, manifest, removed_ids(build_dir, [r.path for r in new_rejected]), tag)
        write.paths += tokens_written
        old_paths |= set(tokens_replaced)
    manifest["rejected_shards"] = sorted(
        manifest["rejected_shards"] + [r.to_dict() for r in new_rejected], key=lambda r: r["path"])
    sources = manifest["sources"].values()
    manifest["totals"].update(documents=sum(s["documents"] for s in sources),
                              text_bytes=sum(s["text_bytes"] for s in sources))
    manifest.setdefault("takedowns", []).append({
        "urls_file": urls_file, "domains_file": domains_file, "patterns": len(patterns),
        "fingerprint": patterns.fingerprint(), "removed": dict(sorted(result.removed.items())),
        "unparsed_urls": {source: len(urls) for source, urls in sorted(result.unparsed.items())}})
    _commit_manifest(manifest_path, manifest)
    referenced = {s["path"] for f in sources for s in f["shards"]} | {
        s["path"] for e in manifest.get("tokens", {}).get("sources", {}).values()
        for s in e["shards"]}
    result.files_written = sorted(write.paths)
    result.files_deleted = sorted(old_paths - referenced)
    if result.files_deleted:
        FileSystems.delete([posixpath.join(build_dir, p) for p in result.files_deleted])
    return result


def _commit_manifest(manifest_path: str, manifest: dict[str, Any]) -> None:
    """Write to a temporary name, then rename over the manifest (the commit point)."""
    tmp_path = manifest_path + ".tmp"
    with FileSystems.create(tmp_path) as f:
        f.write(json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
    FileSystems.rename([tmp_path], [manifest_path])
