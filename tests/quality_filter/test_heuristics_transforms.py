"""The five heuristic stages as Beam composites, chained, in memory and with two processes.

Inputs (expected outcome by construction, stage order as in a build):
  web   news.site.com/1..3  3 Wikipedia articles + a shared footer line  → kept, footer gone
                            (host_repeated: 3 documents >= host_min_documents), /2 also has
                            an e-mail → <EMAIL>
  web   de.site.com/x       German text (HPLT line 7), web keeps only en  → language_id_not_kept
  web   spam.blocked.com/x  an English article on a blocked domain        → url_blocklist_domain
  web   other.site.org/s    40 English words                              → rules_gopher_short_doc
  forum forum.site.net/m    menu lines only (forum has no keep list)      → line_cleanup_empty
  wiki  (reference)         40 English words: rules and cleanup are raw-only → kept
"""

import json
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from crawl2gpt.core.config import ConfigError
from crawl2gpt.core.records import Document
from crawl2gpt.core.shards import read_documents
from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import BuildConfig, SourceConfig, load_build_config
from crawl2gpt.quality_filter.heuristics_config import (
    BlocklistConfig,
    LanguageIdConfig,
    LineCleanupConfig,
    PiiConfig,
    RulesConfig,
)
from crawl2gpt.quality_filter.heuristics_transforms import (
    ApplyRules,
    BlockUrls,
    CleanLines,
    IdentifyLanguage,
    ScrubPii,
)
from tests.quality_filter.heuristics_data import hplt_lines, wikipedia_articles

REPO = Path(__file__).resolve().parents[2]
MULTI_PROCESS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
FOOTER = "Subscribe to the Site News letter for weekly updates from our team"


@pytest.fixture(scope="module")
def inputs(shared_data, tmp_path_factory):
    articles = sorted((d.text for d in wikipedia_articles(shared_data)), key=len)[:4]
    short = " ".join(articles[0].split()[:40])
    german = hplt_lines(shared_data)[6]["t"]  # README: line 7 is German
    docs = [Document.create("web", f"{articles[i]}\n{FOOTER}", url=f"https://news.site.com/{i}")
            for i in range(3)]
    docs[2] = docs[2].replace(text=docs[2].text + "\nWrite to jane.doe@site.com with fixes.")
    docs += [Document.create("web", german, url="https://de.site.com/x"),
             Document.create("web", articles[3], url="https://spam.blocked.com/x"),
             Document.create("web", short, url="https://other.site.org/s"),
             Document.create("forum", "Home\nAbout us\nContact\nSign in",
                             url="https://forum.site.net/m"),
             Document.create("wiki", short, record_id="w1")]
    blocked = tmp_path_factory.mktemp("lists") / "domains.txt"
    blocked.write_text("blocked.com\n")
    build = BuildConfig(
        sources=[SourceConfig("web", "raw", ["x"], "jsonl"),
                 SourceConfig("forum", "raw", ["x"], "jsonl"),
                 SourceConfig("wiki", "reference", ["x"], "jsonl")],
        stages=["language_id", "url_blocklist", "line_cleanup", "rules", "pii"])
    configs = (LanguageIdConfig(keep={"web": ["en"]}), BlocklistConfig(domains_file=str(blocked)),
               LineCleanupConfig(), RulesConfig(), PiiConfig())
    return docs, build, configs


EXPECTED_KEPT = [
    ("https://news.site.com/0", "en", {"lines_removed": {"host_repeated": 1}}),
    ("https://news.site.com/1", "en", {"lines_removed": {"host_repeated": 1}}),
    ("https://news.site.com/2", "en", {"lines_removed": {"host_repeated": 1},
                                       "pii": {"email": 1}}),
    (None, "en", {}),
]
EXPECTED_REJECTED = [
    ("https://de.site.com/x", "language_id", "language_id_not_kept"),
    ("https://forum.site.net/m", "line_cleanup", "line_cleanup_empty"),
    ("https://other.site.org/s", "rules", "rules_gopher_short_doc"),
    ("https://spam.blocked.com/x", "url_blocklist", "url_blocklist_domain"),
]


def kept_summary(doc: Document) -> tuple:
    assert FOOTER not in doc.text and "jane.doe@site.com" not in doc.text
    return doc.url, doc.language, doc.meta


def rejected_summary(rej) -> tuple:
    return rej.url, rej.stage, rej.reason


def apply_all(docs, build, configs):
    stages = (IdentifyLanguage, BlockUrls, CleanLines, ApplyRules, ScrubPii)
    rejected = []
    for stage, config in zip(stages, configs):
        docs, stage_rejected = docs | stage.__name__ >> stage(config, build)
        rejected.append(stage_rejected)
    return docs, rejected | "MergeRejected" >> beam.Flatten()


@pytest.mark.parametrize("flags", [[], MULTI_PROCESS], ids=["in_memory", "multi_processing"])
def test_stages_keep_reject_and_record_changes(inputs, flags):
    docs, build, configs = inputs
    with BeamTestPipeline(options=PipelineOptions(flags)) as p:
        kept, rejected = apply_all(p | beam.Create(docs), build, configs)
        assert_that(kept | "SummariseKept" >> beam.Map(kept_summary),
                    equal_to(EXPECTED_KEPT), label="CheckKept")
        assert_that(rejected | "SummariseRejected" >> beam.Map(rejected_summary),
                    equal_to(EXPECTED_REJECTED), label="CheckRejected")


def test_stage_configs_are_checked_against_the_build(inputs, tmp_path):
    _, build, _ = inputs
    with pytest.raises(ConfigError, match="rules.sources: unknown source"):
        ApplyRules(RulesConfig(sources=["nope"]), build)
    with pytest.raises(ConfigError, match="url_blocklist: set urls_file"):
        BlockUrls(BlocklistConfig(), build)
    (tmp_path / "bad.txt").write_text("no such domain\n")
    with pytest.raises(ConfigError, match="bad.txt:1"):
        BlockUrls(BlocklistConfig(domains_file=str(tmp_path / "bad.txt")), build)
    with pytest.raises(ConfigError, match=r"language_id.keep: source\(s\) \['nope'\] are not"):
        IdentifyLanguage(LanguageIdConfig(keep={"nope": ["en"]}), build)
    no_langid = BuildConfig(sources=build.sources, stages=["rules"])
    with pytest.raises(ConfigError, match="needs the language_id stage"):
        ApplyRules(RulesConfig(languages=["en"]), no_langid)


def test_a_build_runs_the_stages_from_its_config(shared_data, tmp_path):
    articles = sorted((d.text for d in wikipedia_articles(shared_data)), key=len)[:2]
    texts = [t + "\nCall +1 555 123 4567 for tickets." for t in articles]
    texts.append(" ".join(articles[0].split()[:40]))  # 40 words: below Gopher's 50
    data = tmp_path / "pages.jsonl"
    data.write_text("\n".join(json.dumps({"url": f"https://a.org/{i}", "text": t})
                              for i, t in enumerate(texts)) + "\n")
    (tmp_path / "build.toml").write_text(f"""
stages = ["language_id", "rules", "pii"]
[[sources]]
name = "web"
role = "raw"
inputs = ["{data}"]
format = "jsonl"
[language_id]
keep = {{ web = ["en"] }}
[rules.c4]
require_end_mark = false
""")
    result = run_build(load_build_config(str(tmp_path / "build.toml")), str(tmp_path / "out"))
    funnel = result.manifest["sources"]["web"]
    assert [(s["stage"], s["reasons"]) for s in funnel["stages"]][-3:] == [
        ("language_id", {}), ("rules", {"rules_gopher_short_doc": 1}), ("pii", {})]
    docs = [d for s in funnel["shards"] for d in read_documents(str(tmp_path / "out" / s["path"]))]
    assert sorted(d.url for d in docs) == ["https://a.org/0", "https://a.org/1"]
    assert all(d.language == "en" and d.meta["pii"] == {"phone_number": 1}
               and d.text.endswith("Call <PHONE_NUMBER> for tickets.") for d in docs)
