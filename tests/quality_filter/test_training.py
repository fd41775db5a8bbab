"""Training on real data: held-out AUC, sources never seen in training, the written report."""

from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest

from crawl2gpt.quality_filter.classifier import evaluation_path, load_classifier, meta_path
from crawl2gpt.quality_filter.config import QualityConfig, TrainingConfig
from crawl2gpt.quality_filter.evaluation import bootstrap_auc_interval, roc_auc
from crawl2gpt.quality_filter.selection import format_calibration_table
from crawl2gpt.quality_filter.training import (
    balance,
    calibrate,
    cross_validated_scores,
    make_examples,
    train_quality_from_documents,
    unit_hash,
)
from tests.quality_filter.conftest import HELD_OUT_SOURCES, SMALL_FASTTEXT

# Generated to look like the worst of a crawl: navigation, SEO keywords, shop and legal boilerplate.
SPAM = " ".join([
    "Home | About Us | Contact | Login | Register | Cart (0) | Wishlist | FAQ | Sitemap",
    "BUY CHEAP WATCHES ONLINE!!! Best price guaranteed, free shipping, click here now >>>",
    "cheap watches, replica watches, discount watches, watches sale, best watches 2019",
    "Add to cart $19.99 $49.99 SALE -60% | Add to cart $24.99 | Add to cart $9.99",
    "Subscribe to our newsletter | Follow us on Facebook Twitter Instagram Pinterest",
    "Copyright © 2019 All rights reserved. Privacy Policy | Terms of Use | Cookie Policy",
    "We use cookies to improve your experience. Accept Decline Read more",
] * 3)


def test_fasttext_cross_validated_auc_on_real_data(corpus):
    reference, raw = corpus
    config = QualityConfig(training=TrainingConfig(**SMALL_FASTTEXT, cv_folds=5))
    pos, _ = make_examples(reference, 1, config.max_chars)
    neg, _ = make_examples(raw, 0, config.max_chars)
    examples = balance(pos + neg, 1.0, config.seed)
    labels = np.array([e.label for e in examples])
    assert labels.sum() >= 300 and (1 - labels).sum() >= 300
    scores = cross_validated_scores(examples, config)  # every document scored held out
    low, high = bootstrap_auc_interval(labels, scores)
    print(f"\nfastText 5-fold held-out AUC {roc_auc(labels, scores):.3f} "
          f"(bootstrap 95% {low:.3f}-{high:.3f}), {labels.sum()} reference / "
          f"{(1 - labels).sum()} raw documents")
    assert low >= 0.9


def test_auc_on_sources_held_out_of_training_entirely(corpus, fasttext_model):
    reference, raw = corpus
    unseen = [d for d in reference + raw if d.source in HELD_OUT_SOURCES]
    labels = [int(d in reference) for d in unseen]
    scores = load_classifier(fasttext_model).score_batch([d.text for d in unseen])
    auc = roc_auc(labels, scores)
    low, high = bootstrap_auc_interval(labels, scores)
    print(f"\nAUC on sources never trained on ({' vs '.join(HELD_OUT_SOURCES)}): {auc:.3f} "
          f"(bootstrap 95% {low:.3f}-{high:.3f}), {sum(labels)} / {len(labels) - sum(labels)}")
    assert auc >= 0.8


def test_spam_scores_below_a_wikipedia_paragraph(corpus, fasttext_model):
    reference, _ = corpus
    config = QualityConfig(training=TrainingConfig(**SMALL_FASTTEXT))
    # Wikipedia paragraphs the model never saw: the held-out split of its training run.
    unseen_wiki = [d for d in reference if d.source in ("wikitext", "wikiextractor")
                   and unit_hash(config.seed, d.id) < config.training.heldout_fraction]
    assert len(unseen_wiki) >= 10
    model = load_classifier(fasttext_model)
    spam_score, *wiki_scores = model.score_batch([SPAM] + [d.text for d in unseen_wiki])
    print(f"\nspam {spam_score:.4f}; unseen Wikipedia paragraphs: min {min(wiki_scores):.4f}, "
          f"median {np.median(wiki_scores):.4f}")
    assert spam_score < min(wiki_scores)


def test_calibration_on_unseen_sources_keeps_more_reference_than_raw(corpus, fasttext_model):
    reference, raw = corpus
    unseen_ref = [d for d in reference if d.source in HELD_OUT_SOURCES]
    unseen_raw = [d for d in raw if d.source in HELD_OUT_SOURCES]
    rows = calibrate(load_classifier(fasttext_model), unseen_ref, unseen_raw,
                     alphas=[1, 9, 32], thresholds=[0.5])
    print("\n" + format_calibration_table(rows))
    assert [(r["mode"], r["value"]) for r in rows] == [
        ("pareto", 1), ("pareto", 9), ("pareto", 32), ("threshold", 0.5)]
    for row in rows:
        assert row["reference_kept"] > row["raw_kept"]
    # A larger alpha keeps fewer of both (P(keep) = (2 - s)^-alpha falls with alpha for s < 1).
    assert rows[0]["raw_kept"] > rows[1]["raw_kept"] > rows[2]["raw_kept"]


@pytest.mark.parametrize("backend", ["fasttext", "hashing-lr"])
def test_train_from_documents_writes_model_metadata_and_evaluation(corpus, tmp_path, backend):
    reference, raw = corpus
    docs = reference[::3] + raw[::2]
    roles = {**{d.source: "reference" for d in reference}, **{d.source: "raw" for d in raw}}
    config = QualityConfig(backend=backend, training=TrainingConfig(
        **SMALL_FASTTEXT, heldout_fraction=0.25, cv_folds=3))
    path = train_quality_from_documents(docs, config, str(tmp_path), roles)
    assert os.path.isfile(path) and os.path.isfile(meta_path(path))
    meta = json.loads(open(meta_path(path)).read())
    report = json.loads(open(evaluation_path(path)).read())
    sizes = meta["sizes"]
    n_ref, n_raw = len(reference[::3]), len(raw[::2])
    assert (sizes["reference_input"], sizes["raw_input"]) == (n_ref, n_raw)
    balanced = min(n_ref, n_raw)  # ratio 1: the larger class is cut to the smaller one
    assert sizes["train_reference"] + sizes["heldout_reference"] == balanced
    assert sizes["train_raw"] + sizes["heldout_raw"] == balanced
    assert meta["backend"] == backend and len(meta["data_hash"]) == 64
    assert meta["max_chars"] == config.max_chars
    # Histograms count every held-out document once.
    hist = report["histograms"]
    assert sum(hist["reference"]) == sizes["heldout_reference"] == report["n_reference"]
    assert sum(hist["raw"]) == sizes["heldout_raw"] == report["n_raw"]
    # The 20 boundary examples are the held-out documents nearest 0.5. Rescore the held-out
    # reference documents (the smaller class, so balancing kept all of them) to check.
    assert n_ref < n_raw
    heldout_ref = [d for d in reference[::3] if unit_hash(config.seed, d.id) < 0.25]
    assert len(heldout_ref) == sizes["heldout_reference"]
    scores = dict(zip((d.id for d in heldout_ref),
                      load_classifier(path).score_batch([d.text for d in heldout_ref])))
    examples = report["boundary_examples"]
    assert len(examples) == 20
    farthest = max(abs(e["score"] - 0.5) for e in examples)
    chosen = {e["id"] for e in examples}
    assert all(abs(s - 0.5) >= farthest - 1e-6 for i, s in scores.items() if i not in chosen)
    assert all(abs(scores[e["id"]] - e["score"]) < 1e-5 for e in examples
               if e["label"] == "reference")
    assert report["roc_auc"] >= 0.85 and report["cross_validation"]["roc_auc"] >= 0.85
    print(f"\n{backend}: held-out AUC {report['roc_auc']:.3f}, "
          f"3-fold CV AUC {report['cross_validation']['roc_auc']:.3f}")


def test_balance_keeps_ratio_negatives_per_positive():
    from crawl2gpt.quality_filter.training import Example
    examples = [Example(f"p{i}", "s", "x", 1) for i in range(100)] + \
               [Example(f"n{i}", "s", "x", 0) for i in range(300)]
    for ratio, expected in [(1.0, (100, 100)), (2.0, (100, 200)), (0.5, (100, 50)),
                            (6.0, (50, 300))]:
        kept = balance(examples, ratio, seed=0)
        assert (sum(e.label for e in kept), sum(1 - e.label for e in kept)) == expected


def test_roc_auc_equals_pair_counting():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300), 1)  # ties on purpose
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = [1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg)]
    assert roc_auc(labels, scores) == pytest.approx(sum(pairs) / len(pairs))


def test_document_of_a_source_without_role_is_an_error(corpus, tmp_path):
    reference, raw = corpus
    with pytest.raises(ValueError, match="no role"):
        train_quality_from_documents(reference[:5] + raw[:5], QualityConfig(), str(tmp_path),
                                     {reference[0].source: "reference"})
