"""LSH: parameters as datasketch chooses them, the S-curve against MMDS, band keys, buckets."""

import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from crawl2gpt.dedup.lsh import (
    band_hashes,
    bucket_pairs,
    candidate_probability,
    optimal_bands_rows,
    print_s_curve,
)


@pytest.mark.parametrize("threshold,num_perm,weights", [
    (0.8, 128, (0.5, 0.5)), (0.6, 128, (0.5, 0.5)), (0.9, 64, (0.5, 0.5)),
    (0.5, 64, (0.5, 0.5)), (0.8, 64, (0.1, 0.9))])
def test_bands_rows_equal_datasketch(threshold, num_perm, weights):
    assert optimal_bands_rows(threshold, num_perm, *weights) == \
        _optimal_param(threshold, num_perm, *weights)


def test_s_curve_matches_mmds_example():
    # Leskovec, Rajaraman, Ullman, Mining of Massive Datasets, Example 3.22: 20 bands of 5 rows;
    # at s=0.8 about 0.99965 become candidates, at s=0.3 about 4.7%.
    assert candidate_probability(0.8, 20, 5) == pytest.approx(0.99965, abs=1e-5)
    assert candidate_probability(0.3, 20, 5) == pytest.approx(0.0475, abs=5e-4)


def test_print_s_curve(capsys):
    print_s_curve(20, 5)
    out = capsys.readouterr().out
    assert "20 bands x 5 rows" in out and "J=0.80  P=0.9996" in out


def test_band_hashes_agree_exactly_on_equal_bands():
    sigs = np.arange(24, dtype=np.uint32).reshape(2, 12)
    sigs[1, 4:8] = sigs[0, 4:8]  # only band 1 (of 3 x 4 rows) is shared
    keys = band_hashes(sigs, 3, 4)
    assert keys.dtype == np.int64
    assert [keys[0, b] == keys[1, b] for b in range(3)] == [False, True, False]
    with pytest.raises(ValueError, match="need 15 permutations"):
        band_hashes(sigs, 3, 5)


def test_bucket_pairs_all_pairs_then_window():
    ids = ["d", "a", "c", "b"]
    assert sorted(bucket_pairs(ids, 4)) == [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"),
                                            ("b", "d"), ("c", "d")]
    # Giant (4 > 3): each member with its next 2 in id order.
    assert sorted(bucket_pairs(ids, 3)) == [("a", "b"), ("a", "c"), ("b", "c"), ("b", "d"),
                                            ("c", "d")]
