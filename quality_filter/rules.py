"""Heuristic document rules: Gopher quality and repetition, C4 and FineWeb, as one verdict.

`judge(text, config)` runs the enabled rule groups, cheapest first, and returns the first
failure as `Verdict(keep=False, reason="rules_<why>", detail={"value": ..., "limit": ...})`, so
each document is counted under exactly one reason. Plain Python; no Beam.

Sources of the rules and defaults:
- Gopher quality and repetition: Rae et al. 2021, "Scaling Language Models: Methods, Analysis &
  Insights from Training Gopher", arXiv:2112.11446, Appendix A.1.1 and Table A1.
- C4: Raffel et al. 2020, JMLR 21:140, §2.2, with the reference code's constants
  (tensorflow_datasets `text/c4_utils.py`: ≥ 5 words per line, ≥ 3 sentences per page).
- FineWeb: Penedo et al. 2024, arXiv:2406.17557, §3.5, values of datatrove's
  `FineWebQualityFilter`, which produced the dataset.

Choices where the papers leave room (written down so numbers can be compared):
- Words are whitespace tokens with punctuation stripped from both ends; a token of symbols
  only is not a word (datatrove gets the same effect from spaCy's tokens). The alphabetic-word
  fraction is over all whitespace tokens, so symbol-only tokens count against it.
- Lines and paragraphs are stripped and empty ones ignored. A duplicate is a second or later
  copy; duplicate character fractions are over the characters of all lines (paragraphs).
- N-gram fractions are over word characters. Top n-gram: count × length of the most frequent
  n-gram (the first in the text if several tie), only when it occurs at least twice.
  Duplicate n-grams: the words inside any second or later occurrence of an n-gram, each word
  counted once
  ("not counting characters of overlapping n-grams more than once", Gopher A.1.1).
- Stop words are matched case-insensitively.
- C4 sentences are counted by end marks (C4 used NLTK's punkt), at least one per kept line.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cached_property
from itertools import compress
from operator import methodcaller
from typing import Any, NamedTuple

from crawl2gpt.quality_filter.heuristics_config import (
    C4Config,
    FineWebConfig,
    GopherQualityConfig,
    GopherRepetitionConfig,
    RulesConfig,
)

STAGE = "rules"

# Stripped from both ends of a token to get a word; a token made only of these is a symbol.
SYMBOL_CHARS = ("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
                "“”‘’«»„‚‹›…—–·•●▪◦‣►→←※¡¿、。，：；！？（）【】《》「」『』〈〉¦§¶†‡©®™°")
BULLETS = ("•", "-", "*", "●", "▪", "◦", "‣", "►", "→", "·", "–", "—")
ELLIPSES = ("...", "…")
# C4's end marks (c4_utils `_END_MARKS`) and its ellipsis exception.
C4_END_MARKS = (".", "?", "!", '"')
C4_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies",
             "use of cookies", "use cookies")
C4_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")
# Sentence terminals of the major scripts (FineWeb's line-punctuation rule).
TERMINAL_PUNCTUATION = (".", "!", "?", "։", "؟", "۔", "।", "॥", "။", "።", "。", "！", "？",
                        "｡", "‼", "‽", "⁇", "⁈", "⁉")
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")
_TOKEN_WITH_LETTER = re.compile(r"\S*[^\W\d_]\S*")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class Verdict(NamedTuple):
    keep: bool
    reason: str | None = None
    detail: dict[str, Any] = {}


KEEP = Verdict(True)


def _reject(why: str, value: float, limit: float) -> Verdict:
    return Verdict(False, f"{STAGE}_{why}", {"value": round(float(value), 4), "limit": limit})


class TextStats:
    """The pieces of one text that the rules look at, each computed at most once."""

    def __init__(self, text: str):
        self.text = text

    @cached_property
    def tokens(self) -> list[str]:
        return self.text.split()

    @cached_property
    def words(self) -> list[str]:
        return list(filter(None, map(methodcaller("strip", SYMBOL_CHARS), self.tokens)))

    @cached_property
    def word_lengths(self) -> list[int]:
        return list(map(len, self.words))

    @cached_property
    def word_chars(self) -> int:
        return sum(self.word_lengths)

    @cached_property
    def lines(self) -> list[str]:
        return list(filter(None, map(str.strip, self.text.split("\n"))))

    @cached_property
    def paragraphs(self) -> list[str]:
        return list(filter(None, map(str.strip, _PARAGRAPH_BREAK.split(self.text))))


def duplicates(items: list[str]) -> tuple[int, int]:
    """(number, characters) of the items that repeat an earlier item."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def ngrams(words: list[str], n: int) -> list[tuple[str, ...]]:
    return list(zip(*(words[i:] for i in range(n))))


def top_ngram_chars(words: list[str], n: int) -> int:
    """Characters covered by the most frequent n-gram's occurrences (0 if none repeats)."""
    counts = Counter(ngrams(words, n))
    if not counts:
        return 0
    gram, top = counts.most_common(1)[0]
    return top * sum(map(len, gram)) if top >= 2 else 0


def duplicate_ngram_chars(words: list[str], lengths: list[int], n: int) -> int:
    """Characters of the words inside second-or-later occurrences of any n-gram."""
    grams = ngrams(words, n)
    if len(set(grams)) == len(grams):
        return 0
    seen: set[tuple[str, ...]] = set()
    covered = bytearray(len(words))
    ones = b"\x01" * n
    for i, gram in enumerate(grams):
        if gram in seen:
            covered[i:i + n] = ones
        else:
            seen.add(gram)
    return sum(compress(lengths, covered))


def gopher_quality(s: TextStats, c: GopherQualityConfig) -> Verdict:
    n = len(s.words)
    if c.min_words is not None and n < c.min_words:
        return _reject("gopher_short_doc", n, c.min_words)
    if c.max_words is not None and n > c.max_words:
        return _reject("gopher_long_doc", n, c.max_words)
    per_word = 1 / max(n, 1)
    mean_length = s.word_chars * per_word
    if c.min_mean_word_length is not None and mean_length < c.min_mean_word_length:
        return _reject("gopher_short_words", mean_length, c.min_mean_word_length)
    if c.max_mean_word_length is not None and mean_length > c.max_mean_word_length:
        return _reject("gopher_long_words", mean_length, c.max_mean_word_length)
    hashes = s.text.count("#") * per_word
    if c.max_hash_ratio is not None and hashes > c.max_hash_ratio:
        return _reject("gopher_hash_ratio", hashes, c.max_hash_ratio)
    ellipses = (s.text.count("...") + s.text.count("…")) * per_word
    if c.max_ellipsis_ratio is not None and ellipses > c.max_ellipsis_ratio:
        return _reject("gopher_ellipsis_ratio", ellipses, c.max_ellipsis_ratio)
    per_line = 1 / max(len(s.lines), 1)
    bullets = sum(map(methodcaller("startswith", BULLETS), s.lines)) * per_line
    if c.max_bullet_lines is not None and bullets > c.max_bullet_lines:
        return _reject("gopher_bullet_lines", bullets, c.max_bullet_lines)
    trailing = sum(map(methodcaller("endswith", ELLIPSES), s.lines)) * per_line
    if c.max_ellipsis_lines is not None and trailing > c.max_ellipsis_lines:
        return _reject("gopher_ellipsis_lines", trailing, c.max_ellipsis_lines)
    alpha = len(_TOKEN_WITH_LETTER.findall(s.text)) / max(len(s.tokens), 1)
    if c.min_alpha_words is not None and alpha < c.min_alpha_words:
        return _reject("gopher_alpha_words", alpha, c.min_alpha_words)
    if c.min_stop_words is not None:
        found = len(set(map(str.lower, s.words)).intersection(c.stop_words))
        if found < c.min_stop_words:
            return _reject("gopher_stop_words", found, c.min_stop_words)
    return KEEP


def gopher_repetition(s: TextStats, c: GopherRepetitionConfig) -> Verdict:
    for kind, items, max_frac, max_char_frac in (
            ("para", s.paragraphs, c.max_dup_para_frac, c.max_dup_para_char_frac),
            ("line", s.lines, c.max_dup_line_frac, c.max_dup_line_char_frac)):
        count, chars = duplicates(items)
        frac = count / max(len(items), 1)
        if max_frac is not None and frac > max_frac:
            return _reject(f"gopher_dup_{kind}_frac", frac, max_frac)
        char_frac = chars / max(sum(map(len, items)), 1)
        if max_char_frac is not None and char_frac > max_char_frac:
            return _reject(f"gopher_dup_{kind}_char_frac", char_frac, max_char_frac)
    total = max(s.word_chars, 1)
    for n, limit in c.max_top_ngram_char_frac.items():
        frac = top_ngram_chars(s.words, n) / total
        if frac > limit:
            return _reject(f"gopher_top_{n}_gram", frac, limit)
    dup_limits = sorted(c.max_dup_ngram_char_frac.items())
    for i, (n, limit) in enumerate(dup_limits):
        frac = duplicate_ngram_chars(s.words, s.word_lengths, n) / total
        if frac > limit:
            return _reject(f"gopher_dup_{n}_gram", frac, limit)
        # The words covered by repeated (n+1)-grams are a subset of those covered by repeated
        # n-grams, so the fraction only falls with n: stop once no later limit can be broken.
        if all(frac <= later for _, later in dup_limits[i + 1:]):
            break
    return KEEP


def count_sentences(line: str) -> int:
    return max(1, len(_SENTENCE_END.findall(line)))


def c4(s: TextStats, c: C4Config) -> Verdict:
    """C4's page rules, judged on the lines C4 would keep (c4_utils `clean_page`)."""
    sentences = 0
    for line in s.text.splitlines():
        line = line.strip()
        words = line.split()
        if len(line) > c.max_word_length and max(map(len, words)) > c.max_word_length:
            continue
        line = C4_CITATION.sub("", line)
        if c.require_end_mark and (not line.endswith(C4_END_MARKS) or line.endswith("...")):
            continue
        if len(words) < c.min_words_per_line:
            continue
        lower = line.lower()
        if c.reject_lorem_ipsum and "lorem ipsum" in lower:
            return _reject("c4_lorem_ipsum", 1, 0)
        if "javascript" in lower:
            continue
        if c.reject_curly_bracket and "{" in line:
            return _reject("c4_curly_bracket", 1, 0)
        if any(p in lower for p in C4_POLICY):
            continue
        sentences += count_sentences(line)
    if sentences < c.min_sentences:
        return _reject("c4_too_few_sentences", sentences, c.min_sentences)
    return KEEP


def fineweb(s: TextStats, c: FineWebConfig) -> Verdict:
    lines = s.lines
    per_line = 1 / max(len(lines), 1)
    punct = sum(map(methodcaller("endswith", TERMINAL_PUNCTUATION), lines)) * per_line
    if c.min_line_punct_ratio is not None and punct < c.min_line_punct_ratio:
        return _reject("fineweb_line_punct_ratio", punct, c.min_line_punct_ratio)
    short = sum(len(line) <= c.short_line_chars for line in lines) * per_line
    if c.max_short_line_ratio is not None and short > c.max_short_line_ratio:
        return _reject("fineweb_short_line_ratio", short, c.max_short_line_ratio)
    dup = duplicates(lines)[1] / max(len(s.text) - s.text.count("\n"), 1)
    if c.max_char_dup_ratio is not None and dup > c.max_char_dup_ratio:
        return _reject("fineweb_char_dup_ratio", dup, c.max_char_dup_ratio)
    newlines = s.text.count("\n") / max(len(s.words), 1)
    if c.max_list_ratio is not None and newlines > c.max_list_ratio:
        return _reject("fineweb_list_ratio", newlines, c.max_list_ratio)
    return KEEP


# Cheapest groups first; the first failure decides.
RULE_GROUPS = (("gopher_quality", gopher_quality), ("c4", c4), ("fineweb", fineweb),
               ("gopher_repetition", gopher_repetition))


def judge(text: str, config: RulesConfig) -> Verdict:
    """Keep, or reject with the first rule the text breaks."""
    stats = TextStats(text)
    for name, check in RULE_GROUPS:
        group = getattr(config, name)
        if group.enabled:
            verdict = check(stats, group)
            if not verdict.keep:
                return verdict
    return KEEP
