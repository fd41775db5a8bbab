"""Settings of the `fuzzy_dedup` stage, the `[fuzzy_dedup]` table of a build config."""

from __future__ import annotations

from dataclasses import dataclass

from crawl2gpt.core.config import ConfigError
from crawl2gpt.dedup.clusters import VERIFY_MODES
from crawl2gpt.dedup.lsh import optimal_bands_rows
from crawl2gpt.dedup.minhash import HASHES

# Below the decision threshold by this much when candidates are verified: recall first.
VERIFIED_LSH_MARGIN = 0.2


@dataclass
class FuzzyDedupConfig:
    ngram: int = 5
    """Words per shingle (a shorter document is one shingle of all its words)."""
    num_perm: int = 128
    """MinHash permutations per signature."""
    seed: int = 1
    """Seed of the permutations (datasketch's `MinHash(seed=...)`)."""
    hash: str = "xxh32"
    """Shingle hash: `xxh32` (seed 0, vectorised) or `sha1` (datasketch's default sha1_hash32)."""
    threshold: float = 0.8
    """Jaccard at or above which two documents are near-duplicates."""
    lsh_threshold: float | None = None
    """Jaccard the bands x rows are tuned for. None: `threshold` - 0.2 when candidates are
    verified (recall first; verification drops the extra candidates), `threshold` when not."""
    bands: int | None = None
    """Explicit LSH bands (with `rows`), instead of tuning them for `lsh_threshold`."""
    rows: int | None = None
    verify: str = "exact"
    """Candidate check: `off` (every candidate is a duplicate), `estimate` (signature agreement
    >= threshold) or `exact` (Jaccard of the shingle sets, as 64-bit fingerprints)."""
    cross_source: bool = True
    """Also remove raw documents that near-duplicate a reference document (the paper)."""
    max_bucket_size: int = 200
    """Buckets with more members are giant: reported, and paired in a sliding window only."""
    union_find_max_nodes: int = 1_000_000
    """Graphs with at most this many nodes use single-worker union-find; 0 forces star rounds."""
    max_rounds: int = 20
    """Large-star/small-star rounds unrolled in the pipeline (a 5,000-node path with sorted ids
    needs 13); the build fails with a clear error when they were not enough."""
    signature_batch: int = 256
    """Documents hashed together in one vectorised call."""

    def __post_init__(self) -> None:
        def fail(name: str, why: str) -> None:
            raise ConfigError(f"fuzzy_dedup.{name}: {why} (got {getattr(self, name)!r})")

        if self.ngram < 1:
            fail("ngram", "must be >= 1")
        if self.num_perm < 1:
            fail("num_perm", "must be >= 1")
        if self.hash not in HASHES:
            fail("hash", f"must be one of {HASHES}")
        if self.verify not in VERIFY_MODES:
            fail("verify", f"must be one of {VERIFY_MODES}")
        if not 0.0 < self.threshold <= 1.0:
            fail("threshold", "must be in (0, 1]")
        if self.lsh_threshold is not None and not 0.0 < self.lsh_threshold < 1.0:
            fail("lsh_threshold", "must be in (0, 1)")
        if (self.bands is None) != (self.rows is None):
            fail("bands", "bands and rows are given together or not at all")
        if self.bands is not None and (self.bands < 1 or self.rows < 1
                                       or self.bands * self.rows > self.num_perm):
            fail("bands", f"bands x rows ({self.bands} x {self.rows}) must fit num_perm")
        if self.max_bucket_size < 2:
            fail("max_bucket_size", "must be >= 2")
        if self.max_rounds < 1:
            fail("max_rounds", "must be >= 1")

    def effective_lsh_threshold(self) -> float:
        if self.lsh_threshold is not None:
            return self.lsh_threshold
        if self.verify == "off":
            return min(self.threshold, 0.99)
        return max(self.threshold - VERIFIED_LSH_MARGIN, 0.05)

    def lsh_params(self) -> tuple[int, int]:
        """(bands, rows): explicit, or datasketch's optimum for the effective LSH threshold."""
        if self.bands is not None:
            return self.bands, self.rows
        return optimal_bands_rows(self.effective_lsh_threshold(), self.num_perm)
