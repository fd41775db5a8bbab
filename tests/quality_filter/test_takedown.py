"""Takedown on a small real build: the right rows go, the manifest's checksums stay valid.

Eight JSONL documents on six hosts; the takedown lists the domain `example.com` (2 documents:
example.com and news.example.com, not notexample.com) and the URL https://other.org/page-2
(1 document). Expected by hand: 3 removed (2 by domain, 1 by URL), 5 kept.
"""

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import crawl2gpt.quality_filter.takedown as takedown_module
from crawl2gpt.core.manifest import check_no_loss
from crawl2gpt.core.shards import ShardConfig, read_documents
from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import BuildConfig, SourceConfig
from crawl2gpt.quality_filter.takedown import takedown

# The listed pages come last, so that a file without them gives the other rows the same
# provenance (file and byte offset): see test_rewritten_shards_equal_a_build_without_those_rows.
URLS = ["http://notexample.com/c", "https://other.org/page-1", "https://keep.net/x",
        "https://keep.net/y", "https://www.third.io/z",
        "https://example.com/a", "https://news.example.com/b", "https://other.org/page-2"]
REMOVED = {"https://example.com/a": "takedown_domain",
           "https://news.example.com/b": "takedown_domain",
           "https://other.org/page-2": "takedown_url"}


def write_inputs(folder: Path, urls: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pages.jsonl"
    lines = [json.dumps({"url": u, "text": f"The page at {u} has enough words to pass the "
                         f"build's minimum length of one hundred characters after normalising."})
             for u in urls]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build(folder: Path, urls: list[str], out: Path | None = None) -> Path:
    inputs = write_inputs(folder / "in", urls)
    config = BuildConfig(sources=[SourceConfig("web", "raw", [str(inputs)], "jsonl")],
                         shards=ShardConfig(num_buckets=3))
    out = out or folder / "out"
    run_build(config, str(out))
    return out


def lists(folder: Path) -> tuple[str, str]:
    (folder / "urls.txt").write_text("# request 17\nhttps://other.org/page-2\n")
    (folder / "domains.txt").write_text("example.com\n")
    return str(folder / "urls.txt"), str(folder / "domains.txt")


def manifest_of(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def assert_checksums_valid(out: Path, manifest: dict) -> None:
    shards = [s for src in manifest["sources"].values() for s in src["shards"]]
    for shard in shards + manifest["rejected_shards"]:
        data = (out / shard["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == shard["sha256"], shard["path"]
        assert len(data) == shard["file_bytes"]
        assert pq.ParquetFile(out / shard["path"]).metadata.num_rows == shard["rows"]
    on_disk = {str(p.relative_to(out)) for p in (out / "documents").rglob("*.parquet")}
    assert on_disk == {s["path"] for s in shards}  # replaced files are gone


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("takedown")
    return folder, build(folder, URLS)


def test_takedown_removes_the_listed_rows_and_rewrites_the_manifest(built):
    folder, out = built
    before = manifest_of(out)
    result = takedown(str(out), *lists(folder))
    assert result.removed == {"web": 3}
    manifest = manifest_of(out)
    assert_checksums_valid(out, manifest)
    funnel = manifest["sources"]["web"]
    check_no_loss(funnel, "web")
    assert (funnel["documents_read"], funnel["documents"]) == (8, 5)
    assert manifest["totals"]["documents"] == 5
    assert funnel["stages"][-1] == {"stage": "takedown", "removed": 3, "kept": 5,
                                    "reasons": {"takedown_domain": 2, "takedown_url": 1}}
    assert manifest["takedowns"][0]["removed"] == {"web": 3}
    assert manifest["config_fingerprint"] == before["config_fingerprint"]
    kept = [d.url for s in funnel["shards"] for d in read_documents(str(out / s["path"]))]
    assert sorted(kept) == sorted(set(URLS) - set(REMOVED))
    # The removed rows: identity and reason, no text.
    rows = [row for s in manifest["rejected_shards"] if s["stage"] == "takedown"
            for row in pq.read_table(out / s["path"]).to_pylist()]
    assert {r["url"]: r["reason"] for r in rows} == REMOVED
    assert all(r["text"] is None and r["doc_id"] for r in rows)
    assert all(s["path"].startswith("rejected/takedown/web/") for s in manifest["rejected_shards"])


def test_rewritten_shards_equal_a_build_without_those_rows(built, tmp_path):
    # Same input path, the listed lines cut off its end: the other rows are byte-identical.
    folder, out = built
    fresh = build(folder, [u for u in URLS if u not in REMOVED], tmp_path / "fresh")
    digests = lambda m: sorted(s["sha256"] for s in m["sources"]["web"]["shards"])  # noqa: E731
    assert digests(manifest_of(out)) == digests(manifest_of(fresh))


def test_second_run_finds_nothing_and_changes_nothing(built):
    folder, out = built
    before = (out / "manifest.json").read_bytes()
    result = takedown(str(out), *lists(folder))
    assert result.removed == {} and (out / "manifest.json").read_bytes() == before


def test_a_crash_before_the_commit_leaves_the_old_build_valid(tmp_path, monkeypatch):
    out = build(tmp_path, URLS)
    before = manifest_of(out)

    def crash(*args):
        raise RuntimeError("killed")

    monkeypatch.setattr(takedown_module, "_commit_manifest", crash)
    with pytest.raises(RuntimeError, match="killed"):
        takedown(str(out), *lists(tmp_path))
    assert manifest_of(out) == before
    shards = [s for src in before["sources"].values() for s in src["shards"]]
    for shard in shards:
        assert hashlib.sha256((out / shard["path"]).read_bytes()).hexdigest() == shard["sha256"]


def test_bad_requests_are_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="no URL or domain patterns"):
        takedown(str(tmp_path), domains_file=str(tmp_path / "empty.txt"))
    (tmp_path / "d.txt").write_text("example.com\n")
    with pytest.raises(FileNotFoundError, match="manifest.json missing"):
        takedown(str(tmp_path), domains_file=str(tmp_path / "d.txt"))


def test_takedown_removes_the_documents_tokens_too(tmp_path, shared_data):
    """Token shards lose the removed documents' rows; counts, hashes and epochs follow."""
    from crawl2gpt.mixing.config import TokenizeConfig
    from crawl2gpt.mixing.token_shards import read_token_shard

    def tokenized_build(folder: Path, urls: list[str]) -> tuple[Path, dict]:
        inputs = write_inputs(folder / "in", urls)
        config = BuildConfig(sources=[SourceConfig("web", "raw", [str(inputs)], "jsonl")],
                             shards=ShardConfig(num_buckets=3),
                             stage_options={"tokenize": {
                                 "tokenizer": str(shared_data / "tokenizers" / "gpt2"),
                                 "token_budget": 10_000}})
        assert isinstance(config.tokenize, TokenizeConfig)
        return folder / "out", run_build(config, str(folder / "out")).manifest

    def token_rows(out: Path, manifest: dict) -> dict:
        return {doc_id: list(tokens) for s in manifest["tokens"]["sources"]["web"]["shards"]
                for doc_id, _, tokens in read_token_shard(out / s["path"])}

    out, _ = tokenized_build(tmp_path / "full", URLS)
    takedown(str(out), *lists(tmp_path))
    after = manifest_of(out)
    expected_out, expected = tokenized_build(tmp_path / "expected",
                                             [u for u in URLS if u not in REMOVED])
    assert token_rows(out, after) == token_rows(expected_out, expected)
    section = after["tokens"]["sources"]["web"]
    assert section["documents"] == len(URLS) - len(REMOVED) == after["sources"]["web"]["documents"]
    assert section["tokens"] == expected["tokens"]["sources"]["web"]["tokens"]
    assert section["epochs"] == 10_000 / section["tokens"]  # one source: weight 1
    for shard in section["shards"]:
        assert hashlib.sha256((out / shard["path"]).read_bytes()).hexdigest() == shard["sha256"]
    on_disk = {str(p.relative_to(out)) for p in (out / "tokens").rglob("*.parquet")}
    assert on_disk == {s["path"] for s in section["shards"]}
