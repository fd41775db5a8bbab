"""Each heuristic rule rejects a document built to break it; real Wikipedia articles pass all.

Documents are built from a real featured article ("Apollo 11") or from a synthetic vocabulary
whose counts are known exactly; each expected reason follows from the construction and the
published thresholds (Gopher Table A1, C4 §2.2, FineWeb §3.5), not from running the code.
To isolate a rule, only its group is enabled; the Wikipedia test runs every group.
"""

import re

import pytest

from crawl2gpt.core.config import ConfigError
from crawl2gpt.quality_filter.heuristics_config import (
    C4Config,
    FineWebConfig,
    GopherQualityConfig,
    GopherRepetitionConfig,
    RulesConfig,
)
from crawl2gpt.quality_filter.rules import judge
from tests.quality_filter.heuristics_data import wikipedia_article, wikipedia_articles

GROUPS = ("gopher_quality", "gopher_repetition", "c4", "fineweb")


def only(group: str) -> RulesConfig:
    config = RulesConfig()
    for name in GROUPS:
        getattr(config, name).enabled = name == group
    return config


@pytest.fixture(scope="module")
def article(shared_data) -> str:
    return wikipedia_article(shared_data, "Apollo 11")


def vocabulary(n: int, start: int = 0) -> list[str]:
    """n distinct 5-character words: w0000, w0001, ..."""
    return [f"w{i:04d}" for i in range(start, start + n)]


def test_real_wikipedia_articles_pass_every_rule(shared_data):
    articles = wikipedia_articles(shared_data)
    assert len(articles) == 25 + 27  # README: 25 featured, 27 good
    rejected = {d.meta["title"]: judge(d.text, RulesConfig()) for d in articles}
    assert {t: v for t, v in rejected.items() if not v.keep} == {}


# ----------------------------------------------------------------------------- Gopher quality
def _without_stop_words(text: str) -> str:
    return re.sub(r"\b(?:the|be|to|of|and|that|have|with)\b", "", text, flags=re.IGNORECASE)


GOPHER_QUALITY_CASES = {
    # < 50 words
    "gopher_short_doc": lambda a: " ".join(a.split()[:40]),
    # > 100,000 words: the article repeated
    "gopher_long_doc": lambda a: "\n\n".join([a] * (100_001 // len(a.split()) + 1)),
    # mean word length < 3: one- and two-letter words only
    "gopher_short_words": lambda a: " ".join(["I am to be so, we go on it."] * 12),
    # mean word length > 10
    "gopher_long_words": lambda a: " ".join(
        f"the and incomprehensibilities{i} internationalisation" for i in range(40)),
    # '#' per word > 0.1: one hashtag per four words
    "gopher_hash_ratio": lambda a: " ".join(
        w + (" #tag" if i % 4 == 0 else "") for i, w in enumerate(a.split(" "))),
    # '...' per word > 0.1
    "gopher_ellipsis_ratio": lambda a: " ".join(
        w + ("..." if i % 4 == 0 else "") for i, w in enumerate(a.split(" "))),
    # > 90 % of lines start with a bullet
    "gopher_bullet_lines": lambda a: "\n".join("• " + line for line in a.split("\n") if line),
    # > 30 % of lines end with an ellipsis
    "gopher_ellipsis_lines": lambda a: "\n".join(
        line.rstrip(".") + "…" for line in a.split("\n") if line),
    # < 80 % of words with a letter: one number after every two words
    "gopher_alpha_words": lambda a: " ".join(
        w + (" 1234" if i % 2 == 0 else "") for i, w in enumerate(a.split(" "))),
    # none of the, be, to, of, and, that, have, with
    "gopher_stop_words": _without_stop_words,
}


@pytest.mark.parametrize("reason", sorted(GOPHER_QUALITY_CASES))
def test_gopher_quality_rule_rejects_its_document(article, reason):
    verdict = judge(GOPHER_QUALITY_CASES[reason](article), only("gopher_quality"))
    assert (verdict.keep, verdict.reason) == (False, f"rules_{reason}")


def test_gopher_quality_thresholds_are_configurable(article):
    text = " ".join(article.split()[:40])
    assert judge(text, only("gopher_quality")).reason == "rules_gopher_short_doc"
    config = only("gopher_quality")
    config.gopher_quality.min_words = None
    assert judge(text, config).keep
    config.gopher_quality = GopherQualityConfig(min_words=30)
    assert judge(text, config).keep


# ----------------------------------------------------------------------------- Gopher repetition
def _paragraphs(article: str) -> list[str]:
    return [p for p in article.split("\n\n") if p]


def _repeated_block(fraction_words: int, total_words: int) -> str:
    """total_words 5-letter words, one line; a block of fraction_words distinct words, first
    seen in the middle, is repeated at the end. Every n-gram (n <= block) of the copy is a
    duplicate and nothing else is, so the duplicate n-gram character fraction is exactly
    block / total for every n from 2 to the block length."""
    unique = vocabulary(total_words - fraction_words)
    middle = len(unique) // 2
    return " ".join(unique + unique[middle:middle + fraction_words])


REPETITION_CASES = {
    # 10 of 20 paragraphs are copies of one short paragraph: 9/20 = 0.45 > 0.30
    "gopher_dup_para_frac": lambda a: "\n\n".join(_paragraphs(a)[:10] + ["See also."] * 10),
    # 10 paragraphs, then the rest of the article as one paragraph, twice: 1 copy in 12
    # paragraphs (0.08 <= 0.30), but the copy holds over 1/3 of the characters (> 0.20)
    "gopher_dup_para_char_frac": lambda a: "\n\n".join(
        _paragraphs(a)[:10] + [" ".join(_paragraphs(a)[10:])] * 2),
    # "Posted by admin" opens every paragraph: (n-1)/2n ≈ 0.5 of lines are copies
    "gopher_dup_line_frac": lambda a: "\n\n".join(
        "Posted by admin\n" + p for p in _paragraphs(a)[:20]),
    # one 230-character line in every 4-line paragraph: 1/4 of lines, most characters
    "gopher_dup_line_char_frac": lambda a: "\n\n".join(
        "\n".join([a.split("\n\n")[1][:230]] + p.split(". ")[:3])
        for p in _paragraphs(a)[2:22] if p.count(". ") >= 3),
    # "very good" (8 letters) 300 times in ~1,500 words of 5 letters: 2400/9900 > 0.20
    "gopher_top_2_gram": lambda a: " ".join(
        f"{w} very good" if i < 300 else w for i, w in enumerate(vocabulary(1500))),
    # a 3-gram of 13 letters 200 times: 2600/(7500+2600) = 0.26 > 0.18 while each of its
    # 2-grams covers 9 letters: 1800/10100 = 0.18 <= 0.20
    "gopher_top_3_gram": lambda a: " ".join(
        f"{w} abc defgh ijklm" if i < 200 else w for i, w in enumerate(vocabulary(1500))),
    # a 4-gram of 20 letters 100 times: 2000/(7500+2000) = 0.21 > 0.16; its 3-grams cover
    # 15 letters (0.16 <= 0.18), its 2-grams 10 (0.105 <= 0.20)
    "gopher_top_4_gram": lambda a: " ".join(
        f"{w} aaaaa bbbbb ccccc ddddd" if i < 100 else w for i, w in enumerate(vocabulary(1500))),
    # duplicate n-gram fraction = block / total (see _repeated_block), just over each limit
    # and at most the limit of every smaller n: Table A1, 0.15, 0.14, ..., 0.10
    "gopher_dup_5_gram": lambda a: _repeated_block(40, 200),   # 0.200 > 0.15
    "gopher_dup_6_gram": lambda a: _repeated_block(29, 200),   # 0.145 in (0.14, 0.15]
    "gopher_dup_7_gram": lambda a: _repeated_block(27, 200),   # 0.135 in (0.13, 0.14]
    "gopher_dup_8_gram": lambda a: _repeated_block(25, 200),   # 0.125 in (0.12, 0.13]
    "gopher_dup_9_gram": lambda a: _repeated_block(23, 200),   # 0.115 in (0.11, 0.12]
    "gopher_dup_10_gram": lambda a: _repeated_block(21, 200),  # 0.105 in (0.10, 0.11]
}


@pytest.mark.parametrize("reason", list(REPETITION_CASES))
def test_gopher_repetition_rule_rejects_its_document(article, reason):
    verdict = judge(REPETITION_CASES[reason](article), only("gopher_repetition"))
    assert (verdict.keep, verdict.reason) == (False, f"rules_{reason}")


def test_repeated_block_fraction_below_every_limit_is_kept():
    # 19/200 = 0.095 <= 0.10, the smallest duplicate n-gram limit.
    assert judge(_repeated_block(19, 200), only("gopher_repetition")).keep


def test_repetition_limits_come_from_toml_tables():
    config = RulesConfig(gopher_repetition={"max_dup_ngram_char_frac": {"5": 0.5}})
    assert config.gopher_repetition.max_dup_ngram_char_frac == {5: 0.5}
    assert judge(_repeated_block(40, 200), config).reason != "rules_gopher_dup_5_gram"
    with pytest.raises(ConfigError, match="rules.c4: unknown field"):
        RulesConfig(c4={"min_sentence": 3})


# ----------------------------------------------------------------------------- C4
C4_CASES = {
    "c4_lorem_ipsum": lambda a: a + "\n\nLorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "c4_curly_bracket": lambda a: a + "\n\nThe handler reads function f() { return 1; } here.",
    # no line ends in . ? ! " any more, so no line is kept and no sentence counted
    "c4_too_few_sentences": lambda a: "\n".join(line.rstrip('.?!"') for line in a.split("\n")),
}


@pytest.mark.parametrize("reason", sorted(C4_CASES))
def test_c4_rule_rejects_its_document(article, reason):
    verdict = judge(C4_CASES[reason](article), only("c4"))
    assert (verdict.keep, verdict.reason) == (False, f"rules_{reason}")


def test_c4_counts_only_lines_it_would_keep():
    # Kept lines: >= 5 words, ending in . ? ! ", no policy phrase. Here 1 + 2 sentences = 3,
    # C4's minimum; the other lines (too short, policy, no end mark) count for nothing.
    lines = ["This line has one sentence.", "This one has two. Here is the second.",
             "Short line.", "Our site uses cookies to work.", "No end mark on this line at all"]
    assert judge("\n".join(lines), only("c4")).keep
    without_two = "\n".join(lines[:1] + lines[2:])
    assert judge(without_two, only("c4")).reason == "rules_c4_too_few_sentences"
    # FineWeb's variant keeps lines without an end mark: 1 + 1 + 1 = 3 sentences.
    no_marks = lines[:1] + lines[4:] + ["Another line without any end mark here"]
    assert judge("\n".join(no_marks), only("c4")).reason == "rules_c4_too_few_sentences"
    config = only("c4")
    config.c4 = C4Config(require_end_mark=False)
    assert judge("\n".join(no_marks), config).keep


# ----------------------------------------------------------------------------- FineWeb
FINEWEB_CASES = {
    # < 12 % of lines end in terminal punctuation
    "fineweb_line_punct_ratio": lambda a: "\n".join(line.rstrip('.?!"') for line in a.split("\n")),
    # > 67 % of lines have <= 30 characters (each short line ends with a period)
    "fineweb_short_line_ratio": lambda a: "\n".join(
        _paragraphs(a)[:10] + [f"Item number {i}." for i in range(40)]),
    # one long paragraph twice: its characters are > 1 % of the text
    "fineweb_char_dup_ratio": lambda a: a + "\n\n" + max(_paragraphs(a), key=len),
    # > 0.3 newlines per word: 2-word lines longer than 30 characters
    "fineweb_list_ratio": lambda a: "\n".join(
        f"Internationalisation{i}, decentralisation." for i in range(60)),
}


@pytest.mark.parametrize("reason", sorted(FINEWEB_CASES))
def test_fineweb_rule_rejects_its_document(article, reason):
    verdict = judge(FINEWEB_CASES[reason](article), only("fineweb"))
    assert (verdict.keep, verdict.reason) == (False, f"rules_{reason}")


def test_fineweb_char_dup_limit_is_configurable(article):
    text = FINEWEB_CASES["fineweb_char_dup_ratio"](article)
    config = only("fineweb")
    config.fineweb = FineWebConfig(max_char_dup_ratio=0.5)
    assert judge(text, config).keep


def test_verdict_detail_names_value_and_limit(article):
    verdict = judge(" ".join(article.split()[:40]), RulesConfig())
    assert verdict.detail == {"value": 40, "limit": 50}


def test_first_failing_group_decides():
    # Breaks both Gopher quality (too short) and C4 (no sentence): Gopher runs first.
    assert judge("tiny text", RulesConfig()).reason == "rules_gopher_short_doc"
    config = RulesConfig(gopher_repetition=GopherRepetitionConfig(enabled=False))
    config.gopher_quality.enabled = False
    assert judge("tiny text", config).reason == "rules_c4_too_few_sentences"
