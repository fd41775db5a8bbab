"""The Beam composites equal the plain-Python core (itself checked against the brute-force
reference in test_contamination_planted.py): side-input and keyed-join modes, in memory and with
two worker processes, so results depend on neither mode, bundling nor worker count."""

from __future__ import annotations

import dataclasses
import gzip
import json

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from crawl2gpt.core.records import Document
from crawl2gpt.dedup.benchmarks import load_benchmarks
from crawl2gpt.dedup.clean_dirty import split_clean_dirty
from crawl2gpt.dedup.contamination import NgramIndex, remove_contamination
from crawl2gpt.dedup.contamination_config import ContaminationConfig
from crawl2gpt.dedup.contamination_transforms import RemoveContamination, SplitCleanDirty

MULTI_PROCESS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
FILES = ["language_understanding/lambada_openai_small.jsonl",
         "language_understanding/winogrande.jsonl", "commonsense_reasoning/copa.jsonl",
         "world_knowledge/triviaqa_small.jsonl"]


def doc_row(doc):
    return doc.id, doc.source, doc.text, json.dumps(doc.meta, sort_keys=True)


def rejected_row(row):
    return row.doc_id, row.reason, row.detail_json()


def json_row(record):
    return json.dumps(record, sort_keys=True)


def passage(record) -> str:
    return record["context"] + " " + record["continuation"]


@pytest.fixture(scope="module")
def corpus(shared_data):
    return contamination_corpus(shared_data)


def contamination_corpus(shared_data):
    """(config, documents, the core's result on them): every outcome of the stage."""
    icl = shared_data / "benchmarks" / "icl"
    cfg = ContaminationConfig(benchmarks=[str(icl / f) for f in FILES])
    with open(icl / FILES[0], encoding="utf-8") as f:
        lambada = [json.loads(line) for line in f]  # 8 passages of 50+ words
    path = shared_data / "commoncrawl" / "c4" / "c4-sample.00000-of-00001.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        c4 = [r["text"] for _, r in zip(range(80), map(json.loads, f))]
    frequent = " ".join(passage(lambada[2]).split()[:16])
    filler = " ".join(c4[1:10])
    texts = (
        [c4[0][:400] + " " + passage(lambada[0]) + " " + c4[0][400:]]  # split into pieces
        + [" ".join(f"{filler[i * 600:(i + 1) * 600]} {passage(lambada[i % 8])}"  # 12 cuts
                    for i in range(12))]  # 600-char gaps keep the 12 windows apart: 12 pieces
        + ["Short page. " + passage(lambada[1])]  # nothing left
        + [c4[i][:500] + " " + frequent + " " + c4[i][500:] for i in range(10, 21)]  # 11 docs
        + [t[:700] + " " + passage(lambada[3]) for t in c4[30:40] if len(t) >= 700][:3]  # split
        + c4[40:80])
    docs = [Document.create("c4", t, url=f"doc{i}") for i, t in enumerate(texts)]
    index = NgramIndex.build(load_benchmarks(cfg), cfg.ngram)
    return cfg, docs, remove_contamination(docs, index, cfg)


def test_corpus_exercises_every_outcome(corpus):
    _, docs, expected = corpus
    reasons = sorted(r.reason for r in expected.rejected)
    assert reasons == ["contamination_no_piece_left", "contamination_split",
                       "contamination_split", "contamination_split", "contamination_split",
                       "contamination_too_many_pieces"]
    # The 16-word passage start pasted into 11 documents is ignored: they all stay whole.
    assert {d.id for d in docs[3:14]} <= {d.id for d in expected.kept}


@pytest.mark.parametrize("mode", ["side_input", "keyed_join"])
@pytest.mark.parametrize("flags", [[], MULTI_PROCESS], ids=["in_memory", "two_workers"])
def test_remove_contamination_equals_core(corpus, mode, flags):
    cfg, docs, expected = corpus
    stage = RemoveContamination(dataclasses.replace(cfg, mode=mode), None)
    with TestPipeline(options=PipelineOptions(flags)) as p:
        kept, rejected = p | beam.Create(docs) | "Contamination" >> stage
        assert_that(kept | "KeptRows" >> beam.Map(doc_row),
                    equal_to([doc_row(d) for d in expected.kept]), label="CheckKept")
        assert_that(rejected | "RejectedRows" >> beam.Map(rejected_row),
                    equal_to([rejected_row(r) for r in expected.rejected]),
                    label="CheckRejected")
        assert_that(stage.report | "ReportRows" >> beam.Map(json_row),
                    equal_to([json_row(r) for r in expected.report]), label="CheckReport")


def test_split_clean_dirty_equals_core(corpus):
    """The records equal the core's; writing them is `write_splits`, tested with the core."""
    cfg, docs, _ = corpus
    expected = split_clean_dirty(load_benchmarks(cfg), docs, cfg)
    # All 8 LAMBADA passages are pasted somewhere in the corpus, so all 8 examples are dirty.
    assert {r["benchmark"]: r["dirty_count"] for r in expected}["lambada_openai_small"] == 8
    with TestPipeline() as p:
        records = p | beam.Create(docs) | "CleanDirty" >> SplitCleanDirty(cfg)
        assert_that(records | beam.Map(json_row), equal_to([json_row(r) for r in expected]))
