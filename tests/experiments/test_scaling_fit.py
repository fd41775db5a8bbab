"""The power-law fit recovers a known law from noisy synthetic points.

Ground truth is Kaplan et al. (2020)'s L(N) = (8.8e13 / N) ** 0.076 (their eq. 1.1, also in
GPT-3 §3); the reference for the fitted numbers is the textbook closed form of simple linear
regression in log-log space (slope = Sxy / Sxx, intercept = ybar - slope xbar,
SE(slope) = s / sqrt(Sxx)), written out here independently of the module's matrix solve.
"""

import math

import numpy as np
import pytest

from crawl2gpt.experiments.scaling_fit import compute_frontier, fit_power_law

TRUE_ALPHA, TRUE_NC = 0.076, 8.8e13


def synthetic(rng, n_points=8, noise=0.01, alpha=TRUE_ALPHA, scale=TRUE_NC):
    sizes = np.logspace(6, 9, n_points)
    loss = (scale / sizes) ** alpha * np.exp(rng.normal(0.0, noise, n_points))
    return sizes, loss


def closed_form(x, y):
    lx, ly = np.log(x), np.log(y)
    sxx = ((lx - lx.mean()) ** 2).sum()
    slope = ((lx - lx.mean()) * (ly - ly.mean())).sum() / sxx
    intercept = ly.mean() - slope * lx.mean()
    s2 = ((ly - intercept - slope * lx) ** 2).sum() / (len(x) - 2)
    return slope, intercept, math.sqrt(s2 / sxx)


def test_fit_matches_closed_form_regression():
    sizes, loss = synthetic(np.random.default_rng(1))
    fit = fit_power_law(sizes, loss)
    slope, intercept, slope_se = closed_form(sizes, loss)
    assert fit.alpha == pytest.approx(-slope, rel=1e-9)
    assert fit.log_scale == pytest.approx(intercept / -slope, rel=1e-9)
    assert fit.alpha_se == pytest.approx(slope_se, rel=1e-9)


def test_true_values_inside_the_stated_intervals():
    fit = fit_power_law(*synthetic(np.random.default_rng(2)))
    low, high = fit.alpha_interval()
    assert low < TRUE_ALPHA < high
    low, high = fit.scale_interval()
    assert low < TRUE_NC < high
    assert fit.alpha == pytest.approx(TRUE_ALPHA, abs=0.01)
    # the interval is informative, not a catch-all
    assert high / low < 1e3 and fit.alpha_interval()[1] - fit.alpha_interval()[0] < 0.03


def test_interval_coverage_is_near_nominal():
    """Over 400 noisy draws the 95 % intervals hold the truth about 95 % of the time (a wrong
    standard error, e.g. without the n - 2 or the t quantile, lands far outside 0.92-0.98)."""
    rng = np.random.default_rng(3)
    alpha_hits = scale_hits = predict_hits = 0
    draws = 400
    for _ in range(draws):
        sizes, loss = synthetic(rng, n_points=5, noise=0.02)
        fit = fit_power_law(sizes, loss)
        alpha_hits += fit.alpha_interval()[0] < TRUE_ALPHA < fit.alpha_interval()[1]
        scale_hits += fit.scale_interval()[0] < TRUE_NC < fit.scale_interval()[1]
        new_size = 1e10
        measured = (TRUE_NC / new_size) ** TRUE_ALPHA * math.exp(rng.normal(0, 0.02))
        low, high = fit.prediction_interval(new_size)
        predict_hits += low < measured < high
    for hits in (alpha_hits, scale_hits, predict_hits):
        assert 0.92 < hits / draws < 0.98


def test_prediction_is_the_law_at_a_new_size():
    sizes = np.logspace(6, 9, 5)
    fit = fit_power_law(sizes, (TRUE_NC / sizes) ** TRUE_ALPHA)  # exact points
    assert fit.predict(1e10) == pytest.approx((TRUE_NC / 1e10) ** TRUE_ALPHA, rel=1e-9)
    assert fit.residual_sd == pytest.approx(0.0, abs=1e-9)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least 3"):
        fit_power_law([1e6, 1e7], [3.0, 2.5])
    with pytest.raises(ValueError, match="positive"):
        fit_power_law([1e6, 1e7, 1e8], [3.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="same x"):
        fit_power_law([1e6, 1e6, 1e6], [3.0, 2.9, 2.8])


def test_frontier_keeps_points_no_cheaper_point_beats():
    points = [(1.0, 5.0), (2.0, 4.0), (3.0, 4.5), (4.0, 3.0), (5.0, 3.5), (6.0, 2.0)]
    assert compute_frontier(points) == [(1.0, 5.0), (2.0, 4.0), (4.0, 3.0), (6.0, 2.0)]
