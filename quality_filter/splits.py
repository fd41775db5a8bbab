"""How `train-quality` divides its documents: held-out part, cross-validation folds, class weights.

Each division is its own hash draw (a salt per purpose), made for each class apart, so both
classes are in training and held out at the configured share whatever the raw : reference
ratio. Documents that share an input file (raw crawl documents with a URL: a URL host) are
held out together by default: a model that saw a file's other documents would be judged on
what it memorised of that file's style, not on what it learnt about quality.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections import Counter
from typing import Sequence
from urllib.parse import urlsplit

import numpy as np

from crawl2gpt.core.records import Document

HELDOUT_SALT, FOLD_SALT = "heldout", "folds"
HELDOUT_BY = ("file", "document")
CLASS_NAMES = {1: "reference", 0: "raw"}


def unit_hash(seed: int, key: str) -> float:
    """A number in [0, 1) determined by (seed, key) alone."""
    digest = hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2.0 ** 64


def group_key(doc: Document, label: int, heldout_by: str) -> str:
    """The unit `doc` is held out with: `host:`, `file:` or `document:` and its name.

    `file`: a raw crawl document with a URL goes with its URL host (a crawl file mixes
    unrelated sites; one site's pages share a template), any other with its input file, named
    by source and file name so that moving the inputs does not change the draw; a document
    read from nowhere (built in memory) stands alone.
    """
    if heldout_by == "file":
        host = urlsplit(doc.url).hostname if label == 0 and doc.url else None
        if host:
            return f"host:{host}"
        if doc.source_file:
            return f"file:{doc.source}/{posixpath.basename(doc.source_file)}"
    return f"document:{doc.id}"


def unit_name(key: str) -> str:
    return key.split(":", 1)[0]


def assign_parts(ids: Sequence[str], groups: Sequence[str], labels: Sequence[int],
                 shares: Sequence[float], seed: int, salt: str) -> tuple[np.ndarray, dict]:
    """Part index per example, and how each class was divided.

    Each class is divided on its own: its groups, in the order of a salted hash of their key,
    each go to the part furthest below its share of the class's documents; every part gets at
    least one group. A class with fewer groups than parts, or whose groups are so uneven that a
    part would get over twice its share (one file holding most of the class), is divided by
    document instead, and the report says so (`"unit": "document (too few or uneven groups)"`).
    """
    parts = np.full(len(ids), -1, dtype=np.int64)
    divided = {}
    for label in (1, 0):
        index = [i for i, y in enumerate(labels) if y == label]
        keys = [groups[i] for i in index]
        unit = "+".join(sorted({unit_name(k) for k in keys}))
        part_of = _divide(Counter(keys), shares, seed, salt) \
            if len(set(keys)) >= len(shares) else None
        if part_of is None or _overfilled([part_of[k] for k in keys], shares):
            keys = [f"document:{ids[i]}" for i in index]
            unit = "document (too few or uneven groups)"
            part_of = _divide(Counter(keys), shares, seed, salt)
        parts[index] = [part_of[k] for k in keys]
        divided[CLASS_NAMES[label]] = {"unit": unit, "groups": len(part_of)}
    return parts, divided


def _divide(sizes: Counter, shares: Sequence[float], seed: int, salt: str) -> dict[str, int]:
    """Group -> part: greedy by deficit in hash order, no part left empty."""
    if len(sizes) < len(shares):
        raise ValueError(f"{len(sizes)} documents of a class cannot fill {len(shares)} parts "
                         f"(training and held-out, or cross-validation folds)")
    order = sorted(sizes, key=lambda g: (unit_hash(seed, f"{salt}\x00{g}"), g))
    target = np.asarray(shares, dtype=np.float64) / sum(shares) * sum(sizes.values())
    filled = np.zeros(len(shares))
    part_of = {}
    for n, group in enumerate(order):
        empty = [p for p in range(len(shares)) if filled[p] == 0]
        candidates = empty if len(order) - n <= len(empty) else range(len(shares))
        part = max(candidates, key=lambda p: (target[p] - filled[p], -p))
        part_of[group] = part
        filled[part] += sizes[group]
    return part_of


def _overfilled(parts: Sequence[int], shares: Sequence[float]) -> bool:
    """True if a part holds more than twice its share (plus one document)."""
    counts = np.bincount(parts, minlength=len(shares))
    target = np.asarray(shares, dtype=np.float64) / sum(shares) * len(parts)
    return bool((counts > 2 * target + 1).any())


def class_weights(labels: Sequence[int], ratio: float) -> dict[int, float]:
    """Weights that make raw : reference = `ratio` in total, the smaller side raised to meet it.

    Every document is kept: the class short of its share is up-weighted, the other stays 1.
    """
    n_ref = sum(1 for y in labels if y == 1)
    n_raw = len(labels) - n_ref
    return {1: max(1.0, n_raw / (ratio * n_ref)), 0: max(1.0, ratio * n_ref / n_raw)}


def repeat_counts(labels: Sequence[int], weights: dict[int, float]) -> np.ndarray:
    """Copies of each example that realise `weights` by oversampling (for fastText).

    A class of n examples with weight w gets floor(w) copies each, and one more for the first
    round((w - floor(w)) * n) of them in the given order.
    """
    y = np.asarray(labels)
    counts = np.zeros(len(y), dtype=np.int64)
    for label, w in weights.items():
        index = np.flatnonzero(y == label)
        counts[index] = int(w)
        counts[index[:round((w - int(w)) * len(index))]] += 1
    return counts
