"""The training mixture: per-source weights and epochs over a token budget (GPT-3 Table 2.2).

`epochs = weight × budget / tokens`: the share of the budget drawn from a source divided by
what the source holds. Weights are explicit (`{"commoncrawl": 0.6, ...}`), `"by_size"`
(proportional to tokens) or `"by_size^alpha"` (proportional to tokens**alpha; alpha < 1 tilts
towards small sources).

Weights that do not sum to 1: explicit weights are rounded percentages (the paper's sum to
1.01), so within `sum_tolerance` of 1 they are used exactly as given, never rescaled, and the
table notes the sum (the mix then draws sum × budget tokens); further off, they are refused.
Computed weights ("by size") sum to 1 by construction.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

DEFAULT_SUM_TOLERANCE = 0.02
_BY_SIZE = re.compile(r"by_size(?:\^(?P<alpha>[0-9]*\.?[0-9]+))?")


class MixtureError(ValueError):
    """Mixture inputs that cannot give a meaningful table (unknown source, empty source...)."""


def parse_weight_spec(spec: dict[str, float] | str) -> dict[str, float] | float:
    """Explicit weights as a dict, or the alpha of a `by_size[^alpha]` spec."""
    if isinstance(spec, dict):
        bad = {k: v for k, v in spec.items()
               if isinstance(v, bool) or not isinstance(v, int | float) or not v >= 0}
        if bad:
            raise MixtureError(f"weights must be numbers >= 0; got {bad}")
        return {k: float(v) for k, v in spec.items()}
    m = _BY_SIZE.fullmatch(spec.replace(" ", "")) if isinstance(spec, str) else None
    if m is None:
        raise MixtureError(f"weights {spec!r}: expected a table of source = weight, "
                           f"'by_size' or 'by_size^ALPHA'")
    return float(m["alpha"]) if m["alpha"] else 1.0


@dataclass(frozen=True)
class MixtureRow:
    source: str
    tokens: int
    weight: float
    epochs: float
    """weight × budget / tokens."""
    tokens_drawn: int
    """round(weight × budget): the tokens the trainer takes from this source."""


@dataclass(frozen=True)
class MixtureTable:
    rows: tuple[MixtureRow, ...]
    budget_tokens: int
    weights_spec: dict[str, float] | str
    weight_sum: float
    max_epochs: float | None
    warnings: tuple[str, ...]

    def row(self, source: str) -> MixtureRow:
        return next(r for r in self.rows if r.source == source)

    def to_dict(self) -> dict:
        """JSON-able form for the manifest."""
        return {"budget_tokens": self.budget_tokens, "weights_spec": self.weights_spec,
                "weight_sum": self.weight_sum, "max_epochs": self.max_epochs,
                "rows": [vars(r).copy() for r in self.rows], "warnings": list(self.warnings)}

    def render(self) -> str:
        """Text in the layout of the paper's Table 2.2."""
        budget = human_tokens(self.budget_tokens)
        header = ("source", "tokens", "weight in mix", f"epochs at {budget} tokens")
        lines = [(r.source, human_tokens(r.tokens), f"{100 * r.weight:.1f}%", f"{r.epochs:.2f}")
                 for r in self.rows]
        widths = [max(len(x[i]) for x in [header, *lines]) for i in range(4)]
        fmt = "  ".join(["{:<%d}" % widths[0]] + ["{:>%d}" % w for w in widths[1:]])
        out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
        out += [fmt.format(*line) for line in lines]
        out.append(f"weights sum to {100 * self.weight_sum:.1f}%")
        out += [f"warning: {w}" for w in self.warnings]
        return "\n".join(out)


def human_tokens(n: int) -> str:
    """410_000_000_000 -> '410B' (3 significant digits, as the paper prints counts)."""
    for div, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= div:
            return f"{n / div:.3g}{unit}"
    return str(n)


def compute_mixture(token_counts: dict[str, int], weights: dict[str, float] | str,
                    budget_tokens: int, max_epochs: float | None = None,
                    sum_tolerance: float = DEFAULT_SUM_TOLERANCE) -> MixtureTable:
    """The mixture table for sources with `token_counts` (see the module docstring)."""
    if budget_tokens <= 0:
        raise MixtureError(f"token budget must be > 0, got {budget_tokens}")
    if not token_counts:
        raise MixtureError("no sources to mix")
    empty = sorted(s for s, n in token_counts.items() if n <= 0)
    if empty:
        raise MixtureError(f"empty source(s) {empty}: 0 tokens after the build")
    parsed = parse_weight_spec(weights)
    if isinstance(parsed, dict):
        resolved = _check_explicit(parsed, token_counts, sum_tolerance)
    else:
        scaled = {s: n ** parsed for s, n in token_counts.items()}
        total = sum(scaled.values())
        resolved = {s: v / total for s, v in scaled.items()}
    weight_sum = sum(resolved.values())
    rows = tuple(sorted(
        (MixtureRow(s, n, resolved[s], resolved[s] * budget_tokens / n,
                    round(resolved[s] * budget_tokens)) for s, n in token_counts.items()),
        key=lambda r: (-r.weight, r.source)))
    warnings = [f"{r.source} is repeated {r.epochs:.2f} times, above max_epochs={max_epochs:g}"
                for r in rows if max_epochs is not None and r.epochs > max_epochs]
    if abs(weight_sum - 1.0) > 1e-9:
        warnings.insert(0, f"weights sum to {weight_sum:.4g}, used as given: the mix draws "
                           f"{weight_sum:.4g} × the budget")
    for w in warnings:
        log.warning("mixture: %s", w)
    return MixtureTable(rows, budget_tokens, weights, weight_sum, max_epochs, tuple(warnings))


def _check_explicit(weights: dict[str, float], token_counts: dict[str, int],
                    tolerance: float) -> dict[str, float]:
    unknown = sorted(set(weights) - set(token_counts))
    if unknown:
        raise MixtureError(f"weight(s) for unknown source(s) {unknown}; sources: "
                           f"{sorted(token_counts)}")
    missing = sorted(set(token_counts) - set(weights))
    if missing:
        raise MixtureError(f"no weight for source(s) {missing}; give 0 to leave one out")
    total = sum(weights.values())
    if abs(total - 1.0) > tolerance:
        raise MixtureError(f"weights sum to {total:.4g}, more than {tolerance:g} away from 1; "
                           f"fix them (they are never rescaled)")
    return weights
