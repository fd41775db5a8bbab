"""Helpers for the dedup tests: real text, controlled edits, brute-force Jaccard.

`brute_jaccard` tokenises on its own (word tuples, Python sets), independent of `dedup.minhash`,
so expected values never come from the code under test.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path


def brute_jaccard(text_a: str, text_b: str, n: int = 5) -> float:
    def grams(text: str) -> set[tuple[str, ...]]:
        ws = re.findall(r"\w+", text.lower())
        return {tuple(ws[i:i + n]) for i in range(max(len(ws) - n + 1, 1))}

    a, b = grams(text_a), grams(text_b)
    return len(a & b) / len(a | b)


def c4_texts(shared_data: Path, count: int) -> list[str]:
    """The first `count` C4 documents (README: 1,000 JSON lines with a "text" field)."""
    path = shared_data / "commoncrawl" / "c4" / "c4-sample.00000-of-00001.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for _, line in zip(range(count), f)]


def book_words(shared_data: Path, name: str = "pg1342.txt") -> list[str]:
    """Whitespace words of a Gutenberg book (README: pg1342 has 130,408 of them)."""
    return (shared_data / "books" / name).read_text(encoding="utf-8").split()


def substitute_words(text: str, count: int, seed: int) -> str:
    """The first `count` words of a seeded shuffle of positions replaced by unique words.

    More substitutions only ever add to fewer ones, so Jaccard falls as `count` grows.
    """
    ws = text.split()
    positions = list(range(len(ws)))
    random.Random(seed).shuffle(positions)
    for k, i in enumerate(positions[:count]):
        ws[i] = f"qqq{seed}x{k}"
    return " ".join(ws)


def variant_with_jaccard(text: str, lo: float, hi: float, seed: int) -> tuple[str, float]:
    """A word-substituted copy of `text` whose brute-force Jaccard with it is in [lo, hi]."""
    low, high = 0, len(text.split())  # Jaccard(low) >= lo, searching the largest such count
    while low < high:
        mid = (low + high + 1) // 2
        if brute_jaccard(text, substitute_words(text, mid, seed)) >= lo:
            low = mid
        else:
            high = mid - 1
    variant = substitute_words(text, low, seed)
    j = brute_jaccard(text, variant)
    if not lo <= j <= hi:
        raise ValueError(f"no variant with Jaccard in [{lo}, {hi}] (seed {seed}, got {j})")
    return variant, j


def speech_text(shared_data: Path, name: str) -> str:
    return (shared_data / "speeches" / "inaugural" / name).read_text(encoding="utf-8")


def small_corpus(shared_data: Path):
    """Documents of three sources with known near-duplicates, and the expected removals.

    Sources: `crawl` and `forum` (raw), `wiki` (reference). Returns (documents, expected) with
    expected = {removed doc id: (reason, kept doc id)}; every pair's Jaccard is brute-forced.
    """
    from crawl2gpt.core.records import Document

    def doc(source, text, key, quality):
        return Document.create(source, text, record_id=key, quality_score=quality)

    bases = [t for t in c4_texts(shared_data, 120) if len(t.split()) >= 150][:20]
    docs = [doc("crawl", t, f"base{i}", 0.5) for i, t in enumerate(bases)]
    expected = {}
    for i in range(4):  # near-duplicates well above 0.8, lower quality: removed
        text, _ = variant_with_jaccard(bases[i], 0.85, 0.95, seed=i)
        d = doc("crawl", text, f"near{i}", 0.4)
        docs.append(d)
        expected[d.id] = ("fuzzy_dedup_near_duplicate", docs[i].id)
    for i in (4, 5):  # just below 0.8: kept
        text, _ = variant_with_jaccard(bases[i], 0.72, 0.78, seed=i)
        docs.append(doc("crawl", text, f"below{i}", 0.4))
    for k in range(3):  # a cluster of four around base 6
        text, _ = variant_with_jaccard(bases[6], 0.86, 0.95, seed=10 + k)
        d = doc("crawl", text, f"cluster{k}", 0.3)
        docs.append(d)
        expected[d.id] = ("fuzzy_dedup_near_duplicate", docs[6].id)
    # A chain of book windows: neighbours ~0.89, two apart ~0.78 (brute-forced in the tests).
    words = book_words(shared_data)[5000:5400]
    chain = [doc("crawl", " ".join(words[12 * k:12 * k + 200]), f"chain{k}", 0.9 - 0.1 * k)
             for k in range(5)]
    docs += chain
    for k in (1, 3):
        expected[chain[k].id] = ("fuzzy_dedup_near_duplicate", chain[k - 1].id)
    # Reference text and a raw near copy of it (removed although of higher quality).
    ref = speech_text(shared_data, "1789-Washington.txt")
    docs.append(doc("wiki", ref, "wash", None))
    text, _ = variant_with_jaccard(ref, 0.85, 0.95, seed=99)
    d = doc("crawl", text, "wash-copy", 0.99)
    docs.append(d)
    expected[d.id] = ("fuzzy_dedup_cross_source", docs[-2].id)
    # A near copy in another raw source: out of scope, kept.
    text, _ = variant_with_jaccard(bases[7], 0.9, 0.97, seed=7)
    docs.append(doc("forum", text, "forum7", 0.5))
    return docs, expected


SOURCE_ROLES = {"crawl": "raw", "forum": "raw", "wiki": "reference"}
