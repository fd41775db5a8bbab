"""The build end to end on real files from ../shared/data, with several readers at once."""

from pathlib import Path

from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import load_build_config

REPO = Path(__file__).resolve().parents[2]


def test_real_sources_build_and_account_for_every_record(tmp_path, shared_data, monkeypatch):
    monkeypatch.chdir(REPO)
    cc = shared_data / "commoncrawl"
    config_path = tmp_path / "build.toml"
    config_path.write_text(f"""
[[sources]]
name = "commoncrawl"
role = "raw"
inputs = ["{cc}/whirlwind/whirlwind.warc.gz", "{cc}/broken/IAH-urls-wget.corrupt-member.warc.gz"]
format = "warc"
options = {{ extract = "full" }}

[[sources]]
name = "c4"
role = "raw"
inputs = ["{cc}/c4/*.json.gz"]
format = "jsonl"

[[sources]]
name = "wikipedia"
role = "reference"
inputs = ["{shared_data}/wikipedia/wikiextractor/enwiki_*/AA/*"]
format = "wikiextractor"
""")
    config = load_build_config(str(config_path))
    manifest = run_build(config, str(tmp_path / "out")).manifest
    c4 = manifest["sources"]["c4"]
    # The C4 sample holds 1,000 documents (data README); all are read.
    assert c4["documents_read"] == 1000
    assert c4["documents"] + sum(s["removed"] for s in c4["stages"]) == 1000
    # WikiExtractor samples: 25 + 27 <doc> elements (wikipedia/README.md).
    assert manifest["sources"]["wikipedia"]["documents_read"] == 52
    cc_src = manifest["sources"]["commoncrawl"]
    # The corrupt member of the wget WARC is one input reject (broken/README.md).
    assert cc_src["rejected_input_records"] >= 1
    assert cc_src["documents"] >= 1
    for name, src in manifest["sources"].items():
        assert src["documents"] == sum(s["rows"] for s in src["shards"]), name
    assert {f["source"] for f in manifest["input_files"]} == {"commoncrawl", "c4", "wikipedia"}
