"""Settings of the quality filter: the build config's `[quality_filter]` table.

```toml
[quality_filter]
model_path = "models/quality_fasttext.bin"
selection = "pareto"      # or "threshold"
alpha = 9.0               # the paper's value

[quality_filter.training]
balance_ratio = 1.0
cv_folds = 5
```
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from crawl2gpt.core.config import ConfigError
from crawl2gpt.quality_filter.classifier import BACKENDS

SELECTIONS = ("pareto", "threshold")


@dataclass
class TrainingConfig:
    """How `train-quality` builds a model."""

    balance_ratio: float = 1.0
    """Raw (negative) documents per reference (positive) one; the larger class is subsampled."""
    heldout_fraction: float = 0.1
    """Share of documents, chosen by a hash of their id, kept out of training for evaluation."""
    cv_folds: int = 0
    """k >= 2: also score every document out-of-fold with k models (split by id hash)."""
    histogram_bins: int = 20
    boundary_examples: int = 20
    """Held-out documents nearest the decision boundary written to the evaluation."""
    # fastText backend
    dim: int = 32
    epochs: int = 10
    lr: float = 0.5
    word_ngrams: int = 2
    min_count: int = 1
    bucket: int = 1_000_000
    threads: int = 1
    """fastText is only reproducible with one thread; more is faster."""
    # hashing-lr backend (Spark's HashingTF default is 2**18 features)
    n_features: int = 2 ** 18
    ngram_max: int = 1
    C: float = 1.0
    max_iter: int = 1000

    def __post_init__(self) -> None:
        _check(0 < self.balance_ratio, "training.balance_ratio", "must be > 0")
        _check(0 < self.heldout_fraction < 1, "training.heldout_fraction", "must be in (0, 1)")
        _check(self.cv_folds == 0 or self.cv_folds >= 2, "training.cv_folds", "must be 0 or >= 2")
        for name in ("histogram_bins", "dim", "epochs", "word_ngrams", "bucket", "threads",
                     "n_features", "ngram_max", "max_iter"):
            _check(getattr(self, name) >= 1, f"training.{name}", "must be >= 1")

    def backend_params(self, backend: str) -> dict[str, Any]:
        """Keyword arguments of the backend's trainer."""
        if backend == "fasttext":
            return {"dim": self.dim, "epoch": self.epochs, "lr": self.lr,
                    "wordNgrams": self.word_ngrams, "minCount": self.min_count,
                    "bucket": self.bucket, "thread": self.threads, "seed": 0}
        return {"n_features": self.n_features, "ngram_max": self.ngram_max, "C": self.C,
                "max_iter": self.max_iter}


@dataclass
class QualityConfig:
    PATH_FIELDS: ClassVar[tuple[str, ...]] = ("model_path",)
    """Local paths, resolved relative to the build config's folder."""

    model_path: str = ""
    """The trained model (`.bin` for fasttext, `.npz` for hashing-lr); required by the stage."""
    backend: str = "fasttext"
    """`fasttext` (word bigrams, fast) or `hashing-lr` (the paper's logistic regression)."""
    selection: str = "pareto"
    """`pareto`: keep iff numpy pareto(alpha) > 1 - score (the paper); `threshold`: see below."""
    alpha: float = 9.0
    """Pareto shape; P(keep | s) = (2 - s)^-alpha. The paper used 9."""
    threshold: float = 0.5
    """`threshold` selection keeps raw documents with score >= this, unless top_fraction is set."""
    top_fraction: float | None = None
    """`threshold` selection: keep this fraction of raw documents with the highest scores
    (a global quantile: the stage then shuffles every document once to join it)."""
    seed: int = 0
    """With the document id, the only source of the Pareto draws (same survivors on any runner)."""
    max_chars: int = 100_000
    """Only the first max_chars characters are scored; longer documents are flagged."""
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def __post_init__(self) -> None:
        if isinstance(self.training, dict):
            known = {f.name for f in dataclasses.fields(TrainingConfig)}
            unknown = sorted(set(self.training) - known)
            _check(not unknown, "training", f"unknown field(s) {unknown}")
            self.training = TrainingConfig(**self.training)
        _check(self.backend in BACKENDS, "backend", f"{self.backend!r} is not one of {BACKENDS}")
        _check(self.selection in SELECTIONS, "selection",
               f"{self.selection!r} is not one of {SELECTIONS}")
        _check(self.alpha > 0, "alpha", "must be > 0")
        _check(0.0 <= self.threshold <= 1.0, "threshold", "must be in [0, 1]")
        _check(self.top_fraction is None or 0.0 < self.top_fraction <= 1.0, "top_fraction",
               "must be in (0, 1]")
        _check(self.max_chars >= 1, "max_chars", "must be >= 1")


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"quality_filter.{name}: {message}")
