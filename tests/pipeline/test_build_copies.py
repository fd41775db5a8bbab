"""Exact copies of input files under other names: one id per record, one survivor, the same
bytes on every runner (issue #20: ties in the survivor order fell back to arrival order)."""

import shutil
from pathlib import Path

import pytest

from crawl2gpt.core.shards import read_documents
from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import load_build_config
from tests.pipeline.test_build import shard_hashes

WARC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "commoncrawl" / "warc"
MULTI = ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"]
COPIES = 3


def config_for(tmp_path: Path, copies: int, exact_dedup: bool) -> Path:
    data = tmp_path / f"data-{copies}"
    data.mkdir(parents=True, exist_ok=True)
    for original in sorted(WARC.iterdir()):
        for i in range(copies):
            shutil.copy(original, data / f"copy{i}-{original.name}")
    config = tmp_path / f"build-{copies}-{exact_dedup}.toml"
    config.write_text(f"""
[[sources]]
name = "web"
role = "raw"
inputs = ["{data.name}/*"]
format = "warc"
[exact_dedup]
enabled = {str(exact_dedup).lower()}
[shards]
num_buckets = 2
""")
    return config


def build(config: Path, out: Path, args=None) -> list:
    manifest = run_build(load_build_config(str(config)), str(out), args or []).manifest
    shards = manifest["sources"]["web"]["shards"]
    return [d for s in shards for d in read_documents(str(out / s["path"]))]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """The documents of one copy of each file: the reference for the copied builds."""
    tmp = tmp_path_factory.mktemp("single")
    return build(config_for(tmp, 1, exact_dedup=False), tmp / "out")


def test_every_record_has_its_own_id(tmp_path, single):
    docs = build(config_for(tmp_path, COPIES, exact_dedup=False), tmp_path / "out")
    assert len(single) >= 4
    assert len(docs) == COPIES * len(single)
    assert len({d.id for d in docs}) == len(docs)


def test_copies_give_identical_bytes_on_every_runner(tmp_path, single):
    config = config_for(tmp_path, COPIES, exact_dedup=True)
    in_memory = build(config, tmp_path / "one")
    build(config, tmp_path / "two", MULTI)
    assert shard_hashes(tmp_path / "one") == shard_hashes(tmp_path / "two")
    # One survivor per distinct text, as many as one copy of the files holds.
    assert sorted(d.text for d in in_memory) == sorted({d.text for d in single})
