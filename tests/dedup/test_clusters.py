"""Cluster decisions: priority order, chains, scopes, verification modes."""

import numpy as np
import pytest

from crawl2gpt.dedup.clusters import (
    REASON_CROSS_SOURCE,
    REASON_NEAR_DUPLICATE,
    Edge,
    Node,
    PairSide,
    Removal,
    decide_cluster,
    pair_in_scope,
    verify_pair,
)


def node(i, source="web", role="raw", quality=None, length=100):
    return Node(i, source, role, quality, length)


def test_chain_keeps_both_ends():
    a, b, c = node("a", quality=3.0), node("b", quality=2.0), node("c", quality=1.0)
    removals = decide_cluster("a", [Edge(a, b, 0.85), Edge(b, c, 0.85)])
    assert removals == [Removal("b", REASON_NEAR_DUPLICATE, "a", "a", 0.85)]


def test_cluster_of_four_keeps_the_best():
    # Priority: quality desc, then length desc, then id asc.
    n = [node("w", quality=0.5, length=10), node("x", quality=0.9, length=5),
         node("y", quality=0.9, length=50), node("z", quality=0.9, length=50)]
    edges = [Edge(p, q, 0.9) for i, p in enumerate(n) for q in n[i + 1:]]
    removals = decide_cluster("w", edges)
    assert sorted(r.doc_id for r in removals) == ["w", "x", "z"]
    assert {r.kept_id for r in removals} == {"y"}


def test_reference_beats_raw_and_scopes():
    ref = node("r", source="wiki", role="reference", quality=0.1, length=10)
    raw = node("a", source="crawl", quality=0.99, length=1000)
    assert decide_cluster("a", [Edge(raw, ref, 0.95)]) == [
        Removal("a", REASON_CROSS_SOURCE, "a", "r", 0.95)]
    assert pair_in_scope("crawl", "raw", "wiki", "reference")
    assert pair_in_scope("crawl", "raw", "crawl", "raw")
    assert not pair_in_scope("crawl", "raw", "forum", "raw")
    assert not pair_in_scope("wiki", "reference", "books", "reference")


def test_verify_modes():
    a, b = node("a"), node("b")
    sig_a, sig_b = np.arange(10), np.array([0, 1, 2, 3, 4, 5, 6, 7, 90, 91])  # 8/10 agree
    fp_a, fp_b = np.arange(10, dtype=np.uint64), np.arange(2, 12, dtype=np.uint64)  # 8/12
    side_a, side_b = PairSide(a, sig_a, fp_a), PairSide(b, sig_b, fp_b)
    assert verify_pair(side_b, side_a, "off", 0.8) == Edge(a, b, None)
    assert verify_pair(side_a, side_b, "estimate", 0.8) == Edge(a, b, 0.8)
    assert verify_pair(side_a, side_b, "exact", 0.8) is None
    assert verify_pair(side_a, side_b, "exact", 0.6).jaccard == pytest.approx(8 / 12, abs=1e-6)
