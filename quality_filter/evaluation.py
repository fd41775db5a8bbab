"""Held-out evaluation of a quality classifier: the numbers written beside the model.

Labels are 1 for reference (positive) and 0 for raw crawl (negative); scores are
P(reference-like). Everything here is plain numpy over arrays.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from scipy.stats import rankdata

SNIPPET_CHARS = 300
_BOOTSTRAP_CHUNK = 100


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """P(score of a random positive > score of a random negative), ties counting one half.

    The Mann-Whitney U statistic from average ranks, O(n log n).
    """
    y = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC needs at least one positive and one negative")
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap_auc_interval(labels: Sequence[int], scores: Sequence[float], *,
                           resamples: int = 1000, level: float = 0.95,
                           seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC, resampling positives and negatives apart.

    Resamples are ranked `_BOOTSTRAP_CHUNK` at a time (one 2-D `rankdata`), bounding memory.
    """
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    pos, neg = s[y], s[~y]
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("ROC-AUC needs at least one positive and one negative")
    rng = np.random.default_rng(seed)
    aucs = []
    for start in range(0, resamples, _BOOTSTRAP_CHUNK):
        b = min(_BOOTSTRAP_CHUNK, resamples - start)
        sample = np.hstack([rng.choice(pos, (b, len(pos))), rng.choice(neg, (b, len(neg)))])
        pos_ranks = rankdata(sample, axis=1)[:, :len(pos)].sum(axis=1)
        aucs.append((pos_ranks - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(np.concatenate(aucs), [tail, 100 - tail])
    return float(low), float(high)


def precision_recall(labels: Sequence[int], scores: Sequence[float],
                     threshold: float) -> dict[str, float]:
    """Precision and recall of `reference` when predicting it for score >= threshold."""
    y = np.asarray(labels, dtype=bool)
    predicted = np.asarray(scores) >= threshold
    true_pos = int((predicted & y).sum())
    return {"threshold": threshold,
            "precision": true_pos / max(int(predicted.sum()), 1),
            "recall": true_pos / max(int(y.sum()), 1)}


def score_histograms(labels: Sequence[int], scores: Sequence[float],
                     bins: int) -> dict[str, list]:
    """Counts of positive and negative scores in `bins` equal bins over [0, 1] (plot data)."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    return {"bin_edges": edges.round(6).tolist(),
            "reference": np.histogram(s[y], edges)[0].tolist(),
            "raw": np.histogram(s[~y], edges)[0].tolist()}


def boundary_examples(ids: Sequence[str], labels: Sequence[int], scores: Sequence[float],
                      texts: Sequence[str], n: int, boundary: float = 0.5) -> list[dict]:
    """The `n` documents scored nearest the boundary: what the model finds hard."""
    s = np.asarray(scores, dtype=np.float64)
    order = sorted(range(len(s)), key=lambda i: (abs(s[i] - boundary), ids[i]))[:n]
    return [{"id": ids[i], "label": "reference" if labels[i] else "raw",
             "score": round(float(s[i]), 6), "text": texts[i][:SNIPPET_CHARS]} for i in order]


def auc_summary(labels: Sequence[int], scores: Sequence[float]) -> dict[str, Any]:
    """Sizes, and the AUC with its bootstrap interval where both classes are present."""
    y = np.asarray(labels, dtype=int)
    summary: dict[str, Any] = {"n_reference": int(y.sum()), "n_raw": int(len(y) - y.sum())}
    if summary["n_reference"] and summary["n_raw"]:
        summary["roc_auc"] = roc_auc(y, scores)
        summary["roc_auc_bootstrap_95"] = list(bootstrap_auc_interval(y, scores))
    return summary


def auc_by_source(sources: Sequence[str], labels: Sequence[int],
                  scores: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Per source, `auc_summary` of its documents against every document of the other class."""
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=np.float64)
    src = np.asarray(sources, dtype=object)
    result = {}
    for name in sorted(set(sources)):
        mine = src == name
        label = int(y[mine][0])
        pick = mine | (y != label)
        result[name] = {"role": "reference" if label else "raw", **auc_summary(y[pick], s[pick])}
    return result


def evaluate(ids: Sequence[str], labels: Sequence[int], scores: Sequence[float],
             texts: Sequence[str], *, bins: int = 20, examples: int = 20,
             threshold: float = 0.5) -> dict[str, Any]:
    """The held-out report: sizes, AUC with a bootstrap interval, P/R, histograms, examples."""
    y = np.asarray(labels, dtype=int)
    report = auc_summary(y, scores)
    report["operating_point"] = precision_recall(y, scores, threshold)
    report["histograms"] = score_histograms(y, scores, bins)
    report["boundary_examples"] = boundary_examples(ids, y, scores, texts, examples, threshold)
    return report
