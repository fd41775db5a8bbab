"""Settings of tokenisation, token shards and the mixture: the build config's `[tokenize]` table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from crawl2gpt.core.config import ConfigError
from crawl2gpt.core.tokenizer import FORMS
from crawl2gpt.mixing.weights import DEFAULT_SUM_TOLERANCE, MixtureError, parse_weight_spec


@dataclass
class TokenizeConfig:
    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("tokenizer",)
    """Local paths, resolved relative to the build config's folder."""

    tokenizer: str = ""
    """Folder or file of a byte-level BPE (forms in `core/tokenizer.py`); required to run."""
    tokenizer_kind: str = "auto"
    """`auto` (first form found in the folder), `tiktoken`, `openai`, `hf-bpe` or `hf-json`."""
    seed: int = 0
    """Shuffle seed: a document's place in its source's shards is blake2b(seed:id)."""
    row_group_bytes: int = 32 * 1024 * 1024
    """Token-id bytes per Parquet row group (streaming readers hold one group at a time)."""
    target_file_bytes: int = 512 * 1024 * 1024
    """Token-id bytes per shard file, which sets how many files a source is cut into."""
    weights: dict[str, float] | str = "by_size"
    """`{source = weight, ...}`, `"by_size"` or `"by_size^ALPHA"` (see `mixing/weights.py`)."""
    token_budget: int = 300_000_000_000
    """Tokens the trainer draws in total (the paper: 300B)."""
    max_epochs: float = 4.0
    """A source repeated more often than this gets a warning in the mixture table."""
    weight_sum_tolerance: float = DEFAULT_SUM_TOLERANCE
    """Explicit weights may sum to 1 ± this (rounded percentages); further off is an error."""

    def __post_init__(self) -> None:
        if self.tokenizer_kind != "auto" and self.tokenizer_kind not in FORMS:
            raise ConfigError(f"tokenize.tokenizer_kind: {self.tokenizer_kind!r} is not one of "
                              f"{['auto', *FORMS]}")
        for name in ("row_group_bytes", "target_file_bytes", "token_budget"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"tokenize.{name} must be > 0, got {getattr(self, name)}")
        if not self.max_epochs > 0:
            raise ConfigError(f"tokenize.max_epochs must be > 0, got {self.max_epochs}")
        if not self.weight_sum_tolerance >= 0:
            raise ConfigError(f"tokenize.weight_sum_tolerance must be >= 0, "
                              f"got {self.weight_sum_tolerance}")
        try:
            parse_weight_spec(self.weights)
        except MixtureError as e:
            raise ConfigError(f"tokenize.weights: {e}") from None

    def require_tokenizer(self) -> str:
        """The tokenizer path, or an error saying where to set it."""
        if not self.tokenizer:
            raise ConfigError("tokenize.tokenizer: no tokenizer path set (e.g. a folder with "
                              "encoder.json + vocab.bpe, or a tokenizer.json)")
        return self.tokenizer
