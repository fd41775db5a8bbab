"""Scoring rules on hand-computed numbers."""

import math

import pytest

from crawl2gpt.evaluation.scoring import (
    ChoiceScore,
    choice_predictions,
    cut_at_stop,
    exact_match,
    free_form_metrics,
    gnmt_length_penalty,
    mean_and_ci95,
    normalize_answer,
    token_f1,
)


def test_normalisations_can_pick_different_choices():
    scores = [ChoiceScore(-6.0, tokens=2, chars=10, unconditional=-1.0),   # -3.0/tok, -0.6/char
              ChoiceScore(-8.0, tokens=4, chars=40, unconditional=-7.5),   # -2.0/tok, -0.2/char
              ChoiceScore(-5.0, tokens=1, chars=5, unconditional=-2.0)]    # -5.0/tok, -1.0/char
    # total: -5 is best (2); per token: -2 (1); per char: -0.2 (1);
    # unconditional: -6+1=-5, -8+7.5=-0.5, -5+2=-3 -> 1
    assert choice_predictions(scores) == {"acc": 2, "acc_norm": 1, "acc_char": 1,
                                          "acc_uncond": 1}
    assert "acc_uncond" not in choice_predictions([ChoiceScore(-1.0, 1, 1)])


def test_ties_go_to_the_first_choice():
    assert choice_predictions([ChoiceScore(-1.0, 1, 1), ChoiceScore(-1.0, 1, 1)])["acc"] == 0


def test_answer_normalisation_and_f1():
    assert normalize_answer("  The Beatles!") == "beatles"
    assert exact_match(" 143", "143") and not exact_match(" 1430", " 143")
    # prediction {david, seville, jr}, reference {david, seville}: P = 2/3, R = 1, F1 = 0.8
    assert token_f1("David Seville Jr.", "David Seville") == pytest.approx(0.8)
    assert token_f1("the", "a") == 1.0  # both normalise to nothing
    metrics = free_form_metrics(" onions", "Onion", ["Onions", "Allium cepa"])
    assert metrics == {"alias_match": 1.0, "exact_match": 0.0, "f1": 1.0}


def test_stop_strings():
    assert cut_at_stop(" casino\nfoo", ["\n"]) == (" casino", True)
    assert cut_at_stop(" casino", ["\n", "."]) == (" casino", False)


def test_gnmt_length_penalty():
    assert gnmt_length_penalty(1) == 1.0  # (5 + 1) / 6 = 1
    assert gnmt_length_penalty(7) == pytest.approx(2 ** 0.6)  # (5 + 7) / 6 = 2


def test_mean_and_confidence_interval():
    mean, ci = mean_and_ci95([1.0, 0.0, 1.0, 0.0])
    # sample variance of 1,0,1,0 = 1/3; 1.96 * sqrt(1/3 / 4)
    assert mean == 0.5 and ci == pytest.approx(1.96 * math.sqrt(1 / 12))
