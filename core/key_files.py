"""Keys exchanged through files: the build's own shuffle for the keys of its global steps
(`pipeline.passes` writes them, the global steps of exact and fuzzy dedup read them).

A pass writes each key row to the file of its key's range (`<staging>/_keys/<step>/
r<range>/<part>.parquet`); the global step then reads one range at a time (`read_range`), so
what a worker holds is one range's keys, whatever the input size: `num_ranges` grows with the
input. Beam's own shuffles would hold every key at once on the local runners.
"""

from __future__ import annotations

import hashlib
import math
import posixpath
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from crawl2gpt.core.files import AtomicFile

KEYS_DIR = "_keys"

EXACT_KEY_SCHEMA = pa.schema([
    pa.field("key", pa.string(), nullable=False),
    pa.field("crawl_date", pa.string(), nullable=False),
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("source_file", pa.string(), nullable=False),
    pa.field("source_offset", pa.int64(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("part", pa.string(), nullable=False),
    pa.field("build", pa.int32(), nullable=False),  # -1: this build; n: previous build n
])

BAND_KEY_SCHEMA = pa.schema([
    pa.field("band", pa.int32(), nullable=False),
    pa.field("band_hash", pa.int64(), nullable=False),
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("role", pa.string(), nullable=False),
    pa.field("quality_score", pa.float64()),
    pa.field("length", pa.int64(), nullable=False),
    pa.field("part", pa.string(), nullable=False),
])


def num_ranges(input_bytes: int, bytes_per_range: int) -> int:
    """Ranges for a step: one per `bytes_per_range` of input, at least one."""
    return max(1, math.ceil(input_bytes / bytes_per_range))


def range_of(key: Any, ranges: int) -> int:
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % ranges


@dataclass(frozen=True)
class KeyFiles:
    """One global step's key files: rows of `schema`, in the range of their `range_fields`."""

    staging_dir: str
    step: str
    ranges: int
    schema: pa.Schema
    range_fields: tuple[str, ...]

    def range_of_row(self, row: dict) -> int:
        return range_of(tuple(row[f] for f in self.range_fields), self.ranges)

    def folder(self, r: int) -> str:
        return posixpath.join(self.staging_dir, KEYS_DIR, self.step, f"r{r:05d}")

    def write_part(self, part: str, rows_by_range: dict[int, list[dict]]) -> None:
        """One part's key rows, a file per range that has some."""
        for r, rows in sorted(rows_by_range.items()):
            with AtomicFile(posixpath.join(self.folder(r), f"{part}.parquet")) as f:
                pq.write_table(pa.Table.from_pylist(rows, schema=self.schema), f,
                               compression="zstd")

    def read_range(self, r: int) -> Iterator[dict]:
        """Every part's rows of range `r` (parts in name order)."""
        matched = FileSystems.match([posixpath.join(self.folder(r), "*.parquet")])[0]
        for path in sorted(m.path for m in matched.metadata_list):
            with FileSystems.open(path) as f:
                yield from pq.read_table(f, schema=self.schema).to_pylist()


class KeyWriter:
    """Collects one part's key rows by range; `close` writes them (one part's keys at most
    are held: bounded by the input file's size)."""

    def __init__(self, files: KeyFiles, part: str):
        self._files, self._part = files, part
        self._rows: dict[int, list[dict]] = defaultdict(list)

    def add(self, row: dict) -> None:
        self._rows[self._files.range_of_row(row)].append(row)

    def close(self) -> None:
        self._files.write_part(self._part, self._rows)
        self._rows = defaultdict(list)
