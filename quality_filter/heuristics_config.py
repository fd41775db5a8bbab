"""Settings of the heuristic stages: the build config's `[language_id]`, `[rules]`,
`[line_cleanup]`, `[url_blocklist]` and `[pii]` tables.

Every stage applies to the sources whose role is in `roles`, or, when `sources` is set, to
exactly those sources; documents of other sources pass untouched.

```toml
stages = ["language_id", "url_blocklist", "line_cleanup", "rules", "pii"]

[language_id]
keep = { commoncrawl = ["en"] }    # per source; sources not listed are labelled, not filtered
min_score = 0.5

[rules]
roles = ["raw"]
[rules.gopher_quality]
min_words = 50
[rules.c4]
require_end_mark = false           # FineWeb's variant of the C4 rules

[url_blocklist]
domains_file = "blocklists/domains.txt"
```
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from crawl2gpt.core.config import ROLES, ConfigError


@dataclass
class StageScope:
    """Which documents a stage looks at."""

    roles: list[str] = field(default_factory=lambda: list(ROLES))
    """Source roles the stage applies to (`raw`, `reference`)."""
    sources: list[str] = field(default_factory=list)
    """If set, exactly these sources (overrides `roles`)."""

    def check_scope(self, stage: str) -> None:
        bad = sorted(set(self.roles) - set(ROLES))
        _check(not bad, f"{stage}.roles", f"{bad} not in {list(ROLES)}")

    def applies_to(self, build_config: Any, stage: str) -> frozenset[str]:
        """Names of the build's sources in scope; unknown names in `sources` are errors."""
        known = {s.name: s.role for s in build_config.sources}
        if self.sources:
            unknown = sorted(set(self.sources) - set(known))
            _check(not unknown, f"{stage}.sources",
                   f"unknown source(s) {unknown}; known: {sorted(known)}")
            return frozenset(self.sources)
        return frozenset(name for name, role in known.items() if role in self.roles)


# ----------------------------------------------------------------------------- language_id
@dataclass
class LanguageIdConfig(StageScope):
    keep: dict[str, list[str]] = field(default_factory=dict)
    """Source name → ISO 639-1 codes kept (e.g. `["en"]`); unlisted sources keep every language."""
    min_score: float = 0.0
    """For sources with a keep list: documents whose best language scores lower are rejected."""
    max_chars: int = 10_000
    """Only the first max_chars characters are classified (CLD3 in C4 reads 10 kB too)."""

    def __post_init__(self) -> None:
        self.check_scope("language_id")
        _check(0.0 <= self.min_score <= 1.0, "language_id.min_score", "must be in [0, 1]")
        _check(self.max_chars >= 1, "language_id.max_chars", "must be >= 1")
        for source, codes in self.keep.items():
            _check(isinstance(codes, list) and all(isinstance(c, str) for c in codes),
                   f"language_id.keep.{source}", "must be a list of language codes")


# ----------------------------------------------------------------------------- rules
@dataclass
class GopherQualityConfig:
    """Gopher's quality filter, Rae et al. 2021 (arXiv:2112.11446), Appendix A.1.1.
    A threshold set to None switches that rule off."""

    enabled: bool = True
    min_words: int | None = 50
    max_words: int | None = 100_000
    min_mean_word_length: float | None = 3.0
    max_mean_word_length: float | None = 10.0
    max_hash_ratio: float | None = 0.1
    """'#' per word."""
    max_ellipsis_ratio: float | None = 0.1
    """'...' or '…' per word."""
    max_bullet_lines: float | None = 0.9
    """Fraction of lines starting with a bullet point."""
    max_ellipsis_lines: float | None = 0.3
    """Fraction of lines ending with an ellipsis."""
    min_alpha_words: float | None = 0.8
    """Fraction of words with at least one alphabetic character."""
    min_stop_words: int | None = 2
    stop_words: list[str] = field(default_factory=lambda: [
        "the", "be", "to", "of", "and", "that", "have", "with"])


@dataclass
class GopherRepetitionConfig:
    """Gopher's repetition filter: Rae et al. 2021, Table A1 (thresholds as published)."""

    enabled: bool = True
    max_dup_line_frac: float | None = 0.30
    max_dup_para_frac: float | None = 0.30
    max_dup_line_char_frac: float | None = 0.20
    max_dup_para_char_frac: float | None = 0.20
    max_top_ngram_char_frac: dict[int, float] = field(
        default_factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16})
    max_dup_ngram_char_frac: dict[int, float] = field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10})

    def __post_init__(self) -> None:
        # TOML table keys are strings: {"2" = 0.2} → {2: 0.2}
        self.max_top_ngram_char_frac = _int_keys(self.max_top_ngram_char_frac,
                                                 "rules.gopher_repetition.max_top_ngram_char_frac")
        self.max_dup_ngram_char_frac = _int_keys(self.max_dup_ngram_char_frac,
                                                 "rules.gopher_repetition.max_dup_ngram_char_frac")


@dataclass
class C4Config:
    """C4's page filters, Raffel et al. 2020 (JMLR 21:140) §2.2, with the constants of the
    reference code (tensorflow_datasets `c4_utils.py`: 5 words per line, 3 sentences). Lines
    are judged as C4 cleans them; this stage only decides keep or reject (no text change)."""

    enabled: bool = True
    require_end_mark: bool = True
    """Count only lines ending in . ? ! " (C4). FineWeb switched this off."""
    min_words_per_line: int = 5
    min_sentences: int = 3
    max_word_length: int = 1000
    reject_lorem_ipsum: bool = True
    reject_curly_bracket: bool = True


@dataclass
class FineWebConfig:
    """FineWeb's own filters, Penedo et al. 2024 (arXiv:2406.17557) §3.5, with the values of
    its processing code (datatrove `FineWebQualityFilter` defaults)."""

    enabled: bool = True
    min_line_punct_ratio: float | None = 0.12
    """Fraction of lines ending in terminal punctuation."""
    max_short_line_ratio: float | None = 0.67
    short_line_chars: int = 30
    max_char_dup_ratio: float | None = 0.01
    """Characters in duplicated lines over all characters (the code's 0.01, not the 0.1 of the
    paper's prose)."""
    max_list_ratio: float | None = 0.3
    """Newlines per word."""


_RULE_GROUPS = {"gopher_quality": GopherQualityConfig,
                "gopher_repetition": GopherRepetitionConfig,
                "c4": C4Config, "fineweb": FineWebConfig}


@dataclass
class RulesConfig(StageScope):
    roles: list[str] = field(default_factory=lambda: ["raw"])
    languages: list[str] = field(default_factory=list)
    """If set, only documents labelled with one of these languages (by `language_id`) are
    judged; the English stop words of Gopher make no sense elsewhere."""
    gopher_quality: GopherQualityConfig = field(default_factory=GopherQualityConfig)
    gopher_repetition: GopherRepetitionConfig = field(default_factory=GopherRepetitionConfig)
    c4: C4Config = field(default_factory=C4Config)
    fineweb: FineWebConfig = field(default_factory=FineWebConfig)

    def __post_init__(self) -> None:
        self.check_scope("rules")
        for name, cls in _RULE_GROUPS.items():
            value = getattr(self, name)
            if isinstance(value, dict):
                setattr(self, name, _from_table(cls, value, f"rules.{name}"))


# ----------------------------------------------------------------------------- line_cleanup
LINE_CATEGORIES = ("navigation", "cookie", "javascript", "policy")


@dataclass
class LineCleanupConfig(StageScope):
    roles: list[str] = field(default_factory=lambda: ["raw"])
    categories: list[str] = field(default_factory=lambda: list(LINE_CATEGORIES))
    """Boilerplate kinds removed by pattern (see `line_cleanup.py`)."""
    max_boilerplate_words: int = 40
    """Longer lines are never removed by pattern: article prose may mention cookies."""
    menu_run_lines: int = 3
    """This many consecutive short lines without end punctuation form a menu (0: off)."""
    menu_line_words: int = 4
    """At most this many words make a line short."""
    host_min_documents: int = 3
    """A line found in at least this many documents of the same host is removed (0: off)."""
    min_chars: int = 1
    """Documents shorter than this after cleanup are rejected."""

    def __post_init__(self) -> None:
        self.check_scope("line_cleanup")
        bad = sorted(set(self.categories) - set(LINE_CATEGORIES))
        _check(not bad, "line_cleanup.categories", f"{bad} not in {list(LINE_CATEGORIES)}")
        _check(self.menu_run_lines >= 0, "line_cleanup.menu_run_lines", "must be >= 0")
        for name in ("max_boilerplate_words", "menu_line_words", "min_chars"):
            _check(getattr(self, name) >= 1, f"line_cleanup.{name}", "must be >= 1")
        _check(self.host_min_documents == 0 or self.host_min_documents >= 2,
               "line_cleanup.host_min_documents", "must be 0 (off) or >= 2")


# ----------------------------------------------------------------------------- url_blocklist
@dataclass
class BlocklistConfig(StageScope):
    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("urls_file", "domains_file")
    """Local paths, resolved relative to the build config's folder."""

    urls_file: str = ""
    """One URL per line; a trailing `*` makes it a prefix. `#` starts a comment."""
    domains_file: str = ""
    """One domain per line; its subdomains are blocked too."""

    def __post_init__(self) -> None:
        self.check_scope("url_blocklist")


# ----------------------------------------------------------------------------- pii
@dataclass
class PiiConfig(StageScope):
    email: bool = True
    ip_address: bool = True
    phone_number: bool = True

    def __post_init__(self) -> None:
        self.check_scope("pii")


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{name}: {message}")


def _int_keys(table: dict, name: str) -> dict[int, float]:
    try:
        return {int(k): float(v) for k, v in sorted(table.items(), key=lambda kv: int(kv[0]))}
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: keys must be n-gram sizes, values fractions") from None


def _from_table(cls: type, table: dict, name: str) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - known)
    _check(not unknown, name, f"unknown field(s) {unknown}")
    return cls(**table)
