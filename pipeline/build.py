"""The corpus build: one Beam pipeline from raw crawl and reference corpora to Parquet shards.

    ReadSources | NormalizeText | ExactDedup | [optional stages, in configured order]
                | WriteShards (+ CountRecords)  → staging → manifest check → atomic commit

Run locally (DirectRunner, in memory or multi-processing) or on any Beam runner:

    crawl2gpt build --config build.toml --output out
    crawl2gpt build --config build.toml --output out -- \\
        --direct_running_mode multi_processing --direct_num_workers 2
"""

from __future__ import annotations

import json
import posixpath
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from dedup.clean_dirty import write_splits
from dedup.contamination_transforms import SplitCleanDirty
from mixing.manifest_section import tokens_section
from mixing.transforms import TokenizeDocuments, WriteTokenShards
from pipeline.config import BuildConfig
from pipeline.manifest import assemble_manifest, commit_build, verify_reports
from pipeline.stages import load_object, stage_spec
from pipeline.transforms import (BUILD_REPORT, CountRecords, ExactDedup, NormalizeText,
                                 ReadSources, WriteBuildReport, WriteShards, reports_from_json)

STAGING_PREFIX = "_staging-"


class ReadOutputs(NamedTuple):
    documents: Any
    rejected: Any
    skipped: Any


class InputError(ValueError):
    """An input glob matched nothing, or an input file cannot be listed."""


def list_input_files(config: BuildConfig) -> list[dict[str, Any]]:
    """Every input file of every source, sorted, with its size; empty globs are errors."""
    files = []
    for src in config.sources:
        for pattern in src.inputs:
            try:
                metadata = FileSystems.match([pattern])[0].metadata_list
            except Exception as e:  # noqa: BLE001 - FileSystems raises various errors
                raise InputError(f"source {src.name!r}: cannot list {pattern!r}: {e}") from None
            if not metadata:
                raise InputError(f"source {src.name!r}: input {pattern!r} matched no files")
            files += [{"source": src.name, "path": m.path, "bytes": m.size_in_bytes}
                      for m in metadata]
    unique = {(f["source"], f["path"]): f for f in files}
    return [unique[k] for k in sorted(unique)]


def apply_stages(docs, config: BuildConfig) -> tuple[Any, list, list]:
    """Apply the optional stages in configured order.

    Returns the kept documents, the reject collections, and the report collections of the
    stages that have one (`transform.report`: dicts such as contamination's per-benchmark
    counts), each tagged with the stage's name.
    """
    rejected, stage_reports = [], []
    for name in config.stages:
        transform = load_object(stage_spec(name).transform)(config.stage_config(name), config)
        label = "".join(part.capitalize() for part in name.split("_"))
        docs, stage_rejected = docs | label >> transform
        rejected.append(stage_rejected)
        if getattr(transform, "report", None) is not None:
            stage_reports.append(transform.report
                                 | f"Tag{label}Report" >> beam.Map(tag_stage_row, name))
    return docs, rejected, stage_reports


def tag_stage_row(row: dict[str, Any], stage: str) -> dict[str, Any]:
    return {"stage": stage, **row}


def build_pipeline(p: beam.Pipeline, config: BuildConfig, files: list[dict[str, Any]],
                   staging_dir: str) -> None:
    """Wire the whole funnel into pipeline `p`; outputs land in `staging_dir`."""
    # (source, path) pairs → Documents, input Rejects, skip markers.
    read_outputs = p | "ReadSources" >> ReadSources(config, [(f["source"], f["path"]) for f in files])
    read = ReadOutputs(*read_outputs)
    # Documents with canonical text; too short/long ones rejected.
    docs, rejected_normalize = read.documents | "NormalizeText" >> NormalizeText(config.normalize)
    rejected = [read.rejected, rejected_normalize]
    # One document per distinct normalised text.
    if config.exact_dedup.enabled:
        docs, rejected_exact = docs | "ExactDedup" >> ExactDedup(config.exact_dedup)
        rejected.append(rejected_exact)
    # Optional stages (quality filter, fuzzy dedup, contamination, ...).
    docs, rejected_stages, stage_reports = apply_stages(docs, config)
    rejected += rejected_stages
    # Evaluation side of contamination: each benchmark's clean and dirty examples.
    if "contamination" in config.stages:
        stage_reports.append(docs | "SplitCleanDirty" >> SplitCleanDirty(
            config.stage_config("contamination")) | "TagCleanDirty" >> beam.Map(
            tag_stage_row, "clean_dirty"))
    # Token ids per document (when [tokenize] is set); the check against the document shards
    # is in tokens_section.
    token_rows = None
    if config.tokenize is not None:
        token_rows, rejected_tokens = docs | "TokenizeDocuments" >> TokenizeDocuments(
            config.tokenize, config)
        rejected.append(rejected_tokens)
    all_rejected = rejected | "MergeRejected" >> beam.Flatten()
    # Documents read and records skipped, per source.
    counts = (read.documents, read.skipped) | "CountRecords" >> CountRecords()
    # One report per shard file written to staging.
    reports = (docs, all_rejected) | "WriteShards" >> WriteShards(staging_dir, config.shards)
    # Shuffled token shards per source, reported like the document shards.
    if token_rows is not None:
        token_reports = token_rows | "WriteTokenShards" >> WriteTokenShards(
            staging_dir, config.tokenize)
        reports = (reports, token_reports) | "MergeShardReports" >> beam.Flatten()
    # The only sink: every report and count in staging/build_report.json.
    stage_rows = (stage_reports or [p | "NoStageReports" >> beam.Create([])]) \
        | "MergeStageReports" >> beam.Flatten()
    _ = (reports, counts, stage_rows) | "WriteBuildReport" >> WriteBuildReport(staging_dir)


def _read_json(path: str) -> Any:
    if not FileSystems.exists(path):
        raise RuntimeError(f"the pipeline finished without writing {path}: the runner lost "
                           f"output (see docs/scaling.md)")
    with FileSystems.open(path) as f:
        return json.loads(f.read())


def tally_counts(entries: list[dict[str, Any]]) -> dict[str, Counter]:
    """Count entries → {"documents_read": Counter(source), "skipped": {source: Counter(reason)}}."""
    counts: dict[str, Any] = {"documents_read": Counter(), "skipped": defaultdict(Counter)}
    for e in entries:
        if e["kind"] == "documents_read":
            counts["documents_read"][e["source"]] += e["n"]
        else:
            counts["skipped"][e["source"]][e["reason"]] += e["n"]
    return counts


def clean_stale_staging(output_dir: str) -> None:
    """Remove staging folders left by killed runs (they are never referenced by a manifest)."""
    pattern = posixpath.join(output_dir, STAGING_PREFIX + "*")
    stale = {posixpath.join(output_dir, m.path[len(output_dir):].lstrip("/").split("/")[0])
             for m in FileSystems.match([pattern + "/**"])[0].metadata_list}
    if stale:
        FileSystems.delete(sorted(stale))


def contamination_section(config: BuildConfig, stage_rows: list[dict], staging_dir: str
                          ) -> tuple[dict[str, Any], list[str]]:
    """Contamination's removal report and the per-benchmark clean/dirty files (in staging)."""
    split_dir = config.stage_config("contamination").clean_dirty_dir
    splits = sorted((r for r in stage_rows if r["stage"] == "clean_dirty"),
                    key=lambda r: r["benchmark"])
    paths = write_splits([{k: v for k, v in r.items() if k != "stage"} for r in splits],
                         posixpath.join(staging_dir, split_dir))
    relative = [posixpath.relpath(p, staging_dir) for p in paths]
    removal = sorted((r for r in stage_rows if r["stage"] == "contamination"),
                     key=lambda r: (r["kind"], r["name"]))
    benchmarks = {r["benchmark"]: {"file": path, "n": r["n"], "examples": r["examples"],
                                   "dirty": r["dirty_count"], "clean_share": r["clean_share"]}
                  for r, path in zip(splits, relative)}
    return {"removal": removal, "clean_dirty": benchmarks}, relative


@dataclass
class BuildResult:
    manifest_path: str
    manifest: dict[str, Any]
    metrics: dict[str, int]


def run_build(config: BuildConfig, output_dir: str, pipeline_args: list[str] | None = None
              ) -> BuildResult:
    """Run the pipeline, check its outputs against the writers' reports, commit atomically."""
    files = list_input_files(config)
    clean_stale_staging(output_dir)
    staging_dir = posixpath.join(output_dir, STAGING_PREFIX + uuid.uuid4().hex[:12])
    with FileSystems.create(posixpath.join(staging_dir, "config.json")) as f:
        f.write(json.dumps(config.to_dict(), sort_keys=True).encode())
    options = PipelineOptions(pipeline_args or [])
    p = beam.Pipeline(options=options)
    build_pipeline(p, config, files, staging_dir)
    result = p.run()
    try:
        result.wait_until_finish()
    finally:
        close_runner_client(result)
    report = _read_json(posixpath.join(staging_dir, BUILD_REPORT))
    reports = reports_from_json(report["shards"])
    verify_reports(staging_dir, reports)
    manifest = assemble_manifest(config, files, tally_counts(report["counts"]), reports)
    other_rows = [r for r in report["stage_rows"]
                  if r["stage"] not in ("contamination", "clean_dirty")]
    if other_rows:
        manifest["stage_reports"] = {
            stage: [{k: v for k, v in r.items() if k != "stage"} for r in other_rows
                    if r["stage"] == stage] for stage in sorted({r["stage"] for r in other_rows})}
    extra_files = []
    if "contamination" in config.stages:
        manifest["contamination"], extra_files = contamination_section(
            config, report["stage_rows"], staging_dir)
    if config.tokenize is not None:
        kept = {name: src["documents"] for name, src in manifest["sources"].items()}
        manifest["tokens"] = tokens_section(
            config.tokenize, [r for r in reports if r.kind == "tokens"], kept)
    manifest_path = commit_build(output_dir, staging_dir, manifest, reports, extra_files)
    return BuildResult(manifest_path, manifest, beam_counters(result))


def close_runner_client(result) -> None:
    """The DaskRunner leaves its client open; close it so the process exits cleanly."""
    client = getattr(result, "client", None)
    if client is not None:
        client.close()


def beam_counters(result) -> dict[str, int]:
    """The runner's counters, where it reports them (not every runner does)."""
    try:
        counters = result.metrics().query()["counters"]
    except Exception:  # noqa: BLE001 - metrics are optional on some runners
        return {}
    totals: dict[str, int] = Counter()
    for c in counters:
        totals[f"{c.key.metric.namespace}.{c.key.metric.name}"] += c.committed or c.attempted or 0
    return dict(sorted(totals.items()))
