"""The build's own composite transforms: read and normalise (per file, checkpointed, into
parts), exact dedup's decision on keys, count, write the shards of rejects and index rows.

Each composite wires a plain-Python core (`pipeline.sources`, `normalize`, `exact_dedup`,
`shards`) into Beam; `expand` is wiring only. Every removal leaves a `Rejected` row, which
becomes a `rejected/` shard (written per part by the passes, `pipeline.passes`, or here for the
stages that see all documents at once) and is counted by the manifest.
Multi-output steps yield `(tag, value)` pairs split by `SplitByTag` (see `beam_utils`), and the
whole pipeline ends in one sink (`WriteBuildReport`), because the Dask runner executes only
the ancestors of the last transform.
"""

from __future__ import annotations

import json
import posixpath
from collections import Counter, defaultdict
from typing import Any, Iterable

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from crawl2gpt.core.beam_utils import ForEachRange, SplitByTag, staged_file
from crawl2gpt.core.config import join_inside
from crawl2gpt.core.files import AtomicFile
from crawl2gpt.core.key_files import KeyFiles, KeyWriter
from crawl2gpt.core.manifest import OpenedBuild, read_index_rows
from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.core.shards import (
    ShardReport,
    ShardWriter,
    ShardWriters,
    bucket_of,
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
from crawl2gpt.pipeline.config import BuildConfig, ShardConfig
from crawl2gpt.pipeline.parts import Part, part_key
from crawl2gpt.pipeline.progress import CountingReader, ProgressLine
from crawl2gpt.pipeline.sources import ReadContext, get_reader

REJECTED = "rejected"
BUILD_REPORT = "build_report.json"


class ProcessFileFn(beam.DoFn):
    """(source, path, size) → the file's `Part` (its normalised documents and its read and
    normalise rejects, as committed in the file's checkpoint, `pipeline.checkpoints`) and its
    counts.

    A file with a committed checkpoint is not read again; one without is read, normalised and
    committed first. The part names the checkpoint's files, so a resumed build sees exactly
    what an uninterrupted one sees, and no document leaves the worker here.
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
        yield "part", Part(part_key(name, path), name, path,
                           self._store.path(key, "documents.parquet"), marker["documents"],
                           self._store.path(key, "rejected.parquet"), marker["rejected"])
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
    workers by a reshuffle. Outputs (parts, count entries ((kind, source, reason), n))."""

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
                | "SplitFileOutputs" >> SplitByTag("part", "count"))


def exact_key_rows(doc: Document, part: str, _requests: list, scope: str
                   ) -> Iterable[tuple[str, Any]]:
    yield "keys", exact_dedup.key_row(doc, part, scope)


class ExactRangeFn(beam.DoFn):
    """One range of the exact key files → ("removal", PartRemoval) and ("shard", report) of
    the exact index shards of its survivors (`index/exact/<source>/r<range>-<n>.parquet`)."""

    def __init__(self, files: KeyFiles, previous_names: list[str], shards: ShardConfig):
        self._files, self._names, self._shards = files, previous_names, shards

    def process(self, r: int) -> Iterable[tuple[str, Any]]:
        by_key: dict[str, list[dict]] = defaultdict(list)
        for row in self._files.read_range(r):
            by_key[row["key"]].append(row)
        index = ShardWriters(lambda source: ShardWriter(
            kind="index_exact", source=source, stage=None,
            relative_dir=posixpath.join("index", "exact", source), basename=f"r{r:05d}",
            config=self._shards, open_file=staged_file(self._files.staging_dir)))
        for key in sorted(by_key):
            removals, index_row = exact_dedup.decide(by_key[key], self._names)
            for removal in removals:
                yield "removal", removal
            if index_row is not None:
                index.add(index_row["source"], index_row)
        for report in index.close():
            yield "shard", report.to_dict()


class PreviousExactKeysFn(beam.DoFn):
    """(previous build number, file number, exact index file) → its rows written into the
    exact key files (as part `previous-<build>-<file>`); outputs that part name."""

    def __init__(self, files: KeyFiles):
        self._files = files

    def process(self, item: tuple[int, int, str]) -> Iterable[str]:
        build, number, path = item
        part = f"previous-{build:03d}-{number:05d}"
        writer = KeyWriter(self._files, part)
        for row in read_index_rows((build, "exact", path)):
            writer.add(exact_dedup.previous_key_row(row, build))
        writer.close()
        yield part


class DecideExactDuplicates(beam.PTransform):
    """Parts done writing their exact key rows (`exact_dedup.key_row`) → (the `PartRemoval`s of
    exact dedup, exact index shard reports). All copies of a text but the earliest-crawled one
    (then smallest id) go, and texts already in a previous build's exact index (whose rows join
    the key files first). The keys are read one range at a time; the parts apply the removals
    in the next pass."""

    def __init__(self, files: KeyFiles, previous: list[OpenedBuild], shards: ShardConfig):
        super().__init__()
        self._files, self._previous, self._shards = files, previous, shards

    def expand(self, written):
        old = [(build, n, path) for build, prev in enumerate(self._previous)
               for n, path in enumerate(prev.index_files("exact"))]
        previous_written = (written.pipeline | "ListPreviousIndex" >> beam.Create(old)
                            | "PreviousKeys" >> beam.ParDo(PreviousExactKeysFn(self._files)))
        all_written = (written, previous_written) | "AllKeysWritten" >> beam.Flatten()
        return (all_written
                | "PerTextKeyRange" >> ForEachRange(self._files, ExactRangeFn(
                    self._files, [p.manifest_path for p in self._previous], self._shards))
                | "SplitExact" >> SplitByTag("removal", "shard"))


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


def key_rejected_by_bucket(rej: Rejected, num_buckets: int) -> tuple[tuple, Rejected]:
    bucket = bucket_of(rejected_bucket_key(rej), num_buckets)
    return ("rejected", rej.source, rej.stage, bucket), rej


def key_index_row_by_bucket(item: tuple[str, dict], num_buckets: int) -> tuple[tuple, dict]:
    kind, row = item
    return (kind, row["source"], "", bucket_of(row["doc_id"], num_buckets)), row


def index_row_order(row: dict[str, Any]) -> tuple:
    return tuple(row.values())


class WriteBucketFn(beam.DoFn):
    """Write one (kind, source, stage, bucket) group of rejects or index rows as sorted,
    size-rotated Parquet files."""

    def __init__(self, staging_dir: str, config: ShardConfig):
        self._staging_dir = staging_dir
        self._config = config

    def _write_file(self, relative_path: str, data: bytes) -> None:
        with AtomicFile(join_inside(self._staging_dir, relative_path)) as f:
            f.write(data)

    def process(self, element: tuple[tuple, Iterable[Any]]) -> Iterable[dict]:
        (kind, source, stage, bucket), values = element
        if kind == "rejected":
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
    """Rejects of the stages that see all documents at once and index rows ((kind, row)
    pairs) → Parquet shards in staging, by bucket; outputs one report dict per file. (The
    passes write document shards and their own rejects per part, `pipeline.passes`.)"""

    def __init__(self, staging_dir: str, config: ShardConfig):
        super().__init__()
        self._staging_dir = staging_dir
        self._config = config

    def expand(self, pcolls):
        rejected, index_rows = pcolls
        n = self._config.num_buckets
        rejs = rejected | "KeyRejectedByBucket" >> beam.Map(key_rejected_by_bucket, n)
        index = index_rows | "KeyIndexRowsByBucket" >> beam.Map(key_index_row_by_bucket, n)
        return ((rejs, index)
                | "MergeRows" >> beam.Flatten()
                | "GroupByBucket" >> beam.GroupByKey()
                | "WriteBucket" >> beam.ParDo(WriteBucketFn(self._staging_dir, self._config)))


class WriteJsonFn(beam.DoFn):
    """Write one JSON value to a file (the only element this DoFn ever sees)."""

    def __init__(self, path: str):
        self._path = path

    def process(self, value: Any) -> None:
        with AtomicFile(self._path) as f:
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
