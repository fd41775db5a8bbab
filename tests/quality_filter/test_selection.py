"""Pareto resampling, threshold/top-fraction selection and the calibration table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crawl2gpt.quality_filter.selection import (
    HISTOGRAM_BINS,
    ScoreHistogram,
    calibration_table,
    pareto_keep,
    pareto_keep_probability,
    score_bin,
)


@pytest.mark.parametrize("score, paper_percent", [(1.0, 100), (0.9, 42), (0.5, 2.6), (0.0, 0.2)])
def test_keep_probability_matches_the_paper_figures(score, paper_percent):
    # gpt3-recipe.md §1.2: at alpha = 9, s = 1 keeps 100 %, 0.9 keeps 42 %, 0.5 keeps 2.6 %,
    # 0 keeps 0.2 % (rounded as printed there).
    assert pareto_keep_probability(score, 9.0) * 100 == pytest.approx(paper_percent, rel=0.05)


@pytest.mark.parametrize("alpha", [9.0, 3.0])
def test_measured_keep_rate_per_score_bucket_matches_lomax_tail(alpha):
    n = 10_000  # synthetic ids per bucket
    for score in (0.0, 0.3, 0.5, 0.7, 0.9, 1.0):
        kept = sum(pareto_keep(score, alpha, seed=7, doc_id=f"doc-{score}-{i}") for i in range(n))
        p = (2.0 - score) ** -alpha  # P(Lomax(alpha) > 1 - s), written out independently
        sigma = math.sqrt(n * p * (1 - p))
        assert abs(kept - n * p) <= 4 * sigma + 1e-9, (score, kept, n * p, sigma)


def test_pareto_draw_depends_on_seed_and_id_only():
    ids = [f"id-{i}" for i in range(2000)]
    first = [pareto_keep(0.6, 9.0, 1, i) for i in ids]
    again = [pareto_keep(0.6, 9.0, 1, i) for i in reversed(ids)][::-1]
    other_seed = [pareto_keep(0.6, 9.0, 2, i) for i in ids]
    assert first == again
    assert first != other_seed
    assert 0 < sum(first) < len(ids)


def test_top_fraction_cutoff_equals_brute_force_quantile():
    rng = np.random.default_rng(3)
    scores = np.round(rng.beta(2, 5, 5000), 3)  # rounded: many ties
    for q in (0.01, 0.1, 0.25, 0.5, 1.0):
        halves = ScoreHistogram().add(scores[:2500]).merge(ScoreHistogram().add(scores[2500:]))
        cutoff = halves.top_fraction_cutoff(q)
        # Brute force: the ceil(q n)-th highest score; keep every score in its bin or above.
        kth = np.sort(scores)[::-1][math.ceil(q * len(scores)) - 1]
        expected = {i for i, s in enumerate(scores) if int(s * HISTOGRAM_BINS) >= int(
            kth * HISTOGRAM_BINS)}
        kept = {i for i, s in enumerate(scores) if score_bin(s) >= cutoff}
        assert kept == expected
        assert len(kept) >= q * len(scores)


def test_calibration_table_by_hand():
    reference = [0.9, 0.8, 1.0, 0.6]
    raw = [0.1, 0.2, 0.95, 0.5, 0.0]
    rows = calibration_table(reference, raw, alphas=[9], thresholds=[0.7])
    pareto, threshold = rows
    assert pareto["mode"] == "pareto" and threshold["mode"] == "threshold"
    assert pareto["reference_kept"] == pytest.approx(
        sum((2 - s) ** -9 for s in reference) / len(reference))
    assert pareto["raw_kept"] == pytest.approx(sum((2 - s) ** -9 for s in raw) / len(raw))
    assert threshold["reference_kept"] == pytest.approx(3 / 4)  # 0.9, 0.8, 1.0 >= 0.7
    assert threshold["raw_kept"] == pytest.approx(1 / 5)        # 0.95
    assert threshold["raw_kept_mean_score"] == pytest.approx(0.95)
    assert pareto["reference_mean_score"] == pytest.approx(0.825)
