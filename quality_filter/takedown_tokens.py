"""Takedown in token shards: the removed documents' rows leave every token shard too.

A token shard holding a removed document is rewritten (same seed, id type and row groups, so
the bytes are those the build would write without the document) under a new name; the
manifest's `tokens` section gets the new files, counts and the recomputed mixture table.
"""

from __future__ import annotations

import posixpath
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from crawl2gpt.core.config import section_from_dict
from crawl2gpt.mixing.config import TokenizeConfig
from crawl2gpt.mixing.token_shards import read_token_shard, write_token_shard
from crawl2gpt.mixing.weights import compute_mixture


def removed_ids(build_dir: str, rejected_paths: list[str]) -> set[str]:
    """Document ids in the takedown's rejected files."""
    ids: set[str] = set()
    for path in rejected_paths:
        ids.update(pq.read_table(posixpath.join(build_dir, path),
                                 columns=["doc_id"]).column("doc_id").to_pylist())
    return ids


def _rewrite_shard(build_dir: str, shard: dict, removed: set[str], source: str, seed: int,
                   row_group_bytes: int, tag: str) -> dict:
    rows = [(doc_id, tokens) for doc_id, _, tokens in
            read_token_shard(posixpath.join(build_dir, shard["path"])) if doc_id not in removed]
    dtype = pq.read_schema(posixpath.join(build_dir, shard["path"])).field("tokens").type
    relative = shard["path"].removesuffix(".parquet") + f"-{tag}.parquet"
    with tempfile.TemporaryDirectory() as tmp:
        info = write_token_shard(rows, Path(tmp) / "shard.parquet", source=source, seed=seed,
                                 id_dtype=str(dtype.value_type),
                                 row_group_bytes=row_group_bytes)
        with FileSystems.create(posixpath.join(build_dir, relative)) as f:
            f.write((Path(tmp) / "shard.parquet").read_bytes())
    return {"path": relative, "rows": info.num_documents, "tokens": info.num_tokens,
            "bytes": info.bytes, "sha256": info.sha256}


def takedown_tokens(build_dir: str, manifest: dict[str, Any], removed: set[str], tag: str
                    ) -> tuple[list[str], list[str]]:
    """Rewrite the token shards holding removed ids; returns (files written, files replaced)."""
    config = section_from_dict(TokenizeConfig, manifest["config"]["tokenize"], "tokenize")
    section = manifest["tokens"]
    written, replaced = [], []
    for source, entry in section["sources"].items():
        shards = []
        for shard in entry["shards"]:
            ids = pq.read_table(posixpath.join(build_dir, shard["path"]),
                                columns=["id"]).column("id").to_pylist()
            if removed.isdisjoint(ids):
                shards.append(shard)
                continue
            new = _rewrite_shard(build_dir, shard, removed, source, section["seed"],
                                 config.row_group_bytes, tag)
            shards.append(new)
            written.append(new["path"])
            replaced.append(shard["path"])
        entry.update(shards=shards, documents=sum(s["rows"] for s in shards),
                     tokens=sum(s["tokens"] for s in shards))
    table = compute_mixture({s: e["tokens"] for s, e in section["sources"].items()},
                            config.weights, config.token_budget, config.max_epochs,
                            config.weight_sum_tolerance)
    section["mixture"] = {**table.to_dict(), "table": table.render()}
    for source, entry in section["sources"].items():
        entry.update(weight=table.row(source).weight, epochs=table.row(source).epochs)
    return written, replaced
