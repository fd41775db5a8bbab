"""`crawl2gpt scaling`: a family of model sizes on one build, power laws fitted, next size checked.

1. Train each size for the same token budget (`runs.train_run`), recording validation loss at
   even intervals and at the end.
2. Fit L(N) = (N_c / N)^alpha_N to the final losses against non-embedding parameters, and
   L(C) = (C_c / C)^alpha_C to the compute frontier (C = 6 N D) of all learning curves, as GPT-3's
   Figure 3.1 does; both with standard errors and 95 % intervals (`scaling_fit`).
   The frontier's points are consecutive evaluations of a few runs, not independent draws, so
   the L(C) interval is optimistic; the L(N) fit (one point per run) is the one to trust.
3. Write the prediction for the next size (loss and its 95 % prediction interval) to
   `scaling.json` *before* training it, then train it and record measured against predicted.
"""

from __future__ import annotations

import os
from typing import Any

from crawl2gpt.experiments.runs import ModelShape, RunResult, train_run, write_json
from crawl2gpt.experiments.scaling_fit import PowerLawFit, compute_frontier, fit_power_law

LEVEL = 0.95


def frontier_points(runs: list[RunResult], skip_fraction: float = 0.1) -> list[tuple[float, float]]:
    """(compute, loss) of every evaluation after warm-up (the first 10 % of tokens), frontier
    only: during warm-up the loss says more about the schedule than about the model."""
    points = [(6.0 * r.non_embedding_params * p["tokens"], p["loss"]) for r in runs
              for p in r.curve if p["tokens"] > skip_fraction * r.tokens]
    return compute_frontier(points)


def fits(runs: list[RunResult]) -> tuple[PowerLawFit, PowerLawFit | None, list]:
    """L(N) on the runs' final losses; L(C) on their compute frontier (None under 3 points)."""
    fit_n = fit_power_law([r.non_embedding_params for r in runs],
                          [r.validation_loss for r in runs])
    frontier = frontier_points(runs)
    fit_c = fit_power_law(*zip(*frontier)) if len(frontier) >= 3 else None
    return fit_n, fit_c, frontier


def fit_runs(runs: list[RunResult]) -> dict[str, Any]:
    """Both fits of the measured sizes, as JSON-ready dicts."""
    fit_n, fit_c, frontier = fits(runs)
    result = {"L(N)": fit_n.to_dict(LEVEL), "frontier": frontier}
    if fit_c:
        result["L(C)"] = fit_c.to_dict(LEVEL)
    return result


def predict(runs: list[RunResult], params: int, compute: float) -> dict[str, Any]:
    """Loss of a size with `params` non-embedding parameters trained with `compute` FLOPs."""
    fit_n, fit_c, _ = fits(runs)
    prediction = {"non_embedding_params": params, "compute_flops": compute,
                  "loss": fit_n.predict(params),
                  "interval": list(fit_n.prediction_interval(params, LEVEL))}
    if fit_c:
        prediction["loss_from_L(C)"] = fit_c.predict(compute)
        prediction["interval_from_L(C)"] = list(fit_c.prediction_interval(compute, LEVEL))
    return prediction


def planned_params(manifest: str, shape: ModelShape) -> int:
    """The non-embedding parameter count a shape will have on this build (before training)."""
    from crawl2gpt.experiments.runs import non_embedding_params
    from crawl2gpt.training.data import load_token_manifest
    from crawl2gpt.training.train_config import TrainConfig
    fields = {"vocab_size": load_token_manifest(manifest).vocab_size, **shape.fields}
    return non_embedding_params(TrainConfig(model=fields).gpt_config())


def run_scaling(manifest: str, sizes: list[ModelShape], next_size: ModelShape | None,
                tokens: int, out_dir: str, seed: int = 1234, device: str = "cpu",
                overrides: list[str] = ()) -> dict[str, Any]:
    """Train, fit, predict, check; writes `<out_dir>/scaling.json` after each step."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "scaling.json")
    result: dict[str, Any] = {"manifest": os.path.abspath(manifest), "tokens": tokens,
                              "seed": seed, "sizes": [s.label for s in sizes], "runs": []}

    def train(shape: ModelShape) -> RunResult:
        run = train_run(manifest, shape, tokens, os.path.join(out_dir, "runs", shape.label),
                        seed, device, overrides=list(overrides))
        result["runs"].append(run.to_dict())
        write_json(path, result)
        return run

    runs = [train(shape) for shape in sizes]
    result["fit"] = fit_runs(runs)
    if next_size is not None:
        params = planned_params(manifest, next_size)
        result["prediction"] = {"shape": next_size.label,
                                **predict(runs, params, 6.0 * params * runs[-1].tokens)}
        write_json(path, result)  # the prediction is on disk before the check is trained
        check = train(next_size)
        record_check(result["prediction"], check.validation_loss)
        result["fit_with_check"] = fit_runs(runs + [check])
    write_json(path, result)
    return result


def record_check(prediction: dict[str, Any], measured: float) -> None:
    """Measured loss of the predicted size against each prediction and its interval."""
    low, high = prediction["interval"]
    prediction.update(measured=measured, error=measured - prediction["loss"],
                      relative_error=measured / prediction["loss"] - 1,
                      inside_interval=low <= measured <= high)
    if "interval_from_L(C)" in prediction:
        low, high = prediction["interval_from_L(C)"]
        prediction["inside_interval_from_L(C)"] = low <= measured <= high


def summary_lines(result: dict[str, Any]) -> list[str]:
    lines = [(f"{'size':<12} {'N (non-emb.)':>13} {'tokens':>10} {'C (FLOPs)':>11} "
             f"{'val loss':>9} {'seconds':>8}")]
    for r in result["runs"]:
        lines.append(f"{r['shape']:<12} {r['non_embedding_params']:>13,} {r['tokens']:>10,} "
                     f"{r['compute_flops']:>11.3e} {r['validation_loss']:>9.4f} "
                     f"{r['seconds']:>8.1f}")
    for name in ("L(N)", "L(C)"):
        if name in result["fit"]:
            f = result["fit"][name]
            lines.append(f"{name}: alpha {f['alpha']:.4f} ± {f['alpha_se']:.4f} (95 % "
                         f"{f['alpha_ci'][0]:.4f}..{f['alpha_ci'][1]:.4f}), scale "
                         f"{f['scale']:.3e} (95 % {f['scale_ci'][0]:.3e}..{f['scale_ci'][1]:.3e})"
                         f", residual sd {f['residual_sd']:.4f}, {f['n']} points")
    p = result.get("prediction")
    if p:
        lines.append(f"predicted {p['shape']} (N={p['non_embedding_params']:,}): "
                     f"{p['loss']:.4f} (95 % {p['interval'][0]:.4f}..{p['interval'][1]:.4f})")
        if "loss_from_L(C)" in p:
            low, high = p["interval_from_L(C)"]
            lines.append(f"  from L(C) at C={p['compute_flops']:.3e}: {p['loss_from_L(C)']:.4f} "
                         f"(95 % {low:.4f}..{high:.4f})")
        if "measured" in p:
            lines.append(f"measured {p['measured']:.4f}: error {p['error']:+.4f} "
                         f"({100 * p['relative_error']:+.2f} %), "
                         f"{'inside' if p['inside_interval'] else 'OUTSIDE'} the L(N) interval")
            if "inside_interval_from_L(C)" in p:
                inside = p["inside_interval_from_L(C)"]
                lines.append(f"  {'inside' if inside else 'OUTSIDE'} the L(C) interval")
    return lines
