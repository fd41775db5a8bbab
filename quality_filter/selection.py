"""Which scored raw-crawl documents survive: the paper's Pareto draw, or a threshold.

GPT-3 keeps a Common Crawl document iff `np.random.pareto(alpha) > 1 - score`, alpha = 9
(`../shared/docs/gpt3-recipe.md` §1.2). numpy's `pareto` is the Lomax distribution, so
P(keep | s) = (2 - s)^(-alpha): mostly high scorers, plus a few low ones. Each draw is seeded
by (config seed, document id) only, so the same documents survive on any runner, worker count
or element order.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

# Resolution of the global score histogram behind `top_fraction` (1e-5 in score).
HISTOGRAM_BINS = 100_000


def document_rng(seed: int, doc_id: str) -> np.random.Generator:
    """A generator that depends on nothing but the seed and the document id."""
    digest = hashlib.blake2b(f"{seed}\x00{doc_id}".encode(), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def pareto_keep(score: float, alpha: float, seed: int, doc_id: str) -> bool:
    """The paper's rule: keep iff a Lomax(alpha) draw exceeds 1 - score."""
    return bool(document_rng(seed, doc_id).pareto(alpha) > 1.0 - score)


def pareto_keep_probability(scores: np.ndarray | float, alpha: float) -> np.ndarray | float:
    """P(keep | score) = P(Lomax(alpha) > 1 - s) = (2 - s)^(-alpha)."""
    return (2.0 - np.asarray(scores, dtype=np.float64)) ** -alpha


def threshold_keep(score: float, threshold: float) -> bool:
    return score >= threshold


def score_bin(score: float) -> int:
    """The histogram bin of a score in [0, 1] (1.0 falls in the last bin)."""
    return min(int(score * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)


class ScoreHistogram:
    """Counts of scores per bin: mergeable in any order, so a global quantile is deterministic.

    `top_fraction` selection needs the score above which a fraction q of all raw documents lie;
    the exact sorted list of a whole crawl does not fit a worker, this histogram does (800 kB).
    """

    def __init__(self, counts: np.ndarray | None = None) -> None:
        self.counts = np.zeros(HISTOGRAM_BINS, np.int64) if counts is None else counts

    def add(self, scores: Sequence[float]) -> ScoreHistogram:
        bins = np.minimum((np.asarray(scores, np.float64) * HISTOGRAM_BINS).astype(np.int64),
                          HISTOGRAM_BINS - 1)
        self.counts += np.bincount(bins, minlength=HISTOGRAM_BINS)
        return self

    def merge(self, other: ScoreHistogram) -> ScoreHistogram:
        self.counts += other.counts
        return self

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def top_fraction_cutoff(self, fraction: float) -> int:
        """The lowest bin to keep so that at least `fraction` of all scores are kept.

        Documents tied in the cutoff bin are all kept, so the kept share can exceed `fraction`
        by at most that bin's count.
        """
        if self.total == 0:
            return 0
        need = int(np.ceil(fraction * self.total))
        from_top = np.cumsum(self.counts[::-1])
        return HISTOGRAM_BINS - 1 - int(np.searchsorted(from_top, need))


def calibration_table(reference_scores: Sequence[float], raw_scores: Sequence[float], *,
                      alphas: Sequence[float] = (1, 2, 4, 9, 16, 32),
                      thresholds: Sequence[float] = (0.5, 0.7, 0.9)) -> list[dict]:
    """Share of reference and raw documents each setting keeps (Pareto: the expectation).

    Pick alpha the way the paper did: the setting whose kept raw documents have a score
    distribution like the reference's (compare `raw_kept_mean_score` with `reference_mean`).
    """
    ref = np.asarray(reference_scores, np.float64)
    raw = np.asarray(raw_scores, np.float64)
    rows = []
    for alpha in alphas:
        p_ref, p_raw = pareto_keep_probability(ref, alpha), pareto_keep_probability(raw, alpha)
        rows.append(_row("pareto", alpha, p_ref, p_raw, raw))
    for t in thresholds:
        rows.append(_row("threshold", t, (ref >= t).astype(float), (raw >= t).astype(float), raw))
    for row in rows:
        row["reference_mean_score"] = float(ref.mean()) if len(ref) else float("nan")
    return rows


def _row(mode: str, value: float, keep_ref: np.ndarray, keep_raw: np.ndarray,
         raw: np.ndarray) -> dict:
    kept = keep_raw.sum()
    return {"mode": mode, "value": float(value),
            "reference_kept": float(keep_ref.mean()) if len(keep_ref) else float("nan"),
            "raw_kept": float(keep_raw.mean()) if len(keep_raw) else float("nan"),
            "raw_kept_mean_score": float((keep_raw * raw).sum() / kept) if kept else float("nan")}


def format_calibration_table(rows: list[dict]) -> str:
    """The table as Markdown, for a terminal or a report."""
    lines = ["| selection | value | reference kept | raw kept | mean score of kept raw |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['value']:g} | {r['reference_kept']:.1%} | "
                     f"{r['raw_kept']:.1%} | {r['raw_kept_mean_score']:.3f} |")
    if rows:
        mean = rows[0]["reference_mean_score"]
        lines.append(f"\nmean score of the reference documents: {mean:.3f}")
    return "\n".join(lines)
