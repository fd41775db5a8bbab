"""The classifier at a real crawl's class ratio: 1:1, 12:1 and 100:1 raw : reference, real text.

Before the split draws were made per class and independent, 12:1 left no raw document in
training (fastText then reported AUC 0.5) and 100:1 failed outright.
"""

from __future__ import annotations

import itertools

import pytest

from crawl2gpt.quality_filter.classifier import train_classifier
from crawl2gpt.quality_filter.cli import heldout_lines
from crawl2gpt.quality_filter.config import QualityConfig, TrainingConfig
from crawl2gpt.quality_filter.training import make_examples, split_heldout, train_quality_model
from tests.quality_filter.conftest import SMALL_FASTTEXT
from tests.quality_filter.corpora import raw_documents, sample

HELDOUT = 0.2  # so that 100:1 still holds a few reference documents out


@pytest.fixture(scope="module")
def all_raw(shared_data):
    """Every English raw document of the test corpora (about 1,300)."""
    return raw_documents(shared_data, 10_000)


def pair_auc(reference_scores, raw_scores) -> float:
    """AUC by counting pairs: the definition, independent of the ranks `roc_auc` uses."""
    pairs = [1.0 if p > n else 0.5 if p == n else 0.0
             for p, n in itertools.product(reference_scores, raw_scores)]
    return sum(pairs) / len(pairs)


@pytest.mark.parametrize("backend", ["fasttext", "hashing-lr"])
# At 100:1 only 2-3 reference documents are held out, so the AUC's sampling error is about
# +-0.15: there the check is that the classifier beats chance (its 95 % interval above 0.5).
@pytest.mark.parametrize("ratio,min_auc", [(1, 0.9), (12, 0.9), (100, None)])
def test_both_classes_train_and_are_held_out_at_any_ratio(corpus, all_raw, backend, ratio,
                                                          min_auc):
    reference = sample(corpus[0], len(all_raw) // ratio)
    raw = all_raw if ratio > 1 else sample(all_raw, len(reference))
    config = QualityConfig(backend=backend, training=TrainingConfig(**SMALL_FASTTEXT,
                                                                    heldout_fraction=HELDOUT))
    trained = train_quality_model(reference, raw, config)
    sizes = trained.meta["sizes"]
    for name, n in (("reference", len(reference)), ("raw", len(raw))):
        held, train = sizes[f"heldout_{name}"], sizes[f"train_{name}"]
        assert held + train == n and abs(held - HELDOUT * n) <= 0.5
    # The report's AUC, overall and per raw source, against pair counting on rescored documents.
    examples = sorted(make_examples(reference, 1, config.max_chars)[0]
                      + make_examples(raw, 0, config.max_chars)[0], key=lambda e: e.id)
    held = split_heldout(examples, config)[1]
    scores = trained.classifier.score_prepared([e.features for e in held])
    ref_scores = [s for e, s in zip(held, scores) if e.label == 1]
    report = trained.evaluation
    assert report["roc_auc"] == pytest.approx(
        pair_auc(ref_scores, [s for e, s in zip(held, scores) if e.label == 0]))
    for source in {e.source for e in held if e.label == 0}:
        assert report["by_source"][source]["roc_auc"] == pytest.approx(pair_auc(
            ref_scores, [s for e, s in zip(held, scores) if e.source == source]))
    lines = heldout_lines(report)  # what train-quality prints
    assert lines[0].startswith("held out (reference by document") and len(lines) == 1 + len(
        report["by_source"])
    low, high = report["roc_auc_bootstrap_95"]
    print(f"\n{backend} {ratio}:1 ({len(reference)} reference / {len(raw)} raw): held-out AUC "
          f"{report['roc_auc']:.3f} ({low:.3f}-{high:.3f}), "
          f"class weights {trained.meta['class_weights']}")
    assert low <= report["roc_auc"] <= high
    assert low > 0.5 if min_auc is None else report["roc_auc"] >= min_auc


def test_a_class_too_small_to_train_on_is_refused(corpus, all_raw):
    with pytest.raises(ValueError, match="too few reference documents.*9 with text"):
        train_quality_model(corpus[0][:9], all_raw[:200], QualityConfig())
    with pytest.raises(ValueError, match="too few raw documents.*3 with text"):
        train_quality_model(corpus[0][:50], all_raw[:3], QualityConfig())


@pytest.mark.parametrize("backend", ["fasttext", "hashing-lr"])
def test_one_class_training_set_is_an_error_not_auc_one_half(corpus, backend):
    examples, _ = make_examples(corpus[0][:20], 1, 100_000)
    with pytest.raises(ValueError, match="needs reference .1. and raw .0."):
        train_classifier(backend, [e.features for e in examples], [1] * len(examples),
                         TrainingConfig().backend_params(backend))
