"""DedupFuzzy in Beam: known removals, same rows on every runner mode, distributed components."""

import random

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from crawl2gpt.dedup.components import union_find_components
from crawl2gpt.dedup.config import FuzzyDedupConfig
from crawl2gpt.dedup.fuzzy import find_near_duplicates
from crawl2gpt.dedup.transforms import DedupFuzzy, StarRounds
from crawl2gpt.pipeline.config import BuildConfig, SourceConfig
from tests.dedup.util import SOURCE_ROLES, small_corpus

MULTI_PROCESS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


def build_config():
    return BuildConfig(sources=[SourceConfig(name, role, ["unused"], "text")
                                for name, role in SOURCE_ROLES.items()])


def doc_id(doc):
    return doc.id


def rejected_row(r):
    return (r.doc_id, r.stage, r.reason, r.detail["kept_id"], r.detail["cluster_id"],
            r.detail["jaccard"])


@pytest.fixture(scope="module")
def corpus(shared_data):
    docs, expected = small_corpus(shared_data)
    return docs, expected


def expected_rows(docs, expected, config):
    """Rejected rows: doc, reason and kept doc from the corpus design; cluster id and Jaccard
    from the single-process driver (same core, no Beam)."""
    driver = {r.doc_id: r for r in find_near_duplicates(docs, config, SOURCE_ROLES).removals}
    assert {i: (r.reason, r.kept_id) for i, r in driver.items()} == expected
    return [(i, "fuzzy_dedup", reason, kept, driver[i].cluster_id, driver[i].jaccard)
            for i, (reason, kept) in expected.items()]


@pytest.mark.parametrize("mode", ["in_memory_union_find", "in_memory_stars",
                                  "two_workers_stars_shuffled"])
def test_dedup_fuzzy_rows(corpus, mode):
    docs, expected = corpus
    config = FuzzyDedupConfig(max_rounds=6, signature_batch=8,
                              union_find_max_nodes=0 if "stars" in mode else 1_000_000)
    rows = expected_rows(docs, expected, config)
    flags = MULTI_PROCESS if mode.startswith("two_workers") else []
    if "shuffled" in mode:
        docs = docs[:]
        random.Random(11).shuffle(docs)
    with BeamTestPipeline(options=PipelineOptions(flags)) as p:
        kept, rejected = p | beam.Create(docs) | "DedupFuzzy" >> DedupFuzzy(config, build_config())
        assert_that(kept | "KeptIds" >> beam.Map(doc_id),
                    equal_to([d.id for d in docs if d.id not in expected]), label="CheckKept")
        assert_that(rejected | "Rows" >> beam.Map(rejected_row), equal_to(rows),
                    label="CheckRejected")


def test_star_rounds_on_a_long_chain():
    ids = [f"n{i:03d}" for i in range(300)]
    chain = list(zip(ids, ids[1:]))
    random.Random(2).shuffle(chain)
    expected = sorted(union_find_components(chain).items())
    assert {label for _, label in expected} == {"n000"}
    with BeamTestPipeline() as p:
        labels = p | beam.Create(chain) | StarRounds(max_rounds=12)
        assert_that(labels, equal_to(expected))


def test_not_converged_fails_the_build(corpus):
    docs, _ = corpus
    chain = [d for d in docs if d.record_id.startswith("chain")]
    config = FuzzyDedupConfig(max_rounds=1, union_find_max_nodes=0)
    with pytest.raises(Exception, match="did not converge in 1 star rounds"):
        with BeamTestPipeline() as p:
            _ = p | beam.Create(chain) | DedupFuzzy(config, build_config())


@pytest.mark.parametrize("verify", ["off", "estimate"])
def test_other_verify_modes_match_the_driver(corpus, verify):
    """The unverified and estimated paths: same removals as the single-process driver."""
    docs, _ = corpus
    config = FuzzyDedupConfig(verify=verify, max_rounds=6)
    driver = find_near_duplicates(docs, config, SOURCE_ROLES).removals
    assert driver  # the corpus has near-duplicates in every mode
    rows = [(r.doc_id, "fuzzy_dedup", r.reason, r.kept_id, r.cluster_id, r.jaccard)
            for r in driver]
    with BeamTestPipeline() as p:
        _, rejected = p | beam.Create(docs) | "DedupFuzzy" >> DedupFuzzy(config, build_config())
        assert_that(rejected | "Rows" >> beam.Map(rejected_row), equal_to(rows))
