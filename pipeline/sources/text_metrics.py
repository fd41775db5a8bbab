"""Word-level comparisons of extracted text against a reference text (for tests and benchmarks)."""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"\w+")


def word_tokens(text: str) -> list[str]:
    """Lowercased Unicode word tokens (`\\w+` runs): the unit of every score here."""
    return _WORD.findall(text.lower())


def token_f1(candidate: str, reference: str) -> float:
    """Bag-of-words F1 of `candidate` against `reference` (each token counted with multiplicity).

    Precision = shared tokens / candidate tokens, recall = shared tokens / reference tokens,
    shared = sum over words of min(count in candidate, count in reference). An empty candidate or
    reference scores 0 (except both empty, which is a perfect 1).
    """
    cand, ref = Counter(word_tokens(candidate)), Counter(word_tokens(reference))
    if not cand or not ref:
        return 1.0 if not cand and not ref else 0.0
    shared = sum((cand & ref).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / sum(cand.values()), shared / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def token_containment(first: str, second: str) -> float:
    """Fraction of `first`'s word tokens (a multiset) that also occur in `second`.

    Shared tokens are counted as for `token_f1` (min of the two counts per word), so a word
    said three times in `first` and once in `second` contributes one. An empty `first` is
    contained in anything (1.0).
    """
    a, b = Counter(word_tokens(first)), Counter(word_tokens(second))
    if not a:
        return 1.0
    return sum((a & b).values()) / sum(a.values())
