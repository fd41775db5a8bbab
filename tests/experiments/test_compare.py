"""Ablation differences next to the seed noise, checked against numbers worked by hand."""

import math

import pytest

from crawl2gpt.experiments.compare import compare, pooled_sd, verdict


def test_pooled_sd_by_hand():
    # group a: mean 3.0, squared deviations 0.01 + 0.01; group b: mean 3.5, 0.04 + 0.04
    # pooled variance = 0.10 / (1 + 1) = 0.05
    assert pooled_sd([[2.9, 3.1], [3.3, 3.7]]) == pytest.approx(math.sqrt(0.05))


def test_one_seed_per_configuration_has_no_noise_estimate():
    with pytest.raises(ValueError, match="2 seeds"):
        pooled_sd([[3.0], [3.1]])


def test_difference_beyond_and_within_the_noise():
    # pooled sd = sqrt(0.05) = 0.2236; SE of a 2-vs-2 difference = 0.2236 * 1 = 0.2236
    rows = compare({"off": [2.9, 3.1], "on": [3.3, 3.7]}, "reference_loss", "off")
    assert [r.config for r in rows] == ["off", "on"]
    assert rows[1].diff == pytest.approx(0.5)
    assert rows[1].se == pytest.approx(math.sqrt(0.05))
    assert rows[1].exceeds_noise  # 0.5 > 2 * 0.2236 = 0.447
    assert rows[1].sd == pytest.approx(math.sqrt(0.08))  # stdev of 3.3, 3.7
    # per-seed differences 0.4 and 0.6: stdev 0.1414, / sqrt(2) = 0.1
    assert rows[1].paired_se == pytest.approx(0.1)
    close = compare({"off": [2.9, 3.1], "on": [3.1, 3.5]}, "reference_loss", "off")
    assert close[1].diff == pytest.approx(0.3) and not close[1].exceeds_noise


def test_verdict_names_winner_and_noise():
    rows = compare({"off": [2.9, 3.1], "on": [3.3, 3.7]}, "reference_loss", "off")
    assert verdict(rows, higher_is_better=False).startswith(
        "off wins reference_loss over on by 0.5")
    assert verdict(rows, higher_is_better=False).endswith(": exceeds the noise")
    assert verdict(rows, higher_is_better=True).startswith("on wins")
    tie = compare({"off": [0.0, 0.0], "on": [0.0, 0.0]}, "exact_match", "off")
    assert verdict(tie, higher_is_better=True) == "exact_match: no difference (every " \
        "configuration 0)"


def test_demo_reference_is_new_text_of_the_demo_kinds():
    """Deterministic, half wiki entries and half articles, none drawn with the seeds the demo
    corpus uses for its own wiki entries (crawl2gpt/demo/data.py: derived_seed(seed, "wikipedia",
    i)), so none equals the demo's wiki article i."""
    import random

    from crawl2gpt.demo import text as demo_text
    from crawl2gpt.demo.pages import derived_seed
    from crawl2gpt.experiments.demo_reference import reference_documents
    docs = reference_documents(6)
    assert docs == reference_documents(6)
    assert [d["kind"] for d in docs] == ["wikipedia", "article"] * 3
    demo_wiki = {demo_text.wiki_article(random.Random(derived_seed(0, "wikipedia", i)))[1]
                 for i in range(300)}
    assert not demo_wiki & {d["text"] for d in docs}


def test_example_sampling_noise_adds_in_quadrature():
    """Accuracies 0.55/0.55 vs 0.60/0.60 on 100 examples: no seed noise at all, but each score
    has SE sqrt(0.25/100) ~ 0.05 over the examples; the difference's is hypot(0.05, 0.05)."""
    rows = compare({"a": [0.55, 0.55], "b": [0.60, 0.60]}, "acc", "a", {"a": 0.05, "b": 0.05})
    assert rows[1].se == 0.0 and rows[0].sampling_se == 0.0
    assert rows[1].sampling_se == pytest.approx(math.sqrt(0.005))
    assert rows[1].total_se == pytest.approx(math.sqrt(0.005))
    assert not rows[1].exceeds_noise  # 0.05 < 2 * 0.0707
    assert "examples SE 0.071" in verdict(rows, higher_is_better=True)
    assert verdict(rows, higher_is_better=True).endswith("does not exceed the noise")
