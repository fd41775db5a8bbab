"""The build's own composite transforms: read and normalise (per file, checkpointed), exact
dedup, count, write shards.

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
from collections import Counter
from typing import Any, Iterable

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from crawl2gpt.core.beam_utils import SplitByTag
from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.core.shards import (
    ShardReport,
    bucket_of,
    document_row,
    rejected_bucket_key,
    rejected_row,
    rejected_sort_key,
    write_bucket,
)
from crawl2gpt.pipeline import exact_dedup, normalize
from crawl2gpt.pipeline.checkpoints import (
    CheckpointStore,
    checkpoint_key,
    file_config,
    file_sha256,
    marker_counts,
)
from crawl2gpt.pipeline.config import BuildConfig, ExactDedupConfig, ShardConfig
from crawl2gpt.pipeline.progress import CountingReader, ProgressLine
from crawl2gpt.pipeline.sources import ReadContext, get_reader

REJECTED = "rejected"
BUILD_REPORT = "build_report.json"


class ProcessFileFn(beam.DoFn):
    """(source, path, size) → the file's normalised documents, its read and normalise rejects
    and its counts, always as committed in the file's checkpoint (see `pipeline.checkpoints`).

    A file with a committed checkpoint is not read again; one without is read, normalised and
    committed first. Emitting what the checkpoint holds (not the in-memory records) makes a
    resumed build see exactly what an uninterrupted one sees.
    """

    def __init__(self, config: BuildConfig, output_dir: str):
        self._sources = {s.name: s for s in config.sources}
        self._file_configs = {s.name: file_config(config, s.name) for s in config.sources}
        self._normalize = config.normalize
        self._max_record_bytes = config.read.max_record_bytes
        self._output_dir = output_dir
        self._documents = Metrics.counter("ReadSources", "documents_read")
        self._bytes = Metrics.counter("ReadSources", "input_bytes")
        self._files_read = Metrics.counter("ReadSources", "files_read")
        self._files_reused = Metrics.counter("ReadSources", "files_from_checkpoint")

    def setup(self) -> None:
        self._progress = ProgressLine()
        self._store = CheckpointStore(self._output_dir)

    def process(self, element: tuple[str, str, int]) -> Iterable[Any]:
        name, path, size = element
        key = checkpoint_key(path, size, file_sha256(path), self._file_configs[name])
        marker = self._store.committed(key)
        if marker is None:
            marker = self._process_file(name, path, key)
            self._files_read.inc()
        else:
            self._files_reused.inc()
        for record in self._store.load(key, marker):
            yield ("documents" if isinstance(record, Document) else REJECTED), record
        for count in marker_counts(marker):
            yield "count", count

    def _process_file(self, name: str, path: str, key: str) -> dict[str, Any]:
        ctx = ReadContext(self._sources[name], path, self._max_record_bytes)
        writer = self._store.writer(key)
        counts: Counter = Counter()
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
            stream = CountingReader(raw, self._progress)
            for item in read_items(stream, ctx):
                if isinstance(item, Document):
                    counts["documents_read", name, ""] += 1
                    self._documents.inc()
                    self._progress.add_document()
                    writer.add(normalize.normalize_document(item, self._normalize))
                elif isinstance(item, Rejected):
                    writer.add(item)
                else:
                    counts["skipped", item.source, item.reason] += 1
            self._bytes.inc(stream.bytes_read)
        return writer.commit(sorted(counts.items()), path)

    def teardown(self) -> None:
        self._progress.finish()


def read_items(stream, ctx: ReadContext) -> Iterable[Any]:
    """The reader's records; a reader that raises ends the file with a `file_failed` reject
    (a reader bug or I/O error must not kill the build)."""
    try:
        yield from get_reader(ctx.source.format)(stream, ctx)
    except Exception as e:  # noqa: BLE001
        yield ctx.reject("file_failed", error=f"{type(e).__name__}: {e}")


class ReadFiles(beam.PTransform):
    """Read and normalise every input file through its checkpoint; files are spread over
    workers by a reshuffle. Outputs (documents, rejects, count entries ((kind, source,
    reason), n))."""

    def __init__(self, config: BuildConfig, files: list[tuple[str, str, int]], output_dir: str):
        super().__init__()
        self._config = config
        self._files = files
        self._output_dir = output_dir

    def expand(self, pbegin):
        return (pbegin
                | "ListInputFiles" >> beam.Create(self._files)
                | "SpreadFiles" >> beam.Reshuffle()
                | "ProcessFile" >> beam.ParDo(ProcessFileFn(self._config, self._output_dir))
                | "SplitFileOutputs" >> SplitByTag("documents", REJECTED, "count"))


def key_by_text(doc: Document, scope: str) -> tuple[str, Document]:
    return exact_dedup.dedup_key(doc, scope), doc


def exact_index_row(doc: Document, scope: str) -> tuple[str, dict[str, str]]:
    """("index_exact", row) of an exact-dedup survivor, for later builds to dedup against."""
    return "index_exact", {"key": exact_dedup.dedup_key(doc, scope), "doc_id": doc.id,
                           "source": doc.source}


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


def count_entry(element: tuple[tuple[str, str, str], int]) -> dict[str, Any]:
    (kind, source, reason), n = element
    return {"kind": kind, "source": source, "reason": reason, "n": n}


class CountRecords(beam.PTransform):
    """Per-file count entries → one dict per (kind, source, reason): documents read, records
    skipped."""

    def expand(self, counts):
        return (counts
                | "SumPerKey" >> beam.CombinePerKey(sum)
                | "ToCountEntries" >> beam.Map(count_entry))


def key_document_by_bucket(doc: Document, num_buckets: int) -> tuple[tuple, dict]:
    return ("documents", doc.source, "", bucket_of(doc.id, num_buckets)), document_row(doc)


def key_rejected_by_bucket(rej: Rejected, num_buckets: int) -> tuple[tuple, Rejected]:
    bucket = bucket_of(rejected_bucket_key(rej), num_buckets)
    return ("rejected", rej.source, rej.stage, bucket), rej


def key_index_row_by_bucket(item: tuple[str, dict], num_buckets: int) -> tuple[tuple, dict]:
    kind, row = item
    return (kind, row["source"], "", bucket_of(row["doc_id"], num_buckets)), row


def index_row_order(row: dict[str, Any]) -> tuple:
    return tuple(row.values())


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
        elif kind == "rejected":
            rows = [rejected_row(r) for r in sorted(values, key=rejected_sort_key)]
            relative_dir = posixpath.join("rejected", stage, source)
        else:
            rows = sorted(values, key=index_row_order)
            relative_dir = posixpath.join("index", kind.removeprefix("index_"), source)
        for report in write_bucket(rows, kind=kind, source=source, stage=stage or None,
                                   relative_dir=relative_dir, basename=f"b{bucket:04d}",
                                   config=self._config, write_file=self._write_file):
            yield report.to_dict()


class WriteShards(beam.PTransform):
    """Documents, rejects and index rows ((kind, row) pairs) → Parquet shards in staging;
    outputs one report dict per file."""

    def __init__(self, staging_dir: str, config: ShardConfig):
        super().__init__()
        self._staging_dir = staging_dir
        self._config = config

    def expand(self, pcolls):
        documents, rejected, index_rows = pcolls
        n = self._config.num_buckets
        docs = documents | "KeyDocumentsByBucket" >> beam.Map(key_document_by_bucket, n)
        rejs = rejected | "KeyRejectedByBucket" >> beam.Map(key_rejected_by_bucket, n)
        index = index_rows | "KeyIndexRowsByBucket" >> beam.Map(key_index_row_by_bucket, n)
        return ((docs, rejs, index)
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
