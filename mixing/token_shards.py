"""Per-source Parquet token shards in a deterministic shuffled order, for sequential streaming.

A document's place comes from `shuffle_key(seed, doc_id)` (64 bits of blake2b), never from
arrival order. `shuffle_bucket` cuts the key range into `num_files` contiguous slices, so
writing bucket i to file i, each file sorted by (key, id), puts a whole source in one global
shuffled order: a trainer reads files in name order and rows in file order, one row group at a
time (no random reads inside Parquet; for random access export to Megatron's indexed format).

Schema (explicit): `id` string, `source` string, `tokens` list<uint16|uint32> (end-of-text
last), `num_tokens` int32; zstd; one row group per `row_group_bytes` of token ids.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from crawl2gpt.core.tokenizer import sha256_file

ID_DTYPES = ("uint16", "uint32")
SHARD_FORMAT = "crawl2gpt-token-shard/1"


class ShardError(ValueError):
    """Rows or files that do not fit the token-shard format; the message names the file."""


def token_schema(id_dtype: str) -> pa.Schema:
    if id_dtype not in ID_DTYPES:
        raise ShardError(f"token id type {id_dtype!r} is not one of {ID_DTYPES}")
    return pa.schema([
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("tokens", pa.list_(pa.from_numpy_dtype(np.dtype(id_dtype))), nullable=False),
        pa.field("num_tokens", pa.int32(), nullable=False),
    ])


def shuffle_key(seed: int, doc_id: str) -> int:
    """A document's 64-bit place in its source's shuffled order: blake2b-8 of 'seed:doc_id'."""
    digest = hashlib.blake2b(f"{seed}:{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def shuffle_bucket(key: int, num_files: int) -> int:
    """The file (0…num_files-1) holding `key`: contiguous key ranges, in key order."""
    return (key * num_files) >> 64


def shuffled(rows: Iterable[tuple[str, np.ndarray]], seed: int) -> list[tuple[str, np.ndarray]]:
    """(doc id, tokens) rows sorted by (shuffle key, id): the same order for any input order."""
    return sorted(rows, key=lambda r: (shuffle_key(seed, r[0]), r[0]))


@dataclass(frozen=True)
class ShardInfo:
    """One written file, as the manifest records it."""

    path: str
    num_documents: int
    num_tokens: int
    num_row_groups: int
    bytes: int
    sha256: str


def write_token_shard(rows: Iterable[tuple[str, np.ndarray]], path: str | Path, *, source: str,
                      seed: int, id_dtype: str, row_group_bytes: int) -> ShardInfo:
    """Write one shard of `source`'s (doc id, token ids) rows in shuffled order.

    A row group closes once it holds `row_group_bytes` of token ids (so groups hold at least
    that much, except the last, and at most that plus one document).
    """
    if row_group_bytes <= 0:
        raise ShardError(f"row_group_bytes must be > 0, got {row_group_bytes}")
    schema = token_schema(id_dtype)
    dtype = np.dtype(id_dtype)
    limit = np.iinfo(dtype).max
    schema = schema.with_metadata({"crawl2gpt": json.dumps(
        {"format": SHARD_FORMAT, "source": source, "seed": seed, "order": "blake2b-8(seed:id)"})})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    num_docs = num_tokens = groups = 0
    with pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=["source"],
                          write_statistics=["id", "num_tokens"]) as writer:
        group: list[tuple[str, np.ndarray]] = []
        group_bytes = 0
        for doc_id, tokens in shuffled(rows, seed):
            tokens = np.asarray(tokens)
            if tokens.size and (tokens.min() < 0 or tokens.max() > limit):
                raise ShardError(f"{path}: document {doc_id} has token id "
                                 f"{int(tokens.max())} outside {id_dtype}")
            group.append((doc_id, tokens.astype(dtype, copy=False)))
            group_bytes += tokens.size * dtype.itemsize
            num_docs += 1
            num_tokens += tokens.size
            if group_bytes >= row_group_bytes:
                writer.write_table(_table(group, source, schema), row_group_size=len(group))
                groups += 1
                group, group_bytes = [], 0
        if group or groups == 0:
            writer.write_table(_table(group, source, schema), row_group_size=max(1, len(group)))
            groups += 1
    return ShardInfo(str(path), num_docs, num_tokens, groups, path.stat().st_size,
                     sha256_file(path))


def _table(group: list[tuple[str, np.ndarray]], source: str, schema: pa.Schema) -> pa.Table:
    """One row group's columns, built from the token arrays without a Python-level copy."""
    item_type = schema.field("tokens").type.value_type
    lengths = np.fromiter((t.size for _, t in group), dtype=np.int32, count=len(group))
    offsets = np.zeros(len(group) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = np.concatenate([t for _, t in group] or [np.empty(0, str(item_type))])
    tokens = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, item_type))
    return pa.Table.from_arrays(
        [pa.array([i for i, _ in group], pa.string()), pa.array([source] * len(group)),
         tokens, pa.array(lengths, pa.int32())], schema=schema)


def write_source_shards(rows: Iterable[tuple[str, np.ndarray]], out_dir: str | Path, *,
                        source: str, seed: int, id_dtype: str, row_group_bytes: int,
                        num_files: int = 1) -> list[ShardInfo]:
    """All of one source's rows (in memory) into `num_files` bucketed shards, in order."""
    buckets: list[list[tuple[str, np.ndarray]]] = [[] for _ in range(num_files)]
    for doc_id, tokens in rows:
        buckets[shuffle_bucket(shuffle_key(seed, doc_id), num_files)].append((doc_id, tokens))
    if not any(buckets):
        raise ShardError(f"source {source!r} has no documents to write")
    return [write_token_shard(b, shard_path(out_dir, source, i, num_files), source=source,
                              seed=seed, id_dtype=id_dtype, row_group_bytes=row_group_bytes)
            for i, b in enumerate(buckets)]


def shard_path(out_dir: str | Path, source: str, index: int, num_files: int) -> Path:
    return Path(out_dir) / source / f"tokens-{index:05d}-of-{num_files:05d}.parquet"


def read_token_shard(path: str | Path) -> Iterator[tuple[str, str, np.ndarray]]:
    """(id, source, tokens) per row, one row group in memory at a time."""
    f = pq.ParquetFile(path)
    for i in range(f.num_row_groups):
        group = f.read_row_group(i, columns=["id", "source", "tokens"])
        tokens = group.column("tokens").combine_chunks()
        values = tokens.values.to_numpy()
        offsets = tokens.offsets.to_numpy()
        for j, (doc_id, source) in enumerate(zip(group.column("id").to_pylist(),
                                                 group.column("source").to_pylist())):
            yield doc_id, source, values[offsets[j]:offsets[j + 1]]
