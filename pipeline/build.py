"""The corpus build: one Beam pipeline from raw crawl and reference corpora to Parquet shards.

    ReadFiles (read + normalise, per-file checkpoints) | ExactDedup
        | [optional stages, in configured order]
        | WriteShards (+ CountRecords)  → staging → manifest check → atomic commit

A killed build resumes with `--resume` (docs/incremental.md).

Run locally (DirectRunner, in memory or multi-processing) or on any Beam runner:

    crawl2gpt build --config build.toml --output out
    crawl2gpt build --config build.toml --output out -- \\
        --direct_running_mode multi_processing --direct_num_workers 2
"""

from __future__ import annotations

import json
import logging
import posixpath
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from crawl2gpt.core.manifest import OpenedBuild, commit_build, verify_reports
from crawl2gpt.core.shards import ShardReport
from crawl2gpt.core.tokenizer import Tokenizer
from crawl2gpt.mixing.manifest_section import tokens_section
from crawl2gpt.mixing.transforms import TokenizeDocuments, WriteTokenShards
from crawl2gpt.pipeline.checkpoints import CheckpointStore
from crawl2gpt.pipeline.config import BuildConfig
from crawl2gpt.pipeline.incremental import (
    check_against,
    composition_section,
    index_section,
    load_previous_builds,
    previous_kept,
    previous_token_reports,
)
from crawl2gpt.pipeline.incremental_transforms import ExactAgainstPrevious
from crawl2gpt.pipeline.manifest import assemble_manifest
from crawl2gpt.pipeline.stages import load_object, stage_spec
from crawl2gpt.pipeline.transforms import (
    BUILD_REPORT,
    CountRecords,
    ExactDedup,
    ReadFiles,
    WriteBuildReport,
    WriteShards,
    exact_index_row,
    reports_from_json,
)

STAGING_PREFIX = "_staging-"
_log = logging.getLogger(__name__)


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


def apply_stages(docs, config: BuildConfig, previous: list[OpenedBuild]
                 ) -> tuple[Any, list, list, list]:
    """Apply the optional stages in configured order.

    Returns the kept documents, the reject collections, the report collections of the
    stages that have one (`transform.report`: dicts such as contamination's per-benchmark
    counts), each tagged with the stage's name, and the index collections of the stages that
    have one (`transform.index`: fuzzy dedup's band rows). With `previous` builds, a stage with
    an `against_previous` composite in the registry is followed by it.
    """
    rejected, stage_reports, index = [], [], []
    for name in config.stages:
        spec, stage_config = stage_spec(name), config.stage_config(name)
        transform = load_object(spec.transform)(stage_config, config)
        label = stage_label(name)
        docs, stage_rejected = docs | label >> transform
        rejected.append(stage_rejected)
        if getattr(transform, "report", None) is not None:
            stage_reports.append(transform.report
                                 | f"Tag{label}Report" >> beam.Map(tag_stage_row, name))
        stage_index = getattr(transform, "index", None)
        if previous and spec.against_previous:
            against = load_object(spec.against_previous)(stage_config, config, previous)
            docs, previous_rejected, stage_index = (docs, stage_index) | \
                f"{label}Previous" >> against
            rejected.append(previous_rejected)
        if stage_index is not None:
            index.append(stage_index)
    return docs, rejected, stage_reports, index


def stage_label(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def tag_stage_row(row: dict[str, Any], stage: str, part: str = "stage") -> dict[str, Any]:
    """A report row with its stage, and whether it reports on the stage's work (`stage`) or
    on the finished corpus (`corpus`)."""
    return {"stage": stage, "part": part, **row}


def build_pipeline(p: beam.Pipeline, config: BuildConfig, files: list[dict[str, Any]],
                   output_dir: str, staging_dir: str,
                   previous: list[OpenedBuild] = ()) -> None:
    """Wire the whole funnel into pipeline `p`; outputs land in `staging_dir`, per-file
    checkpoints in `output_dir`'s checkpoint folder. Documents already in `previous` builds
    are removed after exact dedup and after the stages that compare against them
    (`crawl2gpt.pipeline.incremental`)."""
    # Per input file, through its checkpoint: documents with canonical text (too short/long
    # ones rejected), input rejects, counts of documents read and records skipped.
    docs, rejected_read, file_counts = p | "ReadFiles" >> ReadFiles(
        config, [(f["source"], f["path"], f["bytes"]) for f in files], output_dir)
    rejected = [rejected_read]
    # One document per distinct normalised text (and none already in a previous build); the
    # survivors' keys are the build's exact index.
    index_rows = []
    if config.exact_dedup.enabled:
        docs, rejected_exact = docs | "ExactDedup" >> ExactDedup(config.exact_dedup)
        rejected.append(rejected_exact)
        if previous:
            docs, rejected_previous = docs | "ExactDedupPrevious" >> ExactAgainstPrevious(
                config.exact_dedup, previous)
            rejected.append(rejected_previous)
        index_rows.append(docs | "ExactIndexRows" >> beam.Map(exact_index_row,
                                                              config.exact_dedup.scope))
    # Optional stages (quality filter, fuzzy dedup, contamination, ...).
    docs, rejected_stages, stage_reports, stage_index = apply_stages(docs, config, previous)
    rejected += rejected_stages
    index_rows += stage_index
    # Stages that report on the finished corpus (contamination: each benchmark's clean and
    # dirty examples).
    for name in config.stages:
        if stage_spec(name).corpus_report:
            label = stage_label(name)
            report = load_object(stage_spec(name).corpus_report)(config.stage_config(name))
            stage_reports.append(docs | f"{label}CorpusReport" >> report
                                 | f"Tag{label}CorpusReport" >> beam.Map(
                                     tag_stage_row, name, "corpus"))
    # Token ids per document (when [tokenize] is set); the check against the document shards
    # is in tokens_section.
    token_rows = None
    if config.tokenize is not None:
        token_rows, rejected_tokens = docs | "TokenizeDocuments" >> TokenizeDocuments(
            config.tokenize, config)
        rejected.append(rejected_tokens)
    all_rejected = rejected | "MergeRejected" >> beam.Flatten()
    # Documents read and records skipped, per source.
    counts = file_counts | "CountRecords" >> CountRecords()
    # One report per shard file written to staging (documents, rejects, index).
    all_index = (index_rows or [p | "NoIndexRows" >> beam.Create([])]) \
        | "MergeIndexRows" >> beam.Flatten()
    reports = (docs, all_rejected, all_index) | "WriteShards" >> WriteShards(
        staging_dir, config.shards)
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


def stage_sections(config: BuildConfig, stage_rows: list[dict[str, Any]], staging_dir: str
                   ) -> tuple[dict[str, Any], list[str]]:
    """The stages' manifest sections: a stage's own (the registry's `manifest_section`, which
    may write files to staging) or its rows under `stage_reports`; and the files written."""
    sections: dict[str, Any] = {}
    reports: dict[str, list[dict[str, Any]]] = {}
    extra_files: list[str] = []
    for name in config.stages:
        rows = [r for r in stage_rows if r["stage"] == name]
        spec = stage_spec(name)
        if spec.manifest_section:
            section = load_object(spec.manifest_section)
            sections[name], files = section(config.stage_config(name), rows, staging_dir)
            extra_files += files
        elif rows:
            reports[name] = [{k: v for k, v in r.items() if k not in ("stage", "part")}
                             for r in rows]
    if reports:
        sections["stage_reports"] = dict(sorted(reports.items()))
    return sections, extra_files


@dataclass
class BuildResult:
    manifest_path: str
    manifest: dict[str, Any]
    metrics: dict[str, int]


def run_build(config: BuildConfig, output_dir: str, pipeline_args: list[str] | None = None,
              resume: bool = False, against: list[str] = ()) -> BuildResult:
    """Run the pipeline, check its outputs against the writers' reports, commit atomically.

    With `resume`, input files committed by an earlier (killed) run of this output folder are
    not read again (`pipeline.checkpoints`); without it the build starts from zero. With
    `against` (previous build folders), documents already in those builds are removed and the
    manifest composes them with this build (`pipeline.incremental`).
    """
    files = list_input_files(config)
    previous = load_previous_builds(list(against))
    check_against(previous, config)
    clean_stale_staging(output_dir)
    checkpoints = CheckpointStore(output_dir)
    if resume:
        for change in checkpoints.prepare_resume(config):
            _log.info("resume: changed since the checkpoints (global stages rerun): %s", change)
    else:
        checkpoints.reset(config)
    staging_dir = posixpath.join(output_dir, STAGING_PREFIX + uuid.uuid4().hex[:12])
    with FileSystems.create(posixpath.join(staging_dir, "config.json")) as f:
        f.write(json.dumps(config.to_dict(), sort_keys=True).encode())
    options = PipelineOptions(pipeline_args or [])
    p = beam.Pipeline(options=options)
    build_pipeline(p, config, files, output_dir, staging_dir, previous)
    result = p.run()
    try:
        result.wait_until_finish()
    finally:
        close_runner_client(result)
    report = _read_json(posixpath.join(staging_dir, BUILD_REPORT))
    reports = reports_from_json(report["shards"])
    verify_reports(staging_dir, reports)
    manifest = assemble_manifest(config, files, tally_counts(report["counts"]), reports)
    sections, extra_files = stage_sections(config, report["stage_rows"], staging_dir)
    manifest.update(sections)
    manifest["index"] = index_section(config, reports)
    if previous:
        manifest["composition"] = composition_section(output_dir, previous, manifest)
    if config.tokenize is not None:
        manifest["tokens"] = composed_tokens(config, output_dir, manifest, reports, previous)
    manifest_path = commit_build(output_dir, staging_dir, manifest, reports, extra_files)
    checkpoints.remove()
    return BuildResult(manifest_path, manifest, beam_counters(result))


def composed_tokens(config: BuildConfig, output_dir: str, manifest: dict[str, Any],
                    reports: list[ShardReport], previous: list[OpenedBuild]) -> dict[str, Any]:
    """The tokens section over this build's token shards and the previous builds' ones."""
    kept = Counter({name: src["documents"] for name, src in manifest["sources"].items()})
    token_reports = [r for r in reports if r.kind == "tokens"]
    if previous:
        tokenizer = Tokenizer.from_path(config.tokenize.require_tokenizer(),
                                        config.tokenize.tokenizer_kind).describe()
        token_reports += previous_token_reports(output_dir, previous, tokenizer)
        kept.update(previous_kept(previous))
    return tokens_section(config.tokenize, token_reports, dict(kept))


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
