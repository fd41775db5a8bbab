"""Mixture table: epochs = weight × budget / tokens, the paper's Table 2.2, bad inputs refused."""

import json
import logging

import pytest

from crawl2gpt.mixing.weights import MixtureError, compute_mixture, human_tokens

# GPT-3 Table 2.2 (../shared/docs/gpt3-recipe.md §1.1): tokens, weights, 300B budget.
PAPER_TOKENS = {"commoncrawl": 410 * 10**9, "webtext2": 19 * 10**9, "books1": 12 * 10**9,
                "books2": 55 * 10**9, "wikipedia": 3 * 10**9}
PAPER_WEIGHTS = {"commoncrawl": 0.60, "webtext2": 0.22, "books1": 0.08, "books2": 0.08,
                 "wikipedia": 0.03}
BUDGET = 300 * 10**9


def paper_table(**kw):
    return compute_mixture(PAPER_TOKENS, PAPER_WEIGHTS, BUDGET, **kw)


def test_paper_table_follows_the_formula():
    table = paper_table()
    # By hand: 0.60*300/410 = 0.4390, 0.22*300/19 = 3.4737, 0.08*300/12 = 2.0,
    # 0.08*300/55 = 0.4364, 0.03*300/3 = 3.0.
    want = {"commoncrawl": 0.4390, "webtext2": 3.4737, "books1": 2.0, "books2": 0.4364,
            "wikipedia": 3.0}
    for source, epochs in want.items():
        assert table.row(source).epochs == pytest.approx(epochs, abs=1e-4), source
    # As printed by the paper: 0.44 for Common Crawl; 0.44 for Books2 (the paper prints 0.43,
    # 0.436 truncated); the paper's 2.9 / 1.9 / 3.4 do not follow from its own weights.
    printed = {r.source: f"{r.epochs:.2f}" for r in table.rows}
    assert printed == {"commoncrawl": "0.44", "webtext2": "3.47", "books1": "2.00",
                       "books2": "0.44", "wikipedia": "3.00"}
    assert table.row("commoncrawl").tokens_drawn == 180 * 10**9


def test_paper_weights_sum_to_101_percent_and_are_used_as_given():
    table = paper_table()
    assert table.weight_sum == pytest.approx(1.01)
    assert table.row("commoncrawl").weight == 0.60  # not rescaled to 0.594
    assert any("sum to 1.01" in w for w in table.warnings)


def test_render_has_paper_layout_and_order():
    text = paper_table().render()
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["source", "tokens"] and "epochs at 300B tokens" in lines[0]
    # Paper's row order (weight, then name): CC, WebText2, Books1, Books2, Wikipedia.
    assert [line.split()[0] for line in lines[2:7]] == [
        "commoncrawl", "webtext2", "books1", "books2", "wikipedia"]
    assert lines[2].split() == ["commoncrawl", "410B", "60.0%", "0.44"]
    assert "weights sum to 101.0%" in text


def test_to_dict_is_json_and_stable():
    a, b = paper_table(max_epochs=4.0), paper_table(max_epochs=4.0)
    assert json.dumps(a.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)
    d = json.loads(json.dumps(a.to_dict()))
    assert d["budget_tokens"] == BUDGET and len(d["rows"]) == 5


def test_max_epochs_warning(caplog):
    with caplog.at_level(logging.WARNING):
        table = paper_table(max_epochs=3.2)
    over = [w for w in table.warnings if "max_epochs" in w]
    assert len(over) == 1 and over[0].startswith("webtext2")  # 3.47 > 3.2; wikipedia 3.0 is not
    assert "webtext2 is repeated 3.47 times" in caplog.text


def test_by_size_and_by_size_alpha():
    counts = {"a": 300, "b": 100}
    table = compute_mixture(counts, "by_size", 800)
    assert table.row("a").weight == pytest.approx(0.75)
    assert table.row("a").epochs == pytest.approx(2.0) == table.row("b").epochs  # 600/300
    # alpha = 0.5: weights ∝ sqrt(300) : sqrt(100) = 17.32 : 10 -> 0.634 : 0.366.
    table = compute_mixture(counts, "by_size^0.5", 800)
    assert table.row("a").weight == pytest.approx(0.6340, abs=1e-4)
    assert table.row("b").epochs == pytest.approx(0.3660 * 800 / 100, abs=1e-3)
    assert table.weight_sum == pytest.approx(1.0) and not table.warnings


@pytest.mark.parametrize("counts, weights, match", [
    ({"a": 10, "b": 0}, {"a": 1.0, "b": 0.0}, r"empty source\(s\) \['b'\]"),
    ({"a": 10}, {"a": 0.5, "c": 0.5}, r"unknown source\(s\) \['c'\]"),
    ({"a": 10, "b": 5}, {"a": 1.0}, r"no weight for source\(s\) \['b'\]"),
    ({"a": 10, "b": 5}, {"a": 0.6, "b": 0.6}, "sum to 1.2"),
    ({"a": 10}, {"a": -1.0}, "numbers >= 0"),
    ({"a": 10}, "by_tokens", "expected a table"),
    ({}, "by_size", "no sources"),
])
def test_bad_inputs_are_refused(counts, weights, match):
    with pytest.raises(MixtureError, match=match):
        compute_mixture(counts, weights, 100)


def test_human_tokens():
    assert [human_tokens(n) for n in (410 * 10**9, 19 * 10**9, 1_500_000, 999)] == [
        "410B", "19B", "1.5M", "999"]
