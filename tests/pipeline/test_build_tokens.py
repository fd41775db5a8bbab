"""The build with a [tokenize] table: token shards that give back the kept text exactly."""

import json
from pathlib import Path

from crawl2gpt.core.shards import read_documents
from crawl2gpt.core.tokenizer import Tokenizer
from crawl2gpt.mixing.token_shards import read_token_shard
from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import load_build_config
from tests.pipeline.test_build import MULTI, shard_hashes, write_config

REPO = Path(__file__).resolve().parents[2]


def tokenize_table(shared_data: Path) -> str:
    return f"""
[tokenize]
tokenizer = "{shared_data / 'tokenizers' / 'gpt2'}"
weights = "by_size"
token_budget = 1000
"""


def test_token_shards_round_trip_to_the_kept_text(tmp_path, shared_data, monkeypatch):
    monkeypatch.chdir(REPO)
    config = load_build_config(str(write_config(tmp_path, tokenize_table(shared_data))))
    out = tmp_path / "out"
    manifest = run_build(config, str(out)).manifest
    kept = {d.id: d.text for s in manifest["sources"]["web"]["shards"]
            for d in read_documents(str(out / s["path"]))}
    tokenizer = Tokenizer.from_path(shared_data / "tokenizers" / "gpt2")
    decoded = {}
    section = manifest["tokens"]["sources"]["web"]
    for shard in section["shards"]:
        for doc_id, _, tokens in read_token_shard(out / shard["path"]):
            assert tokens[-1] == tokenizer.eot_id  # end-of-text closes every document
            decoded[doc_id] = tokenizer.decode(tokens[:-1])
    assert decoded == kept
    assert section["tokens"] == sum(s["tokens"] for s in section["shards"])
    # by_size with one source: weight 1, epochs = budget / tokens
    assert section["weight"] == 1.0
    assert section["epochs"] == 1000 / section["tokens"]


def test_tokenized_build_is_identical_across_runs_and_runners(tmp_path, shared_data,
                                                             monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    config = load_build_config(str(write_config(tmp_path, tokenize_table(shared_data))))
    run_build(config, str(tmp_path / "one"))
    run_build(config, str(tmp_path / "two"), MULTI)
    one, two = shard_hashes(tmp_path / "one"), shard_hashes(tmp_path / "two")
    assert any(p.startswith("tokens/") for p in one) and one == two
    manifests = [json.loads((tmp_path / d / "manifest.json").read_text()) for d in ("one", "two")]
    assert manifests[0] == manifests[1]
