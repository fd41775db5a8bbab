"""Comparisons of extracted text against a reference (for tests and benchmarks): word-level F1
against a reference text, and trafilatura's snippet counts (must / must not contain)."""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


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


class SnippetCounts(NamedTuple):
    """Snippet hits of trafilatura's evaluation: `with` found (tp) or missed (fn), `without`
    found (fp) or absent (tn)."""

    tp: int
    fn: int
    fp: int
    tn: int


def snippet_counts(output: str, with_snippets: list[str], without_snippets: list[str]
                   ) -> SnippetCounts:
    """Count snippets found in `output` after squeezing each whitespace run to one space."""
    text = _squeeze(output)
    found_with = sum(_squeeze(s) in text for s in with_snippets)
    found_without = sum(_squeeze(s) in text for s in without_snippets)
    return SnippetCounts(found_with, len(with_snippets) - found_with,
                         found_without, len(without_snippets) - found_without)


def snippet_scores(counts: list[SnippetCounts]) -> tuple[float, float, float]:
    """(precision, recall, F1) over the snippets of all pages together."""
    tp, fn, fp = (sum(c[i] for c in counts) for i in range(3))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _squeeze(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
