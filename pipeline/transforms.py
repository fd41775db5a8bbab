"""The build's own composite transforms: read, normalise, exact dedup, count, write shards.

Each composite wires a plain-Python core (`pipeline.sources`, `normalize`, `exact_dedup`,
`shards`) into Beam; `expand` is wiring only. Every removal leaves a `Rejected` row on the
`rejected` output, which the writer turns into `rejected/` shards and the manifest counts.
Multi-output steps yield `(tag, value)` pairs split by `SplitByTag` (see `beam_utils`), and the
whole pipeline ends in one sink (`WriteBuildReport`), because the Dask runner executes only
the ancestors of the last transform.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any, Iterable

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from pipeline import exact_dedup, normalize
from pipeline.beam_utils import SplitByTag
from pipeline.config import BuildConfig, ExactDedupConfig, NormalizeConfig, ShardConfig
from pipeline.progress import CountingReader, ProgressLine
from pipeline.records import Document, Rejected
from pipeline.shards import (ShardReport, bucket_of, document_row, rejected_bucket_key,
                             rejected_row, rejected_sort_key, write_bucket)
from pipeline.sources import ReadContext, get_reader

REJECTED = "rejected"
BUILD_REPORT = "build_report.json"


class ReadFileFn(beam.DoFn):
    """(source name, path) → documents, input rejects, and (source, reason) skip markers."""

    def __init__(self, config: BuildConfig):
        self._sources = {s.name: s for s in config.sources}
        self._max_record_bytes = config.read.max_record_bytes
        self._documents = Metrics.counter("ReadSources", "documents_read")
        self._bytes = Metrics.counter("ReadSources", "input_bytes")

    def setup(self) -> None:
        self._progress = ProgressLine()

    def process(self, element: tuple[str, str]) -> Iterable[Any]:
        name, path = element
        source = self._sources[name]
        ctx = ReadContext(source, path, self._max_record_bytes)
        reader = get_reader(source.format)
        try:
            with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
                stream = CountingReader(raw, self._progress)
                for item in reader(stream, ctx):
                    if isinstance(item, Document):
                        self._documents.inc()
                        self._progress.add_document()
                        yield "documents", item
                    elif isinstance(item, Rejected):
                        yield REJECTED, item
                    else:
                        yield "skipped", (item.source, item.reason)
                self._bytes.inc(stream.bytes_read)
        except Exception as e:  # noqa: BLE001 - a reader bug or I/O error must not kill the build
            yield REJECTED, ctx.reject("file_failed", error=f"{type(e).__name__}: {e}")

    def teardown(self) -> None:
        self._progress.finish()


class ReadSources(beam.PTransform):
    """Read every input file of every source; files are spread over workers by a reshuffle."""

    def __init__(self, config: BuildConfig, files: list[tuple[str, str]]):
        super().__init__()
        self._config = config
        self._files = files

    def expand(self, pbegin):
        return (pbegin
                | "ListInputFiles" >> beam.Create(self._files)
                | "SpreadFiles" >> beam.Reshuffle()
                | "ReadFile" >> beam.ParDo(ReadFileFn(self._config))
                | "SplitReadOutputs" >> SplitByTag("documents", REJECTED, "skipped"))


class NormalizeFn(beam.DoFn):
    def __init__(self, config: NormalizeConfig):
        self._config = config

    def process(self, doc: Document) -> Iterable[Any]:
        result = normalize.normalize_document(doc, self._config)
        yield (REJECTED if isinstance(result, Rejected) else "kept"), result


class NormalizeText(beam.PTransform):
    def __init__(self, config: NormalizeConfig):
        super().__init__()
        self._config = config

    def expand(self, docs):
        return (docs
                | "Normalize" >> beam.ParDo(NormalizeFn(self._config))
                | "SplitNormalized" >> SplitByTag("kept", REJECTED))


def key_by_text(doc: Document, scope: str) -> tuple[str, Document]:
    return exact_dedup.dedup_key(doc, scope), doc


class ChooseSurvivorFn(beam.DoFn):
    def process(self, element: tuple[str, Iterable[Document]]) -> Iterable[Any]:
        kept, rejects = exact_dedup.choose_survivor(element[1])
        yield "kept", kept
        for r in rejects:
            yield REJECTED, r


class ExactDedup(beam.PTransform):
    """One copy of each normalised text survives (earliest crawl date, then smallest id)."""

    def __init__(self, config: ExactDedupConfig):
        super().__init__()
        self._config = config

    def expand(self, docs):
        return (docs
                | "KeyByTextHash" >> beam.Map(key_by_text, self._config.scope)
                | "GroupByTextHash" >> beam.GroupByKey()
                | "ChooseSurvivor" >> beam.ParDo(ChooseSurvivorFn())
                | "SplitSurvivors" >> SplitByTag("kept", REJECTED))


def count_key_of_document(doc: Document) -> tuple[str, str, str]:
    return ("documents_read", doc.source, "")


def count_key_of_skip(skip: tuple[str, str]) -> tuple[str, str, str]:
    return ("skipped", skip[0], skip[1])


def count_entry(element: tuple[tuple[str, str, str], int]) -> dict[str, Any]:
    (kind, source, reason), n = element
    return {"kind": kind, "source": source, "reason": reason, "n": n}


class CountRecords(beam.PTransform):
    """Count documents read and records skipped per source (one dict per count)."""

    def expand(self, pcolls):
        documents, skipped = pcolls
        read_keys = documents | "KeyDocumentsRead" >> beam.Map(count_key_of_document)
        skip_keys = skipped | "KeySkipped" >> beam.Map(count_key_of_skip)
        return ((read_keys, skip_keys)
                | "MergeCountKeys" >> beam.Flatten()
                | "CountPerKey" >> beam.combiners.Count.PerElement()
                | "ToCountEntries" >> beam.Map(count_entry))


def key_document_by_bucket(doc: Document, num_buckets: int) -> tuple[tuple, dict]:
    return ("documents", doc.source, "", bucket_of(doc.id, num_buckets)), document_row(doc)


def key_rejected_by_bucket(rej: Rejected, num_buckets: int) -> tuple[tuple, Rejected]:
    return ("rejected", rej.source, rej.stage, bucket_of(rejected_bucket_key(rej), num_buckets)), rej


class WriteBucketFn(beam.DoFn):
    """Write one (kind, source, stage, bucket) group as sorted, size-rotated Parquet files."""

    def __init__(self, staging_dir: str, config: ShardConfig):
        self._staging_dir = staging_dir
        self._config = config

    def _write_file(self, relative_path: str, data: bytes) -> None:
        with FileSystems.create(posixpath.join(self._staging_dir, relative_path)) as f:
            f.write(data)

    def process(self, element: tuple[tuple, Iterable[Any]]) -> Iterable[dict]:
        (kind, source, stage, bucket), values = element
        if kind == "documents":
            rows = sorted(values, key=lambda row: row["id"])
            relative_dir = posixpath.join("documents", source)
        else:
            rows = [rejected_row(r) for r in sorted(values, key=rejected_sort_key)]
            relative_dir = posixpath.join("rejected", stage, source)
        for report in write_bucket(rows, kind=kind, source=source, stage=stage or None,
                                   relative_dir=relative_dir, basename=f"b{bucket:04d}",
                                   config=self._config, write_file=self._write_file):
            yield report.to_dict()


class WriteShards(beam.PTransform):
    """Documents and rejects → Parquet shards in staging; outputs one report dict per file."""

    def __init__(self, staging_dir: str, config: ShardConfig):
        super().__init__()
        self._staging_dir = staging_dir
        self._config = config

    def expand(self, pcolls):
        documents, rejected = pcolls
        n = self._config.num_buckets
        docs = documents | "KeyDocumentsByBucket" >> beam.Map(key_document_by_bucket, n)
        rejs = rejected | "KeyRejectedByBucket" >> beam.Map(key_rejected_by_bucket, n)
        return ((docs, rejs)
                | "MergeRows" >> beam.Flatten()
                | "GroupByBucket" >> beam.GroupByKey()
                | "WriteBucket" >> beam.ParDo(WriteBucketFn(self._staging_dir, self._config)))


class WriteJsonFn(beam.DoFn):
    """Write one JSON value to a file (the only element this DoFn ever sees)."""

    def __init__(self, path: str):
        self._path = path

    def process(self, value: Any) -> None:
        with FileSystems.create(self._path) as f:
            f.write(json.dumps(value, sort_keys=True).encode())


def tag_as(value: Any, tag: str) -> tuple[str, Any]:
    return tag, value


def build_report(entries: list[tuple[str, dict]]) -> dict[str, list]:
    """Shard reports, counts and stage report rows, sorted, as the driver reads them."""
    shards = sorted((e for tag, e in entries if tag == "shard"), key=lambda r: r["path"])
    counts = sorted((e for tag, e in entries if tag == "count"),
                    key=lambda c: (c["kind"], c["source"], c["reason"]))
    stage_rows = sorted((e for tag, e in entries if tag == "stage_row"),
                        key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return {"shards": shards, "counts": counts, "stage_rows": stage_rows}


class WriteBuildReport(beam.PTransform):
    """The pipeline's one sink: every shard report and count, gathered into one JSON file."""

    def __init__(self, staging_dir: str):
        super().__init__()
        self._path = posixpath.join(staging_dir, BUILD_REPORT)

    def expand(self, pcolls):
        reports, counts, stage_rows = pcolls
        return ((reports | "TagShardReports" >> beam.Map(tag_as, "shard"),
                 counts | "TagCounts" >> beam.Map(tag_as, "count"),
                 stage_rows | "TagStageRows" >> beam.Map(tag_as, "stage_row"))
                | "MergeReportEntries" >> beam.Flatten()
                | "GatherReportEntries" >> beam.combiners.ToList()
                | "AssembleReport" >> beam.Map(build_report)
                | "WriteReport" >> beam.ParDo(WriteJsonFn(self._path)))


def reports_from_json(values: list[dict]) -> list[ShardReport]:
    return sorted((ShardReport(**v) for v in values), key=lambda r: r.path)
