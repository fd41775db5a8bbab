"""The build's own composite transforms: read, normalise, exact dedup, count, write shards.

Each composite wires a plain-Python core (`pipeline.sources`, `normalize`, `exact_dedup`,
`shards`) into Beam; `expand` is wiring only. Every removal leaves a `Rejected` row on the
`rejected` output, which the writer turns into `rejected/` shards and the manifest counts.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any, Iterable

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from pipeline import exact_dedup, normalize
from pipeline.config import BuildConfig, ExactDedupConfig, NormalizeConfig, ShardConfig
from pipeline.progress import CountingReader, ProgressLine
from pipeline.records import Document, Rejected
from pipeline.shards import (ShardReport, bucket_of, document_row, rejected_bucket_key,
                             rejected_row, rejected_sort_key, write_bucket)
from pipeline.sources import ReadContext, get_reader

REJECTED = "rejected"


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
                        yield item
                    elif isinstance(item, Rejected):
                        yield TaggedOutput(REJECTED, item)
                    else:
                        yield TaggedOutput("skipped", (item.source, item.reason))
                self._bytes.inc(stream.bytes_read)
        except Exception as e:  # noqa: BLE001 - a reader bug or I/O error must not kill the build
            yield TaggedOutput(REJECTED, ctx.reject("file_failed", error=f"{type(e).__name__}: {e}"))

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
                | "ReadFile" >> beam.ParDo(ReadFileFn(self._config)).with_outputs(
                    REJECTED, "skipped", main="documents"))


class NormalizeFn(beam.DoFn):
    def __init__(self, config: NormalizeConfig):
        self._config = config

    def process(self, doc: Document) -> Iterable[Any]:
        result = normalize.normalize_document(doc, self._config)
        yield TaggedOutput(REJECTED, result) if isinstance(result, Rejected) else result


class NormalizeText(beam.PTransform):
    def __init__(self, config: NormalizeConfig):
        super().__init__()
        self._config = config

    def expand(self, docs):
        outputs = docs | "Normalize" >> beam.ParDo(NormalizeFn(self._config)).with_outputs(
            REJECTED, main="kept")
        return outputs.kept, outputs[REJECTED]


def key_by_text(doc: Document, scope: str) -> tuple[str, Document]:
    return exact_dedup.dedup_key(doc, scope), doc


class ChooseSurvivorFn(beam.DoFn):
    def process(self, element: tuple[str, Iterable[Document]]) -> Iterable[Any]:
        kept, rejects = exact_dedup.choose_survivor(element[1])
        yield kept
        for r in rejects:
            yield TaggedOutput(REJECTED, r)


class ExactDedup(beam.PTransform):
    """One copy of each normalised text survives (earliest crawl date, then smallest id)."""

    def __init__(self, config: ExactDedupConfig):
        super().__init__()
        self._config = config

    def expand(self, docs):
        outputs = (docs
                   | "KeyByTextHash" >> beam.Map(key_by_text, self._config.scope)
                   | "GroupByTextHash" >> beam.GroupByKey()
                   | "ChooseSurvivor" >> beam.ParDo(ChooseSurvivorFn()).with_outputs(
                       REJECTED, main="kept"))
        return outputs.kept, outputs[REJECTED]


def count_key_of_document(doc: Document) -> tuple[str, str, str]:
    return ("documents_read", doc.source, "")


def count_key_of_skip(skip: tuple[str, str]) -> tuple[str, str, str]:
    return ("skipped", skip[0], skip[1])


class WriteJsonFn(beam.DoFn):
    """Write one JSON value to a file (the only element this DoFn ever sees)."""

    def __init__(self, path: str):
        self._path = path

    def process(self, value: Any) -> None:
        with FileSystems.create(self._path) as f:
            f.write(json.dumps(value, sort_keys=True).encode())


class CountRecords(beam.PTransform):
    """Count documents read and records skipped per source into `counts.json` in staging."""

    def __init__(self, staging_dir: str):
        super().__init__()
        self._path = posixpath.join(staging_dir, "counts.json")

    def expand(self, pcolls):
        documents, skipped = pcolls
        read_keys = documents | "KeyDocumentsRead" >> beam.Map(count_key_of_document)
        skip_keys = skipped | "KeySkipped" >> beam.Map(count_key_of_skip)
        return ((read_keys, skip_keys)
                | "MergeCountKeys" >> beam.Flatten()
                | "CountPerKey" >> beam.combiners.Count.PerElement()
                | "GatherCounts" >> beam.combiners.ToList()
                | "WriteCounts" >> beam.ParDo(WriteJsonFn(self._path)))


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
    """Documents and rejects → Parquet shards in staging, and `reports.json` describing them."""

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
                | "WriteBucket" >> beam.ParDo(WriteBucketFn(self._staging_dir, self._config))
                | "GatherReports" >> beam.combiners.ToList()
                | "WriteReports" >> beam.ParDo(
                    WriteJsonFn(posixpath.join(self._staging_dir, "reports.json"))))


def reports_from_json(values: list[dict]) -> list[ShardReport]:
    return sorted((ShardReport(**v) for v in values), key=lambda r: r.path)
