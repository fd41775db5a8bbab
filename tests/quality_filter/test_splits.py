"""Held-out parts, folds and class weights: checked by counting, not by re-running the code."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import numpy as np
import pytest

from crawl2gpt.core.records import Document
from crawl2gpt.quality_filter.splits import (
    assign_parts,
    class_weights,
    group_key,
    repeat_counts,
    unit_hash,
)


def population(n_ref: int, n_raw: int, per_group: int = 1):
    """(ids, groups, labels): `per_group` consecutive documents of a class share a group."""
    ids, groups, labels = [], [], []
    for label, n in ((1, n_ref), (0, n_raw)):
        for i in range(n):
            ids.append(f"{label}-{i}")
            groups.append(f"file:{label}-{i // per_group}")
            labels.append(label)
    return ids, groups, labels


@pytest.mark.parametrize("n_ref,n_raw", [(100, 100), (60, 740), (15, 1500)])
def test_each_class_is_held_out_at_the_configured_share(n_ref, n_raw):
    ids, groups, labels = population(n_ref, n_raw)
    parts, divided = assign_parts(ids, groups, labels, [0.9, 0.1], seed=0, salt="heldout")
    table = Counter(zip(labels, parts.tolist()))
    # Document by document, each class's held-out count is its share to the nearest document.
    assert abs(table[1, 1] - 0.1 * n_ref) <= 0.5 and abs(table[0, 1] - 0.1 * n_raw) <= 0.5
    assert table[1, 0] == n_ref - table[1, 1] and table[0, 0] == n_raw - table[0, 1]
    assert divided["reference"]["unit"] == "file" and divided["raw"]["groups"] == n_raw


def test_a_group_is_never_on_both_sides_and_the_share_is_near():
    rng = random.Random(1)
    ids, groups, labels = [], [], []
    for label, n_groups in ((1, 30), (0, 200)):
        for g in range(n_groups):
            for i in range(rng.randint(1, 12)):
                ids.append(f"{label}-{g}-{i}")
                groups.append(f"host:{label}-{g}")
                labels.append(label)
    parts, _ = assign_parts(ids, groups, labels, [0.9, 0.1], seed=3, salt="heldout")
    sides = defaultdict(set)
    for group, part in zip(groups, parts):
        sides[group].add(int(part))
    assert all(len(s) == 1 for s in sides.values())
    for label in (0, 1):
        held = sum(1 for y, p in zip(labels, parts) if y == label and p == 1)
        total = labels.count(label)
        assert abs(held - 0.1 * total) <= 12  # off by less than the largest group


def test_too_few_groups_fall_back_to_documents():
    ids, groups, labels = population(20, 50)
    groups[:20] = ["file:reference.jsonl"] * 20  # one reference file
    parts, divided = assign_parts(ids, groups, labels, [0.9, 0.1], seed=0, salt="heldout")
    assert divided["reference"]["unit"] == "document (too few or uneven groups)"
    assert divided["raw"] == {"unit": "file", "groups": 50}
    assert sum(p for y, p in zip(labels, parts) if y == 1) == 2  # 10 % of 20 documents


def test_a_file_holding_most_of_a_class_is_not_held_out_whole():
    # Reference: one file of 60 documents and three of 20 (target held out: 12 documents).
    ids = [f"r{i}" for i in range(120)] + [f"n{i}" for i in range(100)]
    groups = ["file:big" if i < 60 else f"file:{i // 20}" for i in range(120)] + \
        [f"file:n{i}" for i in range(100)]
    labels = [1] * 120 + [0] * 100
    units = set()
    for seed in range(12):
        parts, divided = assign_parts(ids, groups, labels, [0.9, 0.1], seed, "heldout")
        held = int(parts[:120].sum())
        units.add(divided["reference"]["unit"])
        assert held == (20 if divided["reference"]["unit"] == "file" else 12)
    assert units == {"file", "document (too few or uneven groups)"}  # both cases occurred


def test_every_part_gets_a_group_of_each_class():
    # Three equal files and a 10 % share: greedy by deficit alone would leave held-out empty.
    ids, groups, labels = population(30, 30, per_group=10)
    parts, _ = assign_parts(ids, groups, labels, [0.9, 0.1], seed=0, salt="heldout")
    assert set(zip(labels, parts.tolist())) == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_draws_do_not_depend_on_input_order_and_differ_by_salt():
    ids, groups, labels = population(50, 500)
    parts, _ = assign_parts(ids, groups, labels, [0.9, 0.1], seed=0, salt="heldout")
    order = list(range(len(ids)))
    random.Random(0).shuffle(order)
    shuffled, _ = assign_parts([ids[i] for i in order], [groups[i] for i in order],
                               [labels[i] for i in order], [0.9, 0.1], seed=0, salt="heldout")
    assert dict(zip(ids, parts)) == {ids[i]: p for i, p in zip(order, shuffled)}
    folds, _ = assign_parts(ids, groups, labels, [1.0] * 10, seed=0, salt="folds")
    held = {i for i, p in zip(ids, parts) if p == 1}
    # The held-out documents are spread over the folds, not piled into one.
    assert len({int(f) for i, f in zip(ids, folds) if i in held}) >= 8
    counts = Counter(zip(labels, folds.tolist()))
    assert all(counts[1, k] == 5 and counts[0, k] == 50 for k in range(10))


def test_group_key():
    crawl = Document("a", "c4", "t", url="https://News.example.com/x?y",
                     source_file="/data/c4/c4.jsonl")
    wiki = Document("b", "wiki", "t", url="https://en.wikipedia.org/wiki/X",
                    source_file="gs://bucket/wiki.jsonl")
    assert group_key(crawl, 0, "file") == "host:news.example.com"
    assert group_key(wiki, 1, "file") == "file:wiki/wiki.jsonl"  # reference: by file, not host
    assert group_key(crawl.replace(url=None), 0, "file") == "file:c4/c4.jsonl"
    assert group_key(Document("c", "s", "t"), 1, "file") == "document:c"
    assert group_key(crawl, 0, "document") == "document:a"


@pytest.mark.parametrize("n_ref,n_raw,ratio", [(10, 120, 1.0), (100, 100, 1.0), (10, 1000, 2.0),
                                               (300, 20, 1.0), (40, 737, 0.5)])
def test_class_weights_give_the_ratio_and_raise_only_the_short_class(n_ref, n_raw, ratio):
    labels = [1] * n_ref + [0] * n_raw
    w = class_weights(labels, ratio)
    assert n_raw * w[0] / (n_ref * w[1]) == pytest.approx(ratio)
    assert min(w.values()) == 1.0


def test_repeat_counts_realise_the_weights():
    labels = [1] * 7 + [0] * 90
    counts = repeat_counts(labels, {1: 90 / 7, 0: 1.0})
    assert counts[:7].sum() == 90 and (counts[7:] == 1).all()
    assert set(counts[:7].tolist()) == {12, 13}


def test_unit_hash_is_uniform_and_fixed():
    values = np.array([unit_hash(0, str(i)) for i in range(4000)])
    assert 0 <= values.min() and values.max() < 1 and abs(values.mean() - 0.5) < 0.02
    assert unit_hash(0, "x") == unit_hash(0, "x") != unit_hash(1, "x")
