"""The build's manifest, assembled from the writers' reports and the funnel counts.

The format, its checks and the atomic commit are the base layer's (`crawl2gpt.core.manifest`);
this module knows the build's config and its fixed steps.
"""

from __future__ import annotations

import platform
from collections import Counter, defaultdict
from importlib import metadata
from typing import Any

from crawl2gpt.core.manifest import FORMAT_VERSION, check_no_loss
from crawl2gpt.core.shards import ShardReport
from crawl2gpt.pipeline.config import BuildConfig

# Stage order of the funnel before the optional stages.
FIXED_STAGES = ["read", "normalize", "exact_dedup"]


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
