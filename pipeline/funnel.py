"""The build's wiring: the funnel from input files to staged shards, as one Beam pipeline.

    ReadFiles (read + normalise, per-file checkpoints → parts) | exact dedup on keys
        | [optional stages, in configured order, inside the passes where they can be]
        | final pass: document shards per part (+ rejects, index, tokens, CountRecords)

`build_pipeline` wires it; `pipeline.build.run_build` runs it and commits the outputs.
"""

from __future__ import annotations

import functools
import posixpath
from typing import Any

import apache_beam as beam

from crawl2gpt.core.key_files import EXACT_KEY_SCHEMA, KeyFiles, num_ranges
from crawl2gpt.core.manifest import OpenedBuild
from crawl2gpt.mixing.transforms import TokenizeDocuments, WriteTokenShards
from crawl2gpt.pipeline.checkpoints import read_rows
from crawl2gpt.pipeline.config import BuildConfig
from crawl2gpt.pipeline.parts import read_part
from crawl2gpt.pipeline.passes import PassPlan, RegroupParts, RunPass
from crawl2gpt.pipeline.stages import load_object, stage_spec
from crawl2gpt.pipeline.transforms import (
    CountRecords,
    DecideExactDuplicates,
    ReadFiles,
    WriteBuildReport,
    WriteShards,
    exact_key_rows,
)

# Input bytes per range of the exact key files (one row per document: about 3 MB of key rows
# per 256 MB of crawl input).
EXACT_BYTES_PER_RANGE = 256 * 1024 * 1024


class Funnel:
    """The collections a build gathers while its passes and stages are wired: shard reports,
    rejects of the stages that see all documents at once, stage report rows, index rows and
    token rows."""

    def __init__(self, config: BuildConfig, staging_dir: str, input_bytes: int):
        self.config, self.staging_dir, self.input_bytes = config, staging_dir, input_bytes
        self.passes = 0
        self.shards, self.rejected, self.stage_reports, self.index, self.tokens = \
            [], [], [], [], []

    def key_files(self, step: str, schema, range_fields: tuple[str, ...],
                  bytes_per_range: int) -> KeyFiles:
        """Key files for a global step, one range per `bytes_per_range` of input."""
        return KeyFiles(self.staging_dir, step, num_ranges(self.input_bytes, bytes_per_range),
                        schema, range_fields)

    def plan(self) -> PassPlan:
        self.passes += 1
        return PassPlan(f"pass{self.passes}", shards=self.config.shards)

    def run_pass(self, parts, decisions, plan: PassPlan):
        """Wire one pass (`decisions`: the previous global step's, or None); returns (parts,
        keys) and keeps its other outputs."""
        label = f"Pass{plan.name.removeprefix('pass')}"
        if decisions is None:
            decisions = parts.pipeline | f"{label}NoDecisions" >> beam.Create([])
        parts, keys, shards, tokens = (parts, decisions) | label >> RunPass(
            plan, self.staging_dir)
        self.shards.append(shards)
        self.tokens.append(tokens)
        return parts, keys

    def bridge_stage(self, name: str, transform, parts, previous: list[OpenedBuild]):
        """A stage that needs all documents at once: its documents are read from the parts
        and regrouped into parts after it (and after its comparison with `previous`)."""
        spec, stage_config = stage_spec(name), self.config.stage_config(name)
        label = stage_label(name)
        docs = parts | f"Read{label}Parts" >> beam.FlatMap(read_part)
        docs, stage_rejected = docs | label >> transform
        self.rejected.append(stage_rejected)
        if getattr(transform, "report", None) is not None:
            self.stage_reports.append(transform.report
                                      | f"Tag{label}Report" >> beam.Map(tag_stage_row, name))
        stage_index = getattr(transform, "index", None)
        if previous and spec.against_previous:
            against = load_object(spec.against_previous)(stage_config, self.config, previous)
            docs, previous_rejected, stage_index = (docs, stage_index) | \
                f"{label}Previous" >> against
            self.rejected.append(previous_rejected)
        if stage_index is not None:
            self.index.append(stage_index)
        return docs | f"Regroup{label}" >> RegroupParts(self.staging_dir, name)


def document_step(transform, spec, previous: list[OpenedBuild]):
    """The stage's per-document step when it runs inside the passes, else None (its
    composite's `document_step()`, which may say None, e.g. for a global cut-off)."""
    if not hasattr(transform, "document_step") or (previous and spec.against_previous):
        return None
    return transform.document_step()


def stage_label(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def tag_stage_row(row: dict[str, Any], stage: str, part: str = "stage") -> dict[str, Any]:
    """A report row with its stage, and whether it reports on the stage's work (`stage`) or
    on the finished corpus (`corpus`)."""
    return {"stage": stage, "part": part, **row}


def final_documents(shard_report: dict[str, Any], staging_dir: str):
    if shard_report["kind"] == "documents":
        yield from read_rows(posixpath.join(staging_dir, shard_report["path"]), "documents")


def build_pipeline(p: beam.Pipeline, config: BuildConfig, files: list[dict[str, Any]],
                   output_dir: str, staging_dir: str,
                   previous: list[OpenedBuild] = ()) -> None:
    """Wire the whole funnel into pipeline `p`; outputs land in `staging_dir`, per-file
    checkpoints in `output_dir`'s checkpoint folder. Documents already in `previous` builds
    are removed by exact dedup and by the stages that compare against them
    (`crawl2gpt.pipeline.incremental`).

    Documents stream through the passes of `pipeline.passes`, one input file (part) per
    worker; only keys and removals cross shuffles, except inside the stages that need all
    documents at once (those without `document_step`).
    """
    # Per input file, through its checkpoint: a part (documents with canonical text, input
    # rejects), counts of documents read and records skipped.
    parts, file_counts = p | "ReadFiles" >> ReadFiles(
        config, [(f["source"], f["path"], f["bytes"]) for f in files], output_dir)
    funnel = Funnel(config, staging_dir, sum(f["bytes"] for f in files))
    decisions, plan = None, funnel.plan()
    # One document per distinct normalised text (and none already in a previous build): a
    # pass emits the text keys, the global step decides, the next pass removes; the
    # survivors' keys are the build's exact index.
    if config.exact_dedup.enabled:
        plan.emitters.append(functools.partial(exact_key_rows, scope=config.exact_dedup.scope))
        plan.key_files = funnel.key_files("exact", EXACT_KEY_SCHEMA, ("key",),
                                          EXACT_BYTES_PER_RANGE)
        parts, written = funnel.run_pass(parts, None, plan)
        decisions, index_shards = written | "ExactDedup" >> DecideExactDuplicates(
            plan.key_files, list(previous), config.shards)
        funnel.shards.append(index_shards)
        plan = funnel.plan()
    # Optional stages (quality filter, fuzzy dedup, contamination, ...) in configured order.
    for name in config.stages:
        spec = stage_spec(name)
        transform = load_object(spec.transform)(config.stage_config(name), config)
        step = document_step(transform, spec, previous)
        if step is not None:
            plan.steps.append(step)
            continue
        if spec.keyed and not previous:
            keyed = load_object(spec.keyed)(config.stage_config(name), config)
            rounds = keyed.rounds(funnel.key_files, config.shards)
            for i, (emitter, key_files, decide) in enumerate(rounds, 1):
                plan.emitters.append(emitter)
                plan.key_files = key_files
                parts, keys = funnel.run_pass(parts, decisions, plan)
                decisions, plan = keys | f"{stage_label(name)}Round{i}" >> decide, funnel.plan()
            funnel.shards.append(keyed.shards)
            continue
        parts, _ = funnel.run_pass(parts, decisions, plan)
        parts = funnel.bridge_stage(name, transform, parts, previous)
        decisions, plan = None, funnel.plan()
    # The final pass writes each part's document shards, and its token ids (with
    # [tokenize]; the check against the document shards is in tokens_section).
    plan.final = True
    if config.tokenize is not None:
        plan.tokenize = TokenizeDocuments(config.tokenize, config).document_step()
    funnel.run_pass(parts, decisions, plan)
    shard_reports = funnel.shards | "MergePassShards" >> beam.Flatten()
    # Stages that report on the finished corpus (contamination: each benchmark's clean and
    # dirty examples), read back from the document shards.
    for name in config.stages:
        if stage_spec(name).corpus_report:
            label = stage_label(name)
            report = load_object(stage_spec(name).corpus_report)(config.stage_config(name))
            docs = shard_reports | f"Read{label}Corpus" >> beam.FlatMap(final_documents,
                                                                         staging_dir)
            funnel.stage_reports.append(docs | f"{label}CorpusReport" >> report
                                        | f"Tag{label}CorpusReport" >> beam.Map(
                                            tag_stage_row, name, "corpus"))
    # Documents read and records skipped, per source.
    counts = file_counts | "CountRecords" >> CountRecords()
    # Shards of the rejects of whole-collection stages and of the index rows (by bucket).
    loose_rejected = (funnel.rejected or [p | "NoLooseRejects" >> beam.Create([])]) \
        | "MergeRejected" >> beam.Flatten()
    all_index = (funnel.index or [p | "NoIndexRows" >> beam.Create([])]) \
        | "MergeIndexRows" >> beam.Flatten()
    reports = (loose_rejected, all_index) | "WriteShards" >> WriteShards(
        staging_dir, config.shards)
    reports = (reports, shard_reports) | "MergeShardReports" >> beam.Flatten()
    # Shuffled token shards per source, reported like the document shards.
    if config.tokenize is not None:
        token_rows = funnel.tokens | "MergeTokenRows" >> beam.Flatten()
        token_reports = token_rows | "WriteTokenShards" >> WriteTokenShards(
            staging_dir, config.tokenize)
        reports = (reports, token_reports) | "MergeTokenReports" >> beam.Flatten()
    # The only sink: every report and count in staging/build_report.json.
    stage_rows = (funnel.stage_reports or [p | "NoStageReports" >> beam.Create([])]) \
        | "MergeStageReports" >> beam.Flatten()
    _ = (reports, counts, stage_rows) | "WriteBuildReport" >> WriteBuildReport(staging_dir)
