"""Token and document shards open with other tools, without project code (issue 6)."""

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
from datasets import load_dataset

from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import load_build_config
from tests.pipeline.test_build import REPO, write_config
from tests.pipeline.test_build_tokens import tokenize_table


def test_duckdb_polars_and_datasets_read_the_shards(tmp_path, shared_data, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    config = load_build_config(str(write_config(tmp_path, tokenize_table(shared_data))))
    manifest = run_build(config, str(tmp_path / "out")).manifest
    tokens = [str(tmp_path / "out" / s["path"])
              for s in manifest["tokens"]["sources"]["web"]["shards"]]
    docs = [str(tmp_path / "out" / s["path"]) for s in manifest["sources"]["web"]["shards"]]
    expected = {r["id"]: r["tokens"] for p in tokens
                for r in pq.read_table(p, columns=["id", "tokens"]).to_pylist()}

    glob = str(tmp_path / "out" / "tokens" / "web" / "*.parquet")
    rows = duckdb.sql(f"SELECT id, num_tokens, len(tokens) AS n FROM '{glob}'").fetchall()
    assert {r[0]: r[1] for r in rows} == {k: len(v) for k, v in expected.items()}
    assert all(n == m for _, n, m in rows)

    frame = pl.read_parquet(tokens)
    assert dict(zip(frame["id"], frame["tokens"].to_list())) == expected

    dataset = load_dataset("parquet", data_files=tokens, split="train",
                           cache_dir=str(tmp_path / "hf-cache"))
    assert {r["id"]: r["tokens"] for r in dataset} == expected
    assert np.asarray(dataset[0]["tokens"]).dtype.kind in "ui"

    texts = duckdb.sql(f"SELECT count(*) FROM read_parquet({docs!r})").fetchall()[0][0]
    assert texts == manifest["sources"]["web"]["documents"]
