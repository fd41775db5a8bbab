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
from typing import Any, Callable, Iterable

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


def _row_groups(rows: list[dict[str, Any]], group_bytes: int) -> Iterable[list[dict[str, Any]]]:
    group: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        group.append(row)
        size += _text_bytes(row)
        if size >= group_bytes:
            yield group
            group, size = [], 0
    if group:
        yield group


def _split_files(rows: list[dict[str, Any]], file_bytes: int) -> list[list[dict[str, Any]]]:
    files: list[list[dict[str, Any]]] = [[]]
    size = 0
    for row in rows:
        if files[-1] and size >= file_bytes:
            files.append([])
            size = 0
        files[-1].append(row)
        size += _text_bytes(row)
    return files


def parquet_bytes(rows: list[dict[str, Any]], schema: pa.Schema, config: ShardConfig) -> bytes:
    """One Parquet file's bytes, deterministic for the same rows and library versions."""
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, schema, compression=config.compression,
                          write_statistics=True, store_schema=True) as writer:
        for group in _row_groups(rows, config.row_group_bytes):
            writer.write_table(pa.Table.from_pylist(group, schema=schema))
    return buffer.getvalue()


def write_bucket(rows: list[dict[str, Any]], *, kind: str, source: str, stage: str | None,
                 relative_dir: str, basename: str, config: ShardConfig,
                 write_file: Callable[[str, bytes], None]) -> list[ShardReport]:
    """Write one bucket's rows (already sorted) as size-rotated files; report each file.

    `write_file(relative_path, data)` does the I/O, so the same code writes locally, to a
    staging folder or to object storage.
    """
    schema = SCHEMAS[kind]
    reports = []
    for part, file_rows in enumerate(_split_files(rows, config.target_file_bytes)):
        data = parquet_bytes(file_rows, schema, config)
        path = posixpath.join(relative_dir, f"{basename}-{part:04d}.parquet")
        write_file(path, data)
        reasons = Counter(r["reason"] for r in file_rows) if kind == "rejected" else Counter()
        languages = Counter(r["language"] for r in file_rows
                            if kind == "documents" and r["language"])
        derived = sum(len(json.loads(r["detail"]).get("piece_ids", ())) for r in file_rows
                      if kind == "rejected")
        reports.append(ShardReport(
            path=path, kind=kind, source=source, stage=stage, rows=len(file_rows),
            text_bytes=sum(_text_bytes(r) for r in file_rows), file_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(), reasons=dict(sorted(reasons.items())),
            languages=dict(sorted(languages.items())), derived=derived))
    return reports


def read_documents(path: str) -> list[Document]:
    """Documents of one shard file (for tests, inspection and later stages)."""
    docs = []
    for row in pq.read_table(path, schema=DOCUMENT_SCHEMA).to_pylist():
        row["meta"] = json.loads(row["meta"])
        docs.append(Document(**row))
    return docs
