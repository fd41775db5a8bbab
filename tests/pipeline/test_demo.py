"""`crawl2gpt demo` end to end: corpus → build → tokenizer → tokenized build."""

import json

from crawl2gpt.cli import main


def test_demo_builds_documents_and_token_shards(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path), "--no-train"]) == 0
    manifest = json.loads((tmp_path / "build" / "manifest.json").read_text())
    truth = json.loads((tmp_path / "corpus" / "demo_corpus.json").read_text())["documents"]
    crawl = manifest["sources"]["commoncrawl"]
    # Every generated page with status 200 is read; the 301 redirects are skipped records.
    assert crawl["documents_read"] == sum(truth["crawl"].values()) - truth["crawl"]["redirect"]
    assert crawl["skipped_records"]["read_skipped_http_3xx"] == truth["crawl"]["redirect"]
    # The generator's exact copies are removed by exact dedup, and only those.
    exact = next(s for s in crawl["stages"] if s["stage"] == "exact_dedup")
    assert exact["removed"] == truth["crawl"]["exact_duplicate"]
    assert manifest["sources"]["books"]["documents"] == truth["reference"]["books"]
    # language_id keeps only English crawl pages and labels every document it sees.
    assert crawl["languages"] == {"en": crawl["documents"]}
    wiki = manifest["sources"]["wikipedia"]
    assert sum(wiki["languages"].values()) == wiki["documents"]
    tokens = manifest["tokens"]
    assert set(tokens["sources"]) == {"commoncrawl", "wikipedia", "books", "exercises"}
    assert tokens["tokenizer"]["vocab_size"] <= 1024
    out = capsys.readouterr().out
    assert "manifest:" in out and "epochs at" in out
