"""Parquet shard files: explicit schemas, deterministic placement and bytes, one report per file.

Rows go to bucket `hash(id) % num_buckets` (never by Beam's bundling), are sorted by id within
a bucket, and rotate to a new file past `target_file_bytes`; row groups hold about
`row_group_bytes` of text. File contents carry no timestamps and no absolute paths, so the
same rows always give byte-identical files. Each written file is reported (path relative to the
output root, rows, bytes, sha256, reason counts) and the manifest is assembled from the reports.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import posixpath
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable

import pyarrow as pa
import pyarrow.parquet as pq

from crawl2gpt.core.records import Document, Rejected


@dataclass
class ShardConfig:
    num_buckets: int = 4
    """Rows go to bucket hash(id) % num_buckets: independent of bundling and workers."""
    target_file_bytes: int = 256 * 1024 * 1024
    """A bucket's rows rotate to a new file past this many text bytes."""
    row_group_bytes: int = 32 * 1024 * 1024
    """Text bytes per Parquet row group (streaming readers decode one group at a time)."""
    compression: str = "zstd"


DOCUMENT_SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("text", pa.large_string(), nullable=False),
    pa.field("url", pa.string()),
    pa.field("crawl_date", pa.string()),
    pa.field("record_id", pa.string()),
    pa.field("source_file", pa.string()),
    pa.field("source_offset", pa.int64()),
    pa.field("language", pa.string()),
    pa.field("language_score", pa.float32()),
    pa.field("quality_score", pa.float32()),
    pa.field("meta", pa.string(), nullable=False),
])

REJECTED_SCHEMA = pa.schema([
    pa.field("source", pa.string(), nullable=False),
    pa.field("stage", pa.string(), nullable=False),
    pa.field("reason", pa.string(), nullable=False),
    pa.field("source_file", pa.string()),
    pa.field("source_offset", pa.int64()),
    pa.field("record_id", pa.string()),
    pa.field("doc_id", pa.string()),
    pa.field("url", pa.string()),
    pa.field("text", pa.large_string()),
    pa.field("text_truncated", pa.bool_(), nullable=False),
    pa.field("detail", pa.string(), nullable=False),
])

# The index of a build (docs/incremental.md): what a later build deduplicates against.
EXACT_INDEX_SCHEMA = pa.schema([
    pa.field("key", pa.string(), nullable=False),
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
])

BAND_INDEX_SCHEMA = pa.schema([
    pa.field("band", pa.int32(), nullable=False),
    pa.field("band_hash", pa.int64(), nullable=False),
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("role", pa.string(), nullable=False),
])

# Index kinds of a build's manifest → their shard kind.
INDEX_KINDS = {"exact": "index_exact", "bands": "index_bands"}
SCHEMAS = {"documents": DOCUMENT_SCHEMA, "rejected": REJECTED_SCHEMA,
           "index_exact": EXACT_INDEX_SCHEMA, "index_bands": BAND_INDEX_SCHEMA}
"""Row schema per shard kind; index kinds are written under `index/<exact|bands>/<source>/`."""


def document_row(doc: Document) -> dict[str, Any]:
    row = dataclasses.asdict(doc)
    row["meta"] = json.dumps(doc.meta, sort_keys=True, default=str)
    return row


def rejected_row(rej: Rejected) -> dict[str, Any]:
    row = dataclasses.asdict(rej)
    row["detail"] = rej.detail_json()
    return row


def rejected_sort_key(rej: Rejected) -> tuple:
    """A total order on rejects: input rejects have no doc id, so file and offset decide."""
    return (rej.doc_id or "", rej.source_file or "", rej.source_offset or -1,
            rej.record_id or "", rej.reason, rej.detail_json())


def bucket_of(key: str, num_buckets: int) -> int:
    """The bucket of a row, from a hash of its id (stable across runs and machines)."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % num_buckets


def rejected_bucket_key(rej: Rejected) -> str:
    return rej.doc_id or f"{rej.source_file}@{rej.source_offset}#{rej.record_id}"


@dataclass
class ShardReport:
    """What a writer says about one file it wrote (the manifest's source of truth)."""

    path: str
    """Relative to the output root, '/'-separated."""
    kind: str
    """`documents`, `rejected`, `tokens`, `index_exact` or `index_bands`."""
    source: str
    rows: int
    text_bytes: int
    file_bytes: int
    sha256: str
    stage: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    tokens: int = 0
    """Token ids in the file (token shards only)."""
    languages: dict[str, int] = field(default_factory=dict)
    """Documents per language label (document shards; unlabelled documents not counted)."""
    derived: int = 0
    """Documents that rows of this rejected file were replaced by (`detail.piece_ids`, e.g.
    the pieces contamination cuts a document into): they enter the funnel at that stage."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _text_bytes(row: dict[str, Any]) -> int:
    text = row.get("text") or ""
    return len(text.encode("utf-8", "surrogatepass"))


def parquet_bytes(rows: list[dict[str, Any]], schema: pa.Schema, config: ShardConfig) -> bytes:
    """One Parquet file's bytes, deterministic for the same rows and library versions."""
    buffer = io.BytesIO()
    writer = ParquetRows(buffer, schema, config)
    for row in rows:
        writer.add(row)
    writer.close()
    return buffer.getvalue()


class _HashingFile:
    """A writable file that counts and hashes what goes through it."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes = 0
        self.closed = False

    def write(self, data) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        self._raw.write(data)
        return len(data)

    def tell(self) -> int:
        return self.bytes

    def flush(self) -> None:
        self._raw.flush()

    def close(self) -> None:
        self.closed = True


class ParquetRows:
    """Rows streamed into one Parquet file, a row group per `row_group_bytes` of text (a
    writer holds one row group, never the whole file)."""

    def __init__(self, sink: BinaryIO, schema: pa.Schema, config: ShardConfig):
        self.schema = schema
        self._writer = pq.ParquetWriter(sink, schema, compression=config.compression,
                                        write_statistics=True, store_schema=True)
        self._group_bytes = config.row_group_bytes
        self._group: list[dict[str, Any]] = []
        self._group_text = 0
        self.text_bytes = 0
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        size = _text_bytes(row)
        self._group.append(row)
        self._group_text += size
        self.text_bytes += size
        self.count += 1
        if self._group_text >= self._group_bytes:
            self._flush()

    def _flush(self) -> None:
        if self._group:
            self._writer.write_table(pa.Table.from_pylist(self._group, schema=self.schema))
        self._group, self._group_text = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()


class ShardWriter:
    """Rows of one (kind, source, stage) streamed, in the order given, into size-rotated
    Parquet files `<relative_dir>/<basename>-NNNN.parquet`; `close` reports each file.

    A worker holds one row group, never the whole shard. `open_file(relative_path)` gives
    the writable file, so the same code writes locally, to staging or to object storage.
    """

    def __init__(self, *, kind: str, source: str, stage: str | None, relative_dir: str,
                 basename: str, config: ShardConfig,
                 open_file: Callable[[str], BinaryIO]):
        self._kind, self._source, self._stage = kind, source, stage
        self._relative_dir, self._basename = relative_dir, basename
        self._config, self._open_file = config, open_file
        self._file: tuple[str, BinaryIO, _HashingFile, ParquetRows] | None = None
        self._reasons: Counter = Counter()
        self._languages: Counter = Counter()
        self._derived = 0
        self._rows = 0
        self.reports: list[ShardReport] = []

    def add(self, row: dict[str, Any]) -> None:
        if self._file is not None and self._file[3].text_bytes >= self._config.target_file_bytes:
            self._close_file()
        if self._file is None:
            path = posixpath.join(self._relative_dir,
                                  f"{self._basename}-{len(self.reports):04d}.parquet")
            raw = self._open_file(path)
            hashing = _HashingFile(raw)
            self._file = (path, raw, hashing, ParquetRows(hashing, SCHEMAS[self._kind],
                                                           self._config))
        self._file[3].add(row)
        self._rows += 1
        if self._kind == "rejected":
            self._reasons[row["reason"]] += 1
            self._derived += len(json.loads(row["detail"]).get("piece_ids", ()))
        elif self._kind == "documents" and row["language"]:
            self._languages[row["language"]] += 1

    def _close_file(self) -> None:
        path, raw, hashing, parquet = self._file
        parquet.close()
        raw.close()
        self.reports.append(ShardReport(
            path=path, kind=self._kind, source=self._source, stage=self._stage,
            rows=self._rows, text_bytes=parquet.text_bytes, file_bytes=hashing.bytes,
            sha256=hashing.sha256.hexdigest(), reasons=dict(sorted(self._reasons.items())),
            languages=dict(sorted(self._languages.items())), derived=self._derived))
        self._file = None
        self._reasons, self._languages, self._derived, self._rows = Counter(), Counter(), 0, 0

    def close(self) -> list[ShardReport]:
        if self._file is not None:
            self._close_file()
        return self.reports


class ShardWriters:
    """Streamed shards by a key (bucket, stage, source, ...): the writer of a key is made on
    first use by `make(key)`; `close` reports every file, in key order."""

    def __init__(self, make: Callable[[Any], ShardWriter]):
        self._make = make
        self._writers: dict[Any, ShardWriter] = {}

    def add(self, key: Any, row: dict[str, Any]) -> None:
        if key not in self._writers:
            self._writers[key] = self._make(key)
        self._writers[key].add(row)

    def close(self) -> list[ShardReport]:
        return [report for _, writer in sorted(self._writers.items())
                for report in writer.close()]


class _BufferedFile(io.BytesIO):
    """A file held in memory and handed to `write_file(path, bytes)` when closed."""

    def __init__(self, path: str, write_file: Callable[[str, bytes], None]):
        super().__init__()
        self._path, self._write_file = path, write_file

    def close(self) -> None:
        if not self.closed:
            self._write_file(self._path, self.getvalue())
        super().close()


def write_bucket(rows: list[dict[str, Any]], *, kind: str, source: str, stage: str | None,
                 relative_dir: str, basename: str, config: ShardConfig,
                 write_file: Callable[[str, bytes], None]) -> list[ShardReport]:
    """Write one bucket's rows (already sorted) as size-rotated files; report each file.

    `write_file(relative_path, data)` does the I/O, so the same code writes locally, to a
    staging folder or to object storage.
    """
    writer = ShardWriter(kind=kind, source=source, stage=stage, relative_dir=relative_dir,
                         basename=basename, config=config,
                         open_file=lambda path: _BufferedFile(path, write_file))
    for row in rows:
        writer.add(row)
    return writer.close()


def read_documents(path: str) -> list[Document]:
    """Documents of one shard file (for tests, inspection and later stages)."""
    docs = []
    for row in pq.read_table(path, schema=DOCUMENT_SCHEMA).to_pylist():
        row["meta"] = json.loads(row["meta"])
        docs.append(Document(**row))
    return docs
