"""Word normalisation and n-gram hashing for contamination checks (GPT-3 Appendix C).

A "gram" is a lower-cased word with punctuation removed (paper, Appendix C). Matching runs on
these words; cutting runs on the original characters, so `normalize` keeps, for every word,
the span of characters it came from.

Punctuation: the paper says only "punctuation removed". OpenAI's published 13-grams
(`benchmarks/gpt3-synthetic/overlap_frequency.md`) show that punctuation *separated* words:
"didn t think you d be here", "the u s government", "36 30 parallel", "10 fetal bovine".
So the default (`split`) treats every Unicode punctuation or symbol character (categories P*
and S*, underscore included) like whitespace; `delete` is the literal reading (split on
whitespace, then drop punctuation inside each word: "didn't" -> "didnt").

An n-gram is identified by a 64-bit polynomial hash over 64-bit word hashes (xxh3), computed
for all positions of a document at once with numpy. With 1e6 benchmark n-grams and 1e12
training n-grams, the expected number of false matches is about 0.05.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass

import numpy as np
import xxhash

PUNCTUATION_MODES = ("split", "delete")

# Odd 64-bit multiplier of the polynomial n-gram hash (arithmetic wraps modulo 2**64).
_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class Words:
    """The normalised words of a text and the character span [start, end) each came from."""

    words: list[str]
    starts: np.ndarray  # (n_words,) int64
    ends: np.ndarray  # (n_words,) int64

    def __len__(self) -> int:
        return len(self.words)


@functools.cache
def _punctuation_table(replacement: str | None) -> dict[int, str | None]:
    """str.translate table sending every Unicode P* and S* character to `replacement`.

    Translating keeps string length (or only deletes), so offsets found in the translated text
    are offsets in the original; it is several times faster than a regex over a huge class."""
    return {cp: replacement for cp in range(sys.maxunicode + 1)
            if unicodedata.category(chr(cp))[0] in "PS"}


_TOKEN = re.compile(r"\S+")


def _check_mode(punctuation: str) -> None:
    if punctuation not in PUNCTUATION_MODES:
        raise ValueError(f"punctuation mode {punctuation!r} is not one of {PUNCTUATION_MODES}")


def normalize(text: str, punctuation: str = "split") -> Words:
    """Lower-cased, punctuation-free words of `text` with their character spans."""
    _check_mode(punctuation)
    if punctuation == "split":
        spans = [m.span() for m in _TOKEN.finditer(text.translate(_punctuation_table(" ")))]
        words = [text[a:b].lower() for a, b in spans]
    else:
        delete = _punctuation_table(None)
        words, spans = [], []
        for m in _TOKEN.finditer(text):
            word = m.group().translate(delete).lower()
            if word:  # a token made only of punctuation ("--", "&") is no word
                words.append(word)
                spans.append(m.span())
    positions = np.array(spans, dtype=np.int64).reshape(-1, 2)
    return Words(words, positions[:, 0].copy(), positions[:, 1].copy())


def normalized_words(text: str, punctuation: str = "split") -> list[str]:
    """Only the words (no spans), equal to `normalize(text).words`: what benchmarks need."""
    _check_mode(punctuation)
    if punctuation == "split":
        return text.translate(_punctuation_table(" ")).lower().split()
    delete = _punctuation_table(None)
    return [w for w in (t.translate(delete).lower() for t in text.split()) if w]


def word_hashes(words: list[str]) -> np.ndarray:
    """(n_words,) uint64 xxh3 hashes of the words' UTF-8 bytes."""
    return np.fromiter((xxhash.xxh3_64_intdigest(w.encode("utf-8", "surrogatepass"))
                        for w in words), dtype=np.uint64, count=len(words))


def ngram_hashes(hashes: np.ndarray, n: int) -> np.ndarray:
    """(n_words - n + 1,) uint64: entry i identifies the n-gram starting at word i."""
    count = len(hashes) - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    out = np.zeros(count, dtype=np.uint64)
    for k in range(n):  # Horner's rule over the n word hashes, all positions at once
        out = out * _HASH_BASE + hashes[k:k + count]
    return out


def ngram_hash(words: tuple[str, ...] | list[str]) -> int:
    """The hash of one n-gram (equal to `ngram_hashes` at its position in any text)."""
    return int(ngram_hashes(word_hashes(list(words)), len(words))[0])


def sequence_ngrams(sequences: list[tuple[str, ...]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every n-gram inside each sequence, and the index of the sequence it came from.

    The sequences are hashed as one concatenation; n-grams that would straddle two sequences
    are dropped. Sequences shorter than n contribute nothing.
    """
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    words = [w for s in sequences for w in s]
    hashes = ngram_hashes(word_hashes(words), n)
    owner = np.repeat(np.arange(len(sequences)), lengths)
    inside = owner[: len(hashes)] == owner[n - 1:]
    return hashes[inside], owner[: len(hashes)][inside]


def find_in_sorted(table: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query, the range [lo, hi) of entries equal to it in sorted `table` (lo == hi
    where absent). Queries are deduplicated and sorted first: sorted keys make numpy's binary
    search several times faster on a large table."""
    keys, inverse = np.unique(queries, return_inverse=True)
    lo = np.searchsorted(table, keys, side="left")
    hi = lo.copy()
    present = lo < len(table)
    present[present] = table[lo[present]] == keys[present]
    hi[present] = np.searchsorted(table, keys[present], side="right")
    return lo[inverse], hi[inverse]
