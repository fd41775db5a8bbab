"""A brute-force reference of the training-side contamination filter, and checks of it by hand.

Independent of dedup/ngrams.py and dedup/contamination.py: words come from a character loop
(no regex), every training n-gram is compared as a tuple of words (no hashing), documents per
n-gram are counted in a dict, cut windows are marked in a per-character mask (no interval
merging), pieces are the maximal unmarked runs. Other test modules compare the real stage to it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from crawl2gpt.dedup.benchmarks import Benchmark


def reference_words(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end): runs of characters that are neither whitespace nor P*/S*."""
    out, start = [], None
    word_char: dict[str, bool] = {}
    for i, ch in enumerate(text + " "):
        is_word = word_char.get(ch)
        if is_word is None:
            is_word = word_char[ch] = (not ch.isspace()
                                       and unicodedata.category(ch)[0] not in "PS")
        if is_word and start is None:
            start = i
        elif not is_word and start is not None:
            out.append((text[start:i].lower(), start, i))
            start = None
    return out


def reference_ngrams(benchmarks: list[Benchmark], n: int) -> set[tuple[str, ...]]:
    return {seq[i:i + n] for b in benchmarks for e in b.examples for seq in e.sequences
            for i in range(len(seq) - n + 1)}


@dataclass
class ReferenceResult:
    verdict: str  # "untouched", "split", "too_many_pieces", "no_piece_left"
    pieces: list[tuple[int, str]]  # (index among all pieces, text) of the kept pieces
    chars_removed: int


def reference_filter(texts: list[str], bench: set[tuple[str, ...]], n: int = 13,
                     window: int = 200, min_piece: int = 200, max_pieces: int = 10,
                     max_docs: int = 10) -> list[ReferenceResult]:
    words = [reference_words(t) for t in texts]
    hits = []
    for ws in words:
        grams = [tuple(w for w, _, _ in ws[i:i + n]) for i in range(len(ws) - n + 1)]
        hits.append([(i, g) for i, g in enumerate(grams) if g in bench])
    docs_per_gram: dict[tuple[str, ...], int] = {}
    for doc_hits in hits:
        for g in {g for _, g in doc_hits}:
            docs_per_gram[g] = docs_per_gram.get(g, 0) + 1
    results = []
    for text, ws, doc_hits in zip(texts, words, hits):
        doc_hits = [(i, g) for i, g in doc_hits if docs_per_gram[g] <= max_docs]
        if not doc_hits:
            results.append(ReferenceResult("untouched", [(0, text)], 0))
            continue
        removed = bytearray(len(text))
        for i, _ in doc_hits:
            a = max(ws[i][1] - window, 0)
            b = min(ws[i + n - 1][2] + window, len(text))
            removed[a:b] = b"\x01" * (b - a)
        pieces, start = [], None
        for c in range(len(text) + 1):
            free = c < len(text) and not removed[c]
            if free and start is None:
                start = c
            elif not free and start is not None:
                if text[start:c].strip():
                    pieces.append(text[start:c].strip())
                start = None
        if len(pieces) > max_pieces:
            results.append(ReferenceResult("too_many_pieces", [], len(text)))
            continue
        kept = [(k, p) for k, p in enumerate(pieces) if len(p) >= min_piece]
        results.append(ReferenceResult("split" if kept else "no_piece_left", kept,
                                       len(text) - sum(len(p) for _, p in kept)))
    return results


def test_reference_words_by_hand():
    # Spans counted by hand: "Don't" is 0-5, "stop" 6-10, "U.S." 11-15.
    assert reference_words("Don't stop U.S.") == [("don", 0, 3), ("t", 4, 5), ("stop", 6, 10),
                                                   ("u", 11, 12), ("s", 13, 14)]


def test_reference_filter_by_hand():
    # 3-grams, window 2, pieces >= 4 chars. Counted by hand: "a" starts at char 10, "c" ends
    # at 15, so chars [8, 17) go; chars 0-7 are "xxxx yyy", chars 17-19 are "zzz" (too short).
    text = "xxxx yyyy a b c zzzz"
    [r] = reference_filter([text], {("a", "b", "c")}, n=3, window=2, min_piece=4)
    assert (r.verdict, r.pieces, r.chars_removed) == ("split", [(0, "xxxx yyy")], 12)
