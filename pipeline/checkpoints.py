"""Per-input-file checkpoints: a killed build resumes without reading committed files again.

The per-file part of the funnel (read, then normalise) is a function of one input file and the
few config keys that shape it (`file_config`). Each file's output (normalised documents, read
and normalise rejects, documents read and records skipped) is committed under
`<output>/_checkpoints/files/<key>.*`, with

    key = sha256(path, size, sha256 of the file's bytes, sha256 of file_config)

Documents and rejects are Parquet (the shard schemas); the JSON marker holding the counts is
written last (temp name, then rename), so a marker means a complete checkpoint. Everything after
the per-file part (exact dedup, the optional stages, shard writing) depends on all files at
once and reruns from the checkpoints, which is cheap next to reading (HTML extraction dominates,
docs/benchmarks.md). See docs/incremental.md.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from crawl2gpt.core.files import AtomicFile
from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.core.shards import (
    DOCUMENT_SCHEMA,
    REJECTED_SCHEMA,
    ParquetRows,
    ShardConfig,
    document_row,
    rejected_row,
)
from crawl2gpt.pipeline.config import BuildConfig

CHECKPOINT_DIR = "_checkpoints"
CONFIG_NAME = "config.json"
# Bumped when what a checkpoint holds changes, so old checkpoints are never reused.
CHECKPOINT_VERSION = 1
# Text bytes buffered before a row group is written (bounds a worker's memory per file).
BUFFER_TEXT_BYTES = 16 * 1024 * 1024
HASH_CHUNK = 8 * 1024 * 1024


class ResumeError(ValueError):
    """`--resume` cannot reuse the checkpoints (the per-file configuration changed)."""


def file_config(config: BuildConfig, source: str) -> dict[str, Any]:
    """The config keys that shape one file's per-file output (and nothing else)."""
    src = config.source(source)
    return {"version": CHECKPOINT_VERSION,
            "source": {"name": src.name, "role": src.role, "format": src.format,
                       "options": src.options},
            "read": config.to_dict()["read"], "normalize": config.to_dict()["normalize"]}


def _sha256_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes as stored (compressed files are hashed compressed)."""
    digest = hashlib.sha256()
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def checkpoint_key(path: str, size: int, content_sha256: str, file_config_: dict) -> str:
    return _sha256_json({"path": path, "size": size, "sha256": content_sha256,
                         "config": _sha256_json(file_config_)})[:40]


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts (and source lists, keyed by source name) → {"a.b.c": leaf}."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v
                                                 for v in value):
        return flatten({v["name"]: v for v in value}, prefix)
    return {prefix.rstrip("."): value}


def changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """`key: old → new` for every leaf that differs (absent leaves shown as <absent>)."""
    a, b = flatten(old), flatten(new)
    missing = "<absent>"
    return [f"{k}: {a.get(k, missing)!r} → {b.get(k, missing)!r}"
            for k in sorted(set(a) | set(b)) if a.get(k, missing) != b.get(k, missing)]


def per_file_view(config_dict: dict[str, Any]) -> dict[str, Any]:
    """The per-file keys of a whole config dict (sources without their input globs)."""
    sources = [{k: v for k, v in s.items() if k != "inputs"} for s in config_dict["sources"]]
    return {"sources": sources, "read": config_dict["read"],
            "normalize": config_dict["normalize"]}


class CheckpointStore:
    """The checkpoint folder of one output folder."""

    def __init__(self, output_dir: str):
        self.root = posixpath.join(output_dir, CHECKPOINT_DIR)
        self.files = posixpath.join(self.root, "files")

    def reset(self, config: BuildConfig) -> None:
        """Start from zero: drop old checkpoints, record this run's config."""
        self.remove()
        self._write_config(config)

    def prepare_resume(self, config: BuildConfig) -> list[str]:
        """Check the recorded config; returns the changed keys that only rerun global stages.

        Raises ResumeError naming the keys when a per-file key changed.
        """
        path = posixpath.join(self.root, CONFIG_NAME)
        if not FileSystems.exists(path):
            self._write_config(config)
            return []
        with FileSystems.open(path) as f:
            old = json.loads(f.read())
        new = _comparable(config)
        per_file = changed_keys(per_file_view(old), per_file_view(new))
        if per_file:
            raise ResumeError(
                f"{path}: the checkpoints were made with another per-file configuration; "
                f"changed: {'; '.join(per_file)}. Build without --resume to start again.")
        rerun = changed_keys(old, new)
        self._write_config(config)
        return rerun

    def _write_config(self, config: BuildConfig) -> None:
        _write_atomic(posixpath.join(self.root, CONFIG_NAME),
                      json.dumps(_comparable(config), sort_keys=True).encode())

    def remove(self) -> None:
        if FileSystems.exists(self.root):
            FileSystems.delete([self.root])

    def path(self, key: str, part: str) -> str:
        return posixpath.join(self.files, f"{key}.{part}")

    def committed(self, key: str) -> dict[str, Any] | None:
        """The marker of a committed checkpoint, or None."""
        path = self.path(key, "json")
        if not FileSystems.exists(path):
            return None
        with FileSystems.open(path) as f:
            return json.loads(f.read())

    def writer(self, key: str) -> CheckpointWriter:
        return CheckpointWriter(self, key)


def _comparable(config: BuildConfig) -> dict[str, Any]:
    d = config.to_dict()
    d.pop("output_dir")
    return d


def read_rows(path: str, kind: str, expected_rows: int | None = None
              ) -> Iterator[Document | Rejected]:
    """The records of a `documents` or `rejected` Parquet file, row group by row group;
    with `expected_rows`, a file holding another count is an error naming it."""
    schema = DOCUMENT_SCHEMA if kind == "documents" else REJECTED_SCHEMA
    with FileSystems.open(path) as f:
        parquet = pq.ParquetFile(f)
        if expected_rows is not None and parquet.metadata.num_rows != expected_rows:
            raise RuntimeError(f"{path}: holds {parquet.metadata.num_rows} rows, "
                               f"{expected_rows} were written")
        for i in range(parquet.num_row_groups):
            for row in parquet.read_row_group(i).cast(schema).to_pylist():
                yield _record(kind, row)


def _record(part: str, row: dict[str, Any]) -> Document | Rejected:
    if part == "documents":
        row["meta"] = json.loads(row["meta"])
        return Document(**row)
    row["detail"] = json.loads(row["detail"])
    return Rejected(**row)


def _write_atomic(path: str, data: bytes) -> None:
    with AtomicFile(path) as f:
        f.write(data)


class RowFileWriter(ParquetRows):
    """Rows of one schema streamed to a Parquet file that appears whole when closed."""

    def __init__(self, path: str, schema: pa.Schema):
        self.path = path
        self._file = AtomicFile(path)
        super().__init__(self._file, schema, ShardConfig(row_group_bytes=BUFFER_TEXT_BYTES))

    def close(self) -> None:
        super().close()
        self._file.close()


class CheckpointWriter:
    """Collects one file's outputs; `commit` makes them a checkpoint, atomically."""

    def __init__(self, store: CheckpointStore, key: str):
        self._store, self._key = store, key
        self._parts = {"documents": RowFileWriter(store.path(key, "documents.parquet"),
                                                DOCUMENT_SCHEMA),
                       "rejected": RowFileWriter(store.path(key, "rejected.parquet"),
                                               REJECTED_SCHEMA)}

    def add(self, record: Document | Rejected) -> None:
        if isinstance(record, Document):
            self._parts["documents"].add(document_row(record))
        else:
            self._parts["rejected"].add(rejected_row(record))

    def commit(self, counts: list[tuple[tuple[str, str, str], int]], source_file: str
               ) -> dict[str, Any]:
        """Rename the parts into place, then write the marker (the commit point); returns it."""
        for part in self._parts.values():
            part.close()
        marker = {"source_file": source_file, "counts": [list(k) + [n] for k, n in counts],
                  **{name: part.count for name, part in self._parts.items()}}
        _write_atomic(self._store.path(self._key, "json"),
                      json.dumps(marker, sort_keys=True).encode())
        return marker


def marker_counts(marker: dict[str, Any]) -> list[tuple[tuple[str, str, str], int]]:
    return [((kind, source, reason), n) for kind, source, reason, n in marker["counts"]]
