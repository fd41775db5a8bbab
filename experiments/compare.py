"""Differences between ablation configurations next to the seed-to-seed noise (no torch).

Every configuration is trained with the same seeds; a seed changes the model's initialisation
(the data order is the build's). For each metric and configuration: the mean over seeds and
the sample standard deviation. The noise of one run is the pooled standard deviation over all
configurations (sum of squared deviations / sum of (n - 1)), the noise of a difference of two
means its standard error, pooled sd * sqrt(1/n_a + 1/n_b). A difference "exceeds the noise"
when it is larger than twice that standard error (about a 95 % two-sided normal test; with two
seeds per configuration the noise estimate itself is rough, which is why it is printed).

Few-shot accuracy has a second noise the seeds do not show: every model answers the same
finite set of examples. For such a metric each configuration also carries the standard error of
its score over the examples (the harness's 95 % half-width / 1.96, averaged over seeds); the two
configurations' errors add in quadrature to the seed term (conservative: it ignores that both
answer the same examples), and the verdict uses that total.

Because every configuration runs the same seeds, run i of two configurations starts from the
same initial weights; the paired standard error (sd of the per-seed differences / sqrt(n)) is
reported too. It removes the part of the noise the seed shares across configurations, but with
two seeds it rests on one degree of freedom, so the verdict uses the unpaired noise.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    metric: str
    config: str
    baseline: str
    mean: float
    sd: float
    n: int
    diff: float
    """mean(config) - mean(baseline)."""
    se: float
    """Standard error of the difference from the pooled seed-to-seed sd."""
    pooled_sd: float
    paired_se: float | None
    """sd of the per-seed differences / sqrt(n), when both ran the same seeds (n >= 2)."""
    own_sampling_se: float = 0.0
    """This configuration's standard error over the examples (0 for a loss)."""
    baseline_sampling_se: float = 0.0

    @property
    def sampling_se(self) -> float:
        """Standard error of the difference from the finite example set."""
        if self.config == self.baseline:
            return 0.0
        return math.hypot(self.own_sampling_se, self.baseline_sampling_se)

    @property
    def total_se(self) -> float:
        return math.hypot(self.se, self.sampling_se)

    @property
    def exceeds_noise(self) -> bool:
        return abs(self.diff) > 2 * self.total_se

    def to_dict(self) -> dict:
        return {"metric": self.metric, "config": self.config, "baseline": self.baseline,
                "mean": self.mean, "sd": self.sd, "n": self.n, "diff": self.diff,
                "se": self.se, "pooled_sd": self.pooled_sd, "paired_se": self.paired_se,
                "sampling_se": self.sampling_se, "total_se": self.total_se,
                "exceeds_noise": self.exceeds_noise}


def pooled_sd(groups: list[list[float]]) -> float:
    """sqrt(sum of squared deviations from each group's mean / sum of (n_i - 1))."""
    dof = sum(len(g) - 1 for g in groups)
    if dof < 1:
        raise ValueError("the seed-to-seed noise needs at least 2 seeds of one configuration")
    squares = sum(sum((v - statistics.fmean(g)) ** 2 for v in g) for g in groups if g)
    return math.sqrt(squares / dof)


def paired_se(values: list[float], baseline: list[float]) -> float | None:
    if len(values) != len(baseline) or len(values) < 2:
        return None
    return statistics.stdev([v - b for v, b in zip(values, baseline)]) / math.sqrt(len(values))


def compare(values: dict[str, list[float]], metric: str, baseline: str,
            sampling_se: dict[str, float] | None = None) -> list[Difference]:
    """One row per configuration (baseline first, diff 0): mean, sd, diff and its noise.
    Lists are in seed order, the same seeds for every configuration; `sampling_se` is each
    configuration's standard error over the examples, for task metrics."""
    sampling = sampling_se or {}
    noise = pooled_sd(list(values.values()))
    base = values[baseline]
    rows = []
    for config in [baseline, *(c for c in values if c != baseline)]:
        group = values[config]
        mean = statistics.fmean(group)
        se = noise * math.sqrt(1 / len(group) + 1 / len(base))
        rows.append(Difference(metric, config, baseline, mean,
                               statistics.stdev(group) if len(group) > 1 else 0.0, len(group),
                               mean - statistics.fmean(base), se, noise,
                               paired_se(group, base), sampling.get(config, 0.0),
                               sampling.get(baseline, 0.0)))
    return rows


def winner(rows: list[Difference], higher_is_better: bool) -> str:
    """The configuration with the best mean."""
    best = max if higher_is_better else min
    return best(rows, key=lambda r: r.mean).config


def verdict(rows: list[Difference], higher_is_better: bool) -> str:
    """One sentence: which configuration won the metric, by how much, beyond the noise or not."""
    top = winner(rows, higher_is_better)
    others = [r for r in rows if r.config != top]
    if not others:
        return f"{top}: only configuration"
    best_row = next(r for r in rows if r.config == top)
    runner_up = (max if higher_is_better else min)(others, key=lambda r: r.mean)
    gap = best_row.mean - runner_up.mean
    if gap == 0:
        return f"{rows[0].metric}: no difference (every configuration {best_row.mean:.4g})"
    seed_se = best_row.pooled_sd * math.sqrt(1 / best_row.n + 1 / runner_up.n)
    sampling = math.hypot(best_row.own_sampling_se, runner_up.own_sampling_se)
    se = math.hypot(seed_se, sampling)
    beyond = "exceeds" if abs(gap) > 2 * se else "does not exceed"
    examples = f", examples SE {sampling:.2g}" if sampling else ""
    return (f"{top} wins {rows[0].metric} over {runner_up.config} by {abs(gap):.4g} "
            f"(seed sd {best_row.pooled_sd:.2g}{examples}, 2 SE = {2 * se:.2g}): {beyond} "
            f"the noise")

