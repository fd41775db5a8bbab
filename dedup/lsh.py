"""LSH banding: bands x rows from a Jaccard threshold, the S-curve, band keys, bucket pairs.

Two documents become a candidate pair when all `rows` signature values of at least one of the
`bands` bands agree, which happens with probability `1 - (1 - s^rows)^bands` at Jaccard `s`
(Leskovec et al., Mining of Massive Datasets, ch. 3). `optimal_bands_rows` picks the pair that
minimises the weighted false-positive area below the threshold plus the false-negative area
above it, the criterion of datasketch's `MinHashLSH` (`_optimal_param`); the integrals are
computed exactly here (Gauss-Legendre on a polynomial) instead of with scipy's `quad`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np
import xxhash

S_CURVE_POINTS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def candidate_probability(s: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """Probability that two documents of Jaccard `s` share at least one band."""
    return 1.0 - (1.0 - np.asarray(s, dtype=float) ** rows) ** bands


@lru_cache(maxsize=None)
def _gauss_legendre(points: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(points)


def _integral(lo: float, hi: float, bands: int, rows: int, above: bool) -> float:
    # The integrand is a polynomial of degree bands*rows <= num_perm: Gauss-Legendre with
    # bands*rows/2 + 1 nodes integrates it exactly (up to rounding).
    nodes, weights = _gauss_legendre(bands * rows // 2 + 2)
    s = (hi - lo) / 2 * nodes + (hi + lo) / 2
    p = candidate_probability(s, bands, rows)
    return float((hi - lo) / 2 * np.dot(weights, 1.0 - p if above else p))


def false_positive_area(threshold: float, bands: int, rows: int) -> float:
    """Integral of the candidate probability over Jaccard in [0, threshold]."""
    return _integral(0.0, threshold, bands, rows, above=False)


def false_negative_area(threshold: float, bands: int, rows: int) -> float:
    """Integral of the miss probability over Jaccard in [threshold, 1]."""
    return _integral(threshold, 1.0, bands, rows, above=True)


@lru_cache(maxsize=64)
def optimal_bands_rows(threshold: float, num_perm: int, false_positive_weight: float = 0.5,
                       false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm minimising the weighted error areas."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"LSH threshold must be in (0, 1), got {threshold}")
    best, best_error = (0, 0), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            error = (false_positive_weight * false_positive_area(threshold, bands, rows)
                     + false_negative_weight * false_negative_area(threshold, bands, rows))
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


def s_curve(bands: int, rows: int, points: tuple[float, ...] = S_CURVE_POINTS
            ) -> list[tuple[float, float]]:
    """(Jaccard, probability of becoming a candidate pair) at each point."""
    return [(s, float(candidate_probability(s, bands, rows))) for s in points]


def format_s_curve(bands: int, rows: int, points: tuple[float, ...] = S_CURVE_POINTS) -> str:
    lines = [f"LSH {bands} bands x {rows} rows: P(candidate | Jaccard)"]
    lines += [f"  J={s:.2f}  P={p:.4f}" for s, p in s_curve(bands, rows, points)]
    return "\n".join(lines)


def print_s_curve(bands: int, rows: int, points: tuple[float, ...] = S_CURVE_POINTS) -> None:
    print(format_s_curve(bands, rows, points))


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(documents, bands) int64: xxh3-64 of each band's `rows` signature values.

    Signed, so that every Beam coder carries the keys as plain 64-bit integers.
    """
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} permutations; "
                         f"signatures have {signatures.shape[1]}")
    out = np.empty((signatures.shape[0], bands), dtype=np.int64)
    for band in range(bands):
        block = np.ascontiguousarray(signatures[:, band * rows:(band + 1) * rows])
        raw = block.view(np.dtype((np.void, block.shape[1] * block.itemsize))).ravel()
        out[:, band] = [xxhash.xxh3_64_intdigest(v.tobytes()) - (1 << 63) for v in raw]
    return out


def bucket_pairs(member_ids: list[str], max_bucket_size: int) -> Iterator[tuple[str, str]]:
    """Candidate pairs `(smaller id, larger id)` of one bucket.

    A bucket of at most `max_bucket_size` members yields all its pairs. A giant one (a band shared
    by many documents, e.g. boilerplate) yields each member, in id order, with its next
    `max_bucket_size - 1` members only, so its cost stays linear; callers report such buckets.
    """
    ids = sorted(set(member_ids))
    window = max(max_bucket_size - 1, 1)
    for i, a in enumerate(ids):
        for b in ids[i + 1:i + 1 + window]:
            yield a, b
