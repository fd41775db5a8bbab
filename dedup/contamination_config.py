"""Settings of the contamination stage (`[contamination]` table of the build config).

Defaults are the paper's (GPT-3 Appendix C, `shared/docs/gpt3-recipe.md` §2); every number
can be changed. Importable without Beam.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from crawl2gpt.core.config import ConfigError

MODES = ("side_input", "keyed_join")
ON_BAD_LINE = ("raise", "skip")


@dataclass
class ContaminationConfig:
    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("benchmarks",)
    """Local paths, resolved relative to the build config's folder."""

    benchmarks: list[str] = field(default_factory=list)
    """Benchmark files (.jsonl, .jsonl.gz) or folders (every such file below them). A file's
    benchmark name is its file name without the extension; names must be unique."""
    formats: dict[str, str] = field(default_factory=dict)
    """Benchmark name -> format (`dedup.benchmarks.FORMATS`); others are detected from the
    fields of their first record."""
    generic_fields: dict[str, list[str]] = field(default_factory=dict)
    """Benchmark name -> the fields n-grammed, in order (the `generic` format)."""
    generic_ignored_fields: dict[str, list[str]] = field(default_factory=dict)
    """Benchmark name -> further fields allowed in its records but not n-grammed."""
    on_bad_line: str = "raise"
    """`raise`: a broken JSON line or unknown field stops with file and line; `skip`: such
    lines are skipped and counted in the benchmark's `skipped_lines`."""
    punctuation: str = "split"
    """`split` (punctuation separates words, as OpenAI's published 13-grams show) or
    `delete` (literal reading: removed inside whitespace-split words). See dedup/ngrams.py."""

    ngram: int = 13
    """Training-side n-gram length (paper: 13)."""
    window_chars: int = 200
    """Characters removed on each side of a colliding n-gram (paper: 200)."""
    min_piece_chars: int = 200
    """Pieces shorter than this (surrounding whitespace stripped) are dropped (paper: 200)."""
    max_pieces: int = 10
    """A document split into more pieces is removed whole (paper: 10). Pieces are counted
    before short ones are dropped; see dedup/contamination.py for why."""
    max_ngram_docs: int = 10
    """A benchmark n-gram found in more training documents than this is ignored (paper: 10)."""
    mode: str = "side_input"
    """`side_input`: every worker holds the benchmark n-gram index (fast, small sets);
    `keyed_join`: training and benchmark n-grams meet in a shuffle keyed by n-gram hash, so no
    worker holds the whole set (large sets)."""

    eval_percentile: float = 5.0
    """Evaluation side: N is this percentile (nearest rank) of example lengths in words."""
    eval_min_n: int = 8
    """Lower clamp of N for non-synthetic benchmarks (paper: 8)."""
    eval_max_n: int = 13
    """Upper clamp of N for all benchmarks (paper: 13)."""
    synthetic_min_n: int = 1
    """Lower clamp of N for synthetic benchmarks: the paper uses smaller N for them (Table C.1)."""
    synthetic_benchmarks: list[str] = field(default_factory=lambda: ["bigbench_simple_arithmetic"])
    """Synthetic benchmarks besides those in the `synthetic` format (GPT-3's task files)."""
    eval_n: dict[str, int] = field(default_factory=dict)
    """Benchmark name -> N, overriding the percentile rule."""
    clean_dirty_dir: str = "contamination/clean_dirty"
    """Where the per-benchmark clean/dirty JSON files go, relative to the build's output_dir."""

    def __post_init__(self) -> None:
        for name, allowed in (("mode", MODES), ("on_bad_line", ON_BAD_LINE),
                              ("punctuation", ("split", "delete"))):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"contamination.{name}: {getattr(self, name)!r} is not one "
                                  f"of {allowed}")
        for name in ("ngram", "max_pieces", "eval_min_n", "eval_max_n", "synthetic_min_n"):
            if getattr(self, name) < 1:
                raise ConfigError(f"contamination.{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("window_chars", "min_piece_chars", "max_ngram_docs"):
            if getattr(self, name) < 0:
                raise ConfigError(f"contamination.{name}: must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.eval_percentile <= 100:
            raise ConfigError(f"contamination.eval_percentile: {self.eval_percentile} is not "
                              f"in [0, 100]")
        if max(self.eval_min_n, self.synthetic_min_n) > self.eval_max_n:
            raise ConfigError("contamination.eval_min_n / synthetic_min_n: must not exceed "
                              f"eval_max_n ({self.eval_max_n})")
        for name, n in self.eval_n.items():
            if not isinstance(n, int) or n < 1:
                raise ConfigError(f"contamination.eval_n.{name}: must be an integer >= 1")
        from crawl2gpt.dedup.benchmarks import FORMATS
        for name, fmt in self.formats.items():
            if fmt not in [*FORMATS, "generic"]:
                raise ConfigError(f"contamination.formats.{name}: {fmt!r} is not one of "
                                  f"{[*FORMATS, 'generic']}")
        for name, fields in self.generic_fields.items():
            if not fields:
                raise ConfigError(f"contamination.generic_fields.{name}: names no field")
