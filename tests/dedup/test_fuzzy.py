"""The single-process driver on real text with known near-duplicates."""

import random
from collections import Counter

import pytest

from crawl2gpt.core.config import ConfigError
from crawl2gpt.core.records import Document
from crawl2gpt.dedup.config import FuzzyDedupConfig
from crawl2gpt.dedup.fuzzy import find_near_duplicates
from crawl2gpt.dedup.lsh import candidate_probability
from tests.dedup.util import (
    SOURCE_ROLES,
    brute_jaccard,
    c4_texts,
    small_corpus,
    variant_with_jaccard,
)


def removals_by_id(result):
    return {r.doc_id: (r.reason, r.kept_id) for r in result.removals}


@pytest.fixture(scope="module")
def corpus(shared_data):
    return small_corpus(shared_data)


def test_chain_jaccards_are_as_designed(corpus):
    docs, _ = corpus
    chain = [d.text for d in docs if d.record_id.startswith("chain")]
    assert all(brute_jaccard(a, b) >= 0.85 for a, b in zip(chain, chain[1:]))
    assert all(brute_jaccard(a, b) < 0.8 for a, b in zip(chain, chain[2:]))


@pytest.mark.parametrize("union_find_max_nodes", [1_000_000, 0])
def test_known_removals(corpus, union_find_max_nodes):
    docs, expected = corpus
    config = FuzzyDedupConfig(union_find_max_nodes=union_find_max_nodes)
    result = find_near_duplicates(docs, config, SOURCE_ROLES)
    assert removals_by_id(result) == expected
    assert all(r.jaccard >= 0.8 for r in result.removals)
    assert result.giant_buckets == []


def test_order_of_input_does_not_matter(corpus):
    docs, expected = corpus
    shuffled = docs[:]
    random.Random(5).shuffle(shuffled)
    result = find_near_duplicates(shuffled, FuzzyDedupConfig(signature_batch=7), SOURCE_ROLES)
    assert removals_by_id(result) == expected


def test_cross_source_off_keeps_the_raw_copy(corpus):
    docs, expected = corpus
    result = find_near_duplicates(docs, FuzzyDedupConfig(cross_source=False), SOURCE_ROLES)
    assert removals_by_id(result) == {k: v for k, v in expected.items()
                                      if v[0] != "fuzzy_dedup_cross_source"}


def test_giant_buckets_are_reported(corpus):
    docs, _ = corpus
    base = docs[0].text
    copies = [Document.create("crawl", base + f" tail{i}", record_id=f"copy{i}")
              for i in range(5)]
    result = find_near_duplicates(docs + copies, FuzzyDedupConfig(max_bucket_size=3),
                                  SOURCE_ROLES)
    assert result.giant_buckets and min(result.giant_buckets) > 3
    # The window pairs each copy with its next two in id order only, so some pairs are never
    # compared (the documented recall loss of giant buckets); every removal still names a kept
    # document, and the base (highest quality) stays.
    removed = {r.doc_id for r in result.removals}
    assert docs[0].id not in removed
    assert 3 <= len(removed & {d.id for d in copies}) <= 5
    assert not {r.kept_id for r in result.removals} & removed


def test_just_below_threshold_within_s_curve(shared_data):
    """Unverified LSH removes pairs at J in [0.70, 0.78] at the S-curve's rate (4 sigma)."""
    bases = [t for t in c4_texts(shared_data, 600) if len(t.split()) >= 200][:100]
    docs, probs = [], []
    for i, text in enumerate(bases):
        variant, j = variant_with_jaccard(text, 0.70, 0.78, seed=i)
        docs += [Document.create("crawl", text, record_id=f"b{i}", quality_score=1.0),
                 Document.create("crawl", variant, record_id=f"v{i}", quality_score=0.0)]
        probs.append(float(candidate_probability(j, 9, 13)))
    config = FuzzyDedupConfig(verify="off")
    assert config.lsh_params() == (9, 13)
    result = find_near_duplicates(docs, config, {"crawl": "raw"})
    removed = Counter(r.doc_id for r in result.removals)
    variants = {d.id for d in docs if d.record_id.startswith("v")}
    assert set(removed) <= variants  # never the base of a pair
    expected = sum(probs)
    sigma = sum(p * (1 - p) for p in probs) ** 0.5
    print(f"removed {len(removed)}, S-curve expects {expected:.1f} +- {sigma:.1f}")
    assert abs(len(removed) - expected) <= 4 * sigma, (len(removed), expected, sigma)
    # Verified, none of them goes.
    exact = find_near_duplicates(docs, FuzzyDedupConfig(), {"crawl": "raw"})
    assert exact.removals == []


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="fuzzy_dedup.verify"):
        FuzzyDedupConfig(verify="maybe")
    with pytest.raises(ConfigError, match="fuzzy_dedup.bands"):
        FuzzyDedupConfig(bands=40, rows=4)
    assert FuzzyDedupConfig(bands=20, rows=5).lsh_params() == (20, 5)


def test_unknown_source_is_named():
    doc = Document.create("mystery", "some text here", record_id="x")
    with pytest.raises(ValueError, match="'mystery'"):
        find_near_duplicates([doc], FuzzyDedupConfig(), {"crawl": "raw"})


def test_two_workers_give_the_same_removals(corpus):
    docs, expected = corpus
    result = find_near_duplicates(docs, FuzzyDedupConfig(signature_batch=5), SOURCE_ROLES,
                                  workers=2)
    assert removals_by_id(result) == expected
