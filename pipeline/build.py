"""The corpus build: one Beam pipeline from raw crawl and reference corpora to Parquet shards
(wired by `pipeline.funnel`), then staging → manifest check → atomic commit.

A killed build resumes with `--resume` (docs/incremental.md).

Run locally (DirectRunner, in memory or multi-processing) or on any Beam runner:

    crawl2gpt build --config build.toml --output out
    crawl2gpt build --config build.toml --output out -- \\
        --direct_running_mode multi_processing --direct_num_workers 2
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from crawl2gpt.core.manifest import OpenedBuild, commit_build, recover_commit, verify_reports
from crawl2gpt.core.shards import ShardReport
from crawl2gpt.core.tokenizer import Tokenizer
from crawl2gpt.mixing.manifest_section import tokens_section
from crawl2gpt.pipeline.checkpoints import CheckpointStore
from crawl2gpt.pipeline.config import BuildConfig
from crawl2gpt.pipeline.funnel import build_pipeline
from crawl2gpt.pipeline.incremental import (
    check_against,
    composition_section,
    index_section,
    load_previous_builds,
    previous_kept,
    previous_token_reports,
)
from crawl2gpt.pipeline.manifest import assemble_manifest
from crawl2gpt.pipeline.stages import load_object, stage_spec
from crawl2gpt.pipeline.transforms import (
    BUILD_REPORT,
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


def check_output_dir(output_dir: str) -> None:
    """A local output folder must be a folder (or not exist yet, under a folder)."""
    if "://" in output_dir:
        return
    existing = os.path.abspath(output_dir)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise InputError(f"output {output_dir}: {existing} is a file, not a folder")


def check_files_read(files: list[dict[str, Any]], manifest: dict[str, Any], staging_dir: str
                     ) -> None:
    """A build none of whose input files could be read is an error, not an empty build."""
    failed = sum(src["rejected_input_reasons"].get("read_file_failed", 0)
                 for src in manifest["sources"].values())
    if files and failed >= len(files):
        raise InputError(f"every input file ({len(files)}) failed to read; nothing committed; "
                         f"the errors are in {posixpath.join(staging_dir, 'rejected', 'read')}")


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
    check_output_dir(output_dir)
    files = list_input_files(config)
    previous = load_previous_builds(list(against))
    check_against(previous, config)
    recover_commit(output_dir)        # a commit killed after its commit point is finished
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
    check_files_read(files, manifest, staging_dir)
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
