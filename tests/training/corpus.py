"""Token shards and a manifest in the corpus builder's format, written with pyarrow for tests.

Independent of the builder: Parquet files with columns `id`, `source`, `tokens` (list<uint16 or
uint32>), `num_tokens`, a row group every `rows_per_group` rows, and a manifest.json whose
"tokens" section lists each shard's relative path, rows, tokens and sha256.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def write_shard(path: Path, source: str, docs: list[np.ndarray], rows_per_group: int,
                dtype: str = "uint16") -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    item = pa.from_numpy_dtype(np.dtype(dtype))
    table = pa.table({
        "id": pa.array([f"{source}-{i}" for i in range(len(docs))], pa.string()),
        "source": pa.array([source] * len(docs), pa.string()),
        "tokens": pa.array([np.asarray(d, dtype=dtype) for d in docs], pa.list_(item)),
        "num_tokens": pa.array([len(d) for d in docs], pa.int32()),
    })
    pq.write_table(table, path, row_group_size=rows_per_group, compression="zstd")
    return {"rows": len(docs), "tokens": int(sum(len(d) for d in docs)),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def write_corpus(root: Path, sources: dict[str, list[np.ndarray]], weights: dict[str, float],
                 *, vocab_size: int, eot_id: int, rows_per_group: int = 4, shards: int = 1,
                 seed: int = 7, dtype: str = "uint16") -> Path:
    """One folder per source with `shards` files; returns the manifest path."""
    section = {"tokenizer": {"kind": "test", "vocab_size": vocab_size, "eot_id": eot_id,
                             "files_sha256": {}},
               "seed": seed, "sources": {}}
    for name, docs in sources.items():
        entries = []
        per_shard = -(-len(docs) // shards)
        for i in range(shards):
            rel = f"{name}/tokens-{i:05d}-of-{shards:05d}.parquet"
            info = write_shard(root / rel, name, docs[i * per_shard:(i + 1) * per_shard],
                               rows_per_group, dtype)
            entries.append({"path": rel, **info})
        section["sources"][name] = {"shards": entries, "tokens": sum(e["tokens"] for e in entries),
                                    "weight": weights[name], "epochs": 1.0}
    manifest = root / "manifest.json"
    manifest.write_text(json.dumps({"tokens": section}, indent=1))
    return manifest


def counting_docs(num_docs: int, doc_len: int, start: int = 0) -> list[np.ndarray]:
    """Documents whose tokens are start, start+1, ...: every token is unique and traceable."""
    return [np.arange(start + i * doc_len, start + (i + 1) * doc_len) for i in range(num_docs)]
