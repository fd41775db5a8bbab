"""`crawl2gpt inspect build`: a finished build's numbers, gathered for the HTML report.

Every number comes from the manifest (funnel, reasons, contamination, mixture, languages) or
from the shards (scores, lengths, samples, duplicate clusters); `report.json` holds them all,
the HTML and the figures only show them. Shards are read column by column and in batches.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from crawl2gpt.core.manifest import OpenedBuild
from crawl2gpt.reports.errors import detail_of
from crawl2gpt.reports.lookup import find_document

SAMPLES_PER_REASON = 3
BOUNDARY_EXAMPLES = 3
LARGEST_CLUSTERS = 5
SNIPPET_CHARS = 600
SCORE_BINS = 40
LENGTH_BINS = 30
SAMPLE_COLUMNS = ["doc_id", "source", "reason", "url", "source_file", "source_offset", "text",
                  "detail"]


def snippet(text: str | None, limit: int = SNIPPET_CHARS) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + " …"


def funnel(build: OpenedBuild) -> dict[str, dict[str, Any]]:
    """Per source: records read, then documents left after input rejects and each stage."""
    token_sources = build.manifest.get("tokens", {}).get("sources", {})
    out = {}
    for name, src in build.sources.items():
        read = src["documents_read"] + src["rejected_input_records"]
        steps = [{"step": "read", "documents": read, "removed": 0},
                 {"step": "rejected input", "documents": src["documents_read"],
                  "removed": src["rejected_input_records"]}]
        steps += [{"step": s["stage"], "documents": s["kept"], "removed": s["removed"]}
                  for s in src["stages"]]
        out[name] = {"steps": steps, "kept": src["documents"],
                     "skipped_records": sum(src["skipped_records"].values()),
                     "tokens": token_sources.get(name, {}).get("tokens")}
    return out


def reason_counts(build: OpenedBuild) -> list[dict[str, Any]]:
    """(source, stage, reason, count) for every reason the manifest counted, largest first."""
    rows = [{"source": name, "stage": "read", "reason": reason, "count": n}
            for name, src in build.sources.items()
            for reason, n in src["rejected_input_reasons"].items()]
    rows += [{"source": name, "stage": s["stage"], "reason": reason, "count": n}
             for name, src in build.sources.items() for s in src["stages"]
             for reason, n in s["reasons"].items()]
    return sorted(rows, key=lambda r: (-r["count"], r["source"], r["reason"]))


def sample_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"doc_id": row["doc_id"], "url": row["url"], "source_file": row["source_file"],
            "source_offset": row["source_offset"], "detail": detail_of(row),
            "text": snippet(row["text"])}


def reason_samples(build: OpenedBuild) -> dict[str, list[dict[str, Any]]]:
    """The first few rejected rows of every "source/reason", in manifest shard order."""
    samples: dict[str, list] = defaultdict(list)
    for entry in build.rejected_shards():
        wanted = {f"{entry['source']}/{r}" for r in entry["reasons"]}
        reader = pq.ParquetFile(build.path(entry["path"]))
        for batch in reader.iter_batches(batch_size=256, columns=SAMPLE_COLUMNS):
            for row in batch.to_pylist():
                key = f"{row['source']}/{row['reason']}"
                if len(samples[key]) < SAMPLES_PER_REASON:
                    samples[key].append(sample_row(row))
            if all(len(samples[k]) >= SAMPLES_PER_REASON for k in wanted):
                break
    return dict(samples)


def histogram(values: np.ndarray, bins: np.ndarray) -> dict[str, Any]:
    counts, _ = np.histogram(values, bins=bins)
    return {"bins": [float(b) for b in bins], "counts": counts.tolist(), "n": len(values)}


def score_bins(scores: np.ndarray) -> np.ndarray:
    """Bins over the scores' own range: a classifier may use only a sliver of [0, 1]."""
    low, high = float(scores.min()), float(scores.max())
    if high - low < 1e-6:
        low, high = max(low - 0.01, 0.0), min(high + 0.01, 1.0)
    return np.linspace(low, high, SCORE_BINS + 1)


def quality_marker(build: OpenedBuild, removed_details: list[dict]) -> dict[str, Any] | None:
    """The selection rule as the removed rows record it (else as configured)."""
    config = build.manifest["config"].get("quality_filter", {})
    for key in ("cutoff", "threshold"):
        if removed_details and key in removed_details[0]:
            return {"kind": key, "value": removed_details[0][key]}
    if config.get("selection") == "pareto":
        return {"kind": "alpha", "value": config["alpha"]}
    if config.get("selection") == "threshold" and config.get("top_fraction") is None:
        return {"kind": "threshold", "value": config["threshold"]}
    return None


def kept_scores(build: OpenedBuild, source: str) -> tuple[list[str], np.ndarray]:
    ids, scores = [], []
    for name, path in build.document_shards():
        if name == source:
            table = build.read(path, ["id", "quality_score"])
            table = table.filter(pc.is_valid(table["quality_score"]))
            ids += table["id"].to_pylist()
            scores += table["quality_score"].to_pylist()
    return ids, np.asarray(scores, dtype=np.float64)


def removed_scores(build: OpenedBuild) -> dict[str, list[tuple[float, str, str, dict]]]:
    """Per source: (score, doc id, shard, detail) of every document the quality filter removed."""
    removed: dict[str, list] = defaultdict(list)
    for entry in build.rejected_shards("quality_filter"):
        for row in build.read(entry["path"], ["doc_id", "detail"]).to_pylist():
            detail = detail_of(row)
            removed[entry["source"]].append((detail["score"], row["doc_id"], entry["path"], detail))
    return removed


def quality(build: OpenedBuild) -> dict[str, Any]:
    """Score histograms of kept and removed documents per source, the rule, boundary examples."""
    removed = removed_scores(build)
    details = [r[3] for rows in removed.values() for r in rows]
    out: dict[str, Any] = {"marker": quality_marker(build, details), "sources": {},
                           "boundary": {"kept": [], "removed": []}}
    kept_lowest: list[tuple[float, str]] = []
    for name in sorted(build.sources):
        ids, scores = kept_scores(build, name)
        gone = np.asarray([r[0] for r in removed[name]], np.float64)
        if len(scores) or len(gone):
            bins = score_bins(np.concatenate([scores, gone]))
            out["sources"][name] = {"filtered": build.sources[name]["role"] == "raw",
                                    "kept": histogram(scores, bins),
                                    "removed": histogram(gone, bins)}
        if removed[name]:  # a filtered source: its lowest kept scores sit at the boundary
            kept_lowest += sorted(zip(scores.tolist(), ids))[:BOUNDARY_EXAMPLES]
    for score, doc_id in sorted(kept_lowest)[:BOUNDARY_EXAMPLES]:
        out["boundary"]["kept"].append({"doc_id": doc_id, "score": score,
                                        "text": snippet(document_text(build, doc_id))})
    highest = sorted((r for rows in removed.values() for r in rows),
                     key=lambda r: (-r[0], r[1]))[:BOUNDARY_EXAMPLES]
    for score, doc_id, path, _ in highest:
        row = build.read(path, SAMPLE_COLUMNS, ("doc_id", doc_id)).to_pylist()[0]
        out["boundary"]["removed"].append({**sample_row(row), "score": score})
    return out


def document_text(build: OpenedBuild, doc_id: str) -> str | None:
    """The text of a document, kept or removed (rejected rows hold up to 20,000 chars)."""
    fate = find_document(build, doc_id)
    if fate.status == "not_found":
        return None
    column, key = ("text", "id") if fate.status == "kept" else ("text", "doc_id")
    return build.read(fate.shard, [column], (key, doc_id))[column][0].as_py()


def duplicate_clusters(build: OpenedBuild) -> list[dict[str, Any]]:
    """The largest fuzzy-duplicate clusters: kept id, removed ids, one kept/removed text pair."""
    clusters: dict[str, dict[str, Any]] = {}
    for entry in build.rejected_shards("fuzzy_dedup"):
        for row in build.read(entry["path"], ["doc_id", "detail"]).to_pylist():
            detail = detail_of(row)
            cluster = clusters.setdefault(detail["cluster_id"], {
                "cluster_id": detail["cluster_id"], "kept_id": detail["kept_id"], "removed": []})
            cluster["removed"].append({"doc_id": row["doc_id"], "jaccard": detail.get("jaccard")})
    largest = sorted(clusters.values(), key=lambda c: (-len(c["removed"]), c["cluster_id"]))
    out = []
    for cluster in largest[:LARGEST_CLUSTERS]:
        cluster["removed"].sort(key=lambda r: r["doc_id"])
        first = cluster["removed"][0]["doc_id"]
        out.append({**cluster, "size": len(cluster["removed"]) + 1,
                    "kept_text": document_text(build, cluster["kept_id"]),
                    "removed_text": document_text(build, first)})
    return out


def lengths(build: OpenedBuild) -> dict[str, Any]:
    """Kept documents' lengths in characters and in tokens, per source."""
    chars: dict[str, list[np.ndarray]] = defaultdict(list)
    for name, path in build.document_shards():
        for batch in pq.ParquetFile(build.path(path)).iter_batches(columns=["text"]):
            chars[name].append(pc.utf8_length(batch.column(0)).to_numpy())
    tokens: dict[str, list[np.ndarray]] = defaultdict(list)
    for name, path in build.token_shards():
        tokens[name].append(build.read(path, ["num_tokens"])["num_tokens"].to_numpy())
    return {kind: summaries({name: np.concatenate(parts) for name, parts in d.items()})
            for kind, d in (("characters", chars), ("tokens", tokens))}


def summaries(per_source: dict[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Histograms on shared log-spaced bins (lengths span a tweet to a book), totals, medians."""
    values = [v for v in per_source.values() if len(v)]
    if not values:
        return {name: {"n": 0, "total": 0, "median": None} for name in sorted(per_source)}
    low = max(1, min(int(v.min()) for v in values))
    high = max(int(v.max()) for v in values) + 1
    bins = np.logspace(np.log10(low), np.log10(high), LENGTH_BINS + 1)
    return {name: {**histogram(v, bins), "total": int(v.sum()),
                   "median": float(np.median(v)) if len(v) else None}
            for name, v in sorted(per_source.items())}


def collect_report(build: OpenedBuild) -> dict[str, Any]:
    """Every number the build report shows."""
    manifest = build.manifest
    samples = reason_samples(build)
    reasons = [{**r, "samples": samples.get(f"{r['source']}/{r['reason']}", [])}
               for r in reason_counts(build)]
    return {
        "build": os.path.abspath(build.root),
        "config_fingerprint": manifest["config_fingerprint"],
        "totals": manifest["totals"],
        "funnel": funnel(build),
        "reasons": reasons,
        "quality": quality(build),
        "duplicate_clusters": duplicate_clusters(build),
        "contamination": manifest.get("contamination", {}),
        "mixture": manifest.get("tokens", {}).get("mixture"),
        "lengths": lengths(build),
        "languages": {name: src["languages"] for name, src in build.sources.items()},
    }


def write_report_json(report: dict[str, Any], path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")


def write_report_files(out_dir: str, report: dict[str, Any], figures: dict[str, bytes],
                       html: str) -> str:
    """report.html, report.json and figures/<stem>.png under `out_dir`; returns the HTML path."""
    os.makedirs(os.path.join(out_dir, "figures"), exist_ok=True)
    for stem, png in figures.items():
        with open(os.path.join(out_dir, "figures", f"{stem}.png"), "wb") as f:
            f.write(png)
    write_report_json(report, os.path.join(out_dir, "report.json"))
    html_path = os.path.join(out_dir, "report.html")
    with open(html_path, "w", encoding="utf-8") as f:
        f.write(html)
    return html_path


def write_build_report(build_dir: str, out_dir: str) -> str:
    """Write report.html, report.json and figures/*.png under `out_dir`; returns the HTML path."""
    from crawl2gpt.reports.figures import build_figures
    from crawl2gpt.reports.html_page import render_page
    report = collect_report(OpenedBuild.open(build_dir))
    figures = build_figures(report)
    return write_report_files(out_dir, report, figures, render_page(report, figures))
