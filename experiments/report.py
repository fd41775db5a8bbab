"""Figures and the HTML report of a scaling run or an ablation, in the inspection reports' style
(`crawl2gpt/reports`): one self-contained page, figures inline, `report.json` beside it.

The figures draw only the numbers of the result JSON, so figure and JSON cannot disagree.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from crawl2gpt.reports.errors import InspectError
from crawl2gpt.reports.html_page import image, table
from crawl2gpt.reports.report import write_report_files
from crawl2gpt.reports.train_report import report_page


def scaling_figure(result: dict[str, Any]) -> bytes:
    """Left: validation loss against compute for every size and the L(C) frontier fit (GPT-3
    Figure 3.1). Right: final loss against non-embedding parameters, the L(N) fit, the next
    size's prediction with its 95 % interval and the measured loss."""
    from crawl2gpt.reports.figures import figure_png, plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    fit = result["fit"]
    for r in result["runs"]:
        xs = [6.0 * r["non_embedding_params"] * p["tokens"] for p in r["curve"]]
        left.plot(xs, [p["loss"] for p in r["curve"]], marker="o", markersize=2,
                  linewidth=1, label=f"{r['shape']} ({r['non_embedding_params']:,})")
    if "L(C)" in fit:
        c = fit["L(C)"]
        xs = np.geomspace(min(x for x, _ in fit["frontier"]),
                          max(6.0 * r["non_embedding_params"] * r["tokens"]
                              for r in result["runs"]), 50)
        left.plot(xs, (c["scale"] / xs) ** c["alpha"], "k--", linewidth=1.5,
                  label=f"L = ({c['scale']:.2e}/C)^{c['alpha']:.3f}")
    left.set(xscale="log", yscale="log", xlabel="compute C = 6 N D (FLOPs)",
             ylabel="validation loss (nats/token)", title="loss vs compute")
    left.legend(fontsize=7)
    fitted = [r for r in result["runs"] if r["shape"] in result["sizes"]]
    right.scatter([r["non_embedding_params"] for r in fitted],
                  [r["validation_loss"] for r in fitted], color="#4c78a8", zorder=3,
                  label="fitted sizes")
    n_fit = fit["L(N)"]
    p = result.get("prediction")
    top = max([r["non_embedding_params"] for r in fitted]
              + ([p["non_embedding_params"]] if p else []))
    xs = np.geomspace(min(r["non_embedding_params"] for r in fitted), top, 50)
    right.plot(xs, (n_fit["scale"] / xs) ** n_fit["alpha"], "k--", linewidth=1.5,
               label=f"L = ({n_fit['scale']:.2e}/N)^{n_fit['alpha']:.3f}")
    if p:
        low, high = p["interval"]
        right.errorbar([p["non_embedding_params"]], [p["loss"]],
                       yerr=[[p["loss"] - low], [high - p["loss"]]], fmt="s", color="#f58518",
                       capsize=4, label=f"predicted {p['shape']} (95 %)")
        if "measured" in p:
            right.scatter([p["non_embedding_params"]], [p["measured"]], marker="*", s=120,
                          color="#e45756", zorder=4, label=f"measured {p['shape']}")
    right.set(xscale="log", yscale="log", xlabel="non-embedding parameters N",
              ylabel="final validation loss", title="loss vs model size")
    right.legend(fontsize=7)
    _plain_log_labels(left, right)
    fig.tight_layout()
    return figure_png(fig)


def _plain_log_labels(*axes) -> None:
    """Loss axes span a few percent: label them 2.85, not 2.85 x 10^0; no minor x labels."""
    from matplotlib.ticker import FormatStrFormatter, NullFormatter
    for ax in axes:
        ax.yaxis.set_major_formatter(FormatStrFormatter("%.2f"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%.2f"))
        ax.xaxis.set_minor_formatter(NullFormatter())


def ablation_figure(result: dict[str, Any]) -> bytes:
    """One panel per metric: mean ± sd over seeds per configuration (black), ± the standard
    error over the task's examples (grey, task metrics), and each seed's values joined across
    configurations (same seed = same initial weights)."""
    from crawl2gpt.reports.figures import figure_png, plt
    metrics = list(result["metrics"])
    configs = result["configs"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        by_seed = {seed: [next(r["metrics"][metric] for r in result["runs"]
                               if r["config"] == c and r["seed"] == seed) for c in configs]
                   for seed in result["seeds"]}
        for seed, values in by_seed.items():
            ax.plot(range(len(configs)), values, marker="o", markersize=4, linewidth=0.8,
                    alpha=0.8, label=f"seed {seed}")
        for i, config in enumerate(configs):
            values = [v[i] for v in by_seed.values()]
            ax.errorbar([i], [np.mean(values)], yerr=[np.std(values, ddof=1)], fmt="_",
                        markersize=18, capsize=6, color="black")
            sampling = [r.get("sampling_se", {}).get(metric, 0.0) for r in result["runs"]
                        if r["config"] == config]
            if any(sampling):  # the task score's standard error over its examples
                ax.errorbar([i + 0.1], [np.mean(values)], yerr=[np.mean(sampling)], fmt="none",
                            capsize=3, color="grey", alpha=0.7)
        ax.set_xticks(range(len(configs)), configs, fontsize=8, rotation=15)
        ax.set_xlim(-0.5, len(configs) - 0.5)
        ax.set_title(metric + (" (higher better)" if result["metrics"][metric] else
                               " (lower better)"), fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return figure_png(fig)


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(
        value, spec)


def write_scaling_report(result: dict[str, Any], out_dir: str) -> str:
    figures = {"scaling": scaling_figure(result)}
    rows = [[r["shape"], r["non_embedding_params"], r["params"], r["tokens"],
             _fmt(r["compute_flops"], ".3e"), _fmt(r["validation_loss"])]
            for r in result["runs"]]
    fits = [[name, _fmt(f["alpha"]), _fmt(f["alpha_se"]),
             f"{f['alpha_ci'][0]:.4f} .. {f['alpha_ci'][1]:.4f}", _fmt(f["scale"], ".3e"),
             f"{f['scale_ci'][0]:.3e} .. {f['scale_ci'][1]:.3e}", f["n"]]
            for name, f in result["fit"].items() if name != "frontier"]
    body = ["<h2>Runs</h2>", table(["size", "N (non-embedding)", "parameters", "tokens",
                                    "C = 6ND (FLOPs)", "final validation loss"], rows),
            ("<h2>Power-law fits</h2><p>Least squares in log-log space; 95 % intervals from "
            "Student's t with n - 2 degrees of freedom.</p>"),
            table(["fit", "alpha", "SE", "alpha 95 %", "scale", "scale 95 %", "points"], fits),
            image(figures["scaling"], "loss against compute and model size")]
    p = result.get("prediction")
    if p:
        body += ["<h2>Prediction of the next size</h2>", table(["", "value"], [
            ["size", p["shape"]], ["N (non-embedding)", p["non_embedding_params"]],
            ["predicted loss (L(N))", _fmt(p["loss"])],
            ["95 % prediction interval", f"{p['interval'][0]:.4f} .. {p['interval'][1]:.4f}"],
            ["predicted loss (L(C) at 6 N D)", _fmt(p.get("loss_from_L(C)"))],
            ["95 % prediction interval (L(C))", " .. ".join(
                f"{v:.4f}" for v in p.get("interval_from_L(C)", []))],
            ["measured loss", _fmt(p.get("measured"))],
            ["inside the L(N) interval", str(p.get("inside_interval", "–"))],
            ["inside the L(C) interval", str(p.get("inside_interval_from_L(C)", "–"))]])]
    page = report_page("Scaling report", result["manifest"], "".join(body))
    return write_report_files(out_dir, result, figures, page)


def write_ablation_report(result: dict[str, Any], out_dir: str) -> str:
    figures = {"ablation": ablation_figure(result)}
    rows = [[d["metric"], d["config"], _fmt(d["mean"]), _fmt(d["sd"]), d["n"], _fmt(d["diff"]),
             _fmt(2 * d["se"]), _fmt(d["paired_se"] and 2 * d["paired_se"]),
             _fmt(2 * d["sampling_se"]), _fmt(2 * d["total_se"]),
             "yes" if d["exceeds_noise"] else "no"]
            for d in result["differences"]]
    header = ["metric", "config", "mean", "sd (seeds)", "seeds",
              f"diff vs {result['configs'][0]}", "2 SE seeds", "2 SE seeds (paired)",
              "2 SE examples", "2 SE total", "exceeds noise"]
    body = ["<h2>Verdicts</h2><ul>" + "".join(f"<li>{v}</li>" for v in result["verdicts"])
            + "</ul>",
            ("<h2>Differences against the noise</h2><p>Seed noise: sd pooled over "
            "configurations; examples: the finite task set (task metrics only); a difference "
            "exceeds the noise beyond 2 SE total (experiments/compare.py).</p>"),
            table(header, rows, left=2),
            image(figures["ablation"], "metrics per configuration and seed")]
    page = report_page("Ablation report", ", ".join(result["configs"]), "".join(body))
    return write_report_files(out_dir, result, figures, page)


def read_result(results_dir: str, name: str) -> dict[str, Any]:
    """`<results_dir>/<name>` (scaling.json / ablation.json); errors name the file."""
    path = Path(results_dir) / name
    if not path.is_file():
        raise InspectError(f"{path}: not found (is {results_dir} a results folder of "
                           f"`crawl2gpt {name.removesuffix('.json')}`?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InspectError(f"{path}: not JSON: {e}") from None


def inspect_scaling(results_dir: str, out_dir: str) -> str:
    """`crawl2gpt inspect scaling`: the report of a finished (or running) scaling run."""
    result = read_result(results_dir, "scaling.json")
    if "fit" not in result:
        raise InspectError(f"{Path(results_dir) / 'scaling.json'}: no fit yet (fewer sizes "
                           f"trained than the fit needs)")
    return write_scaling_report(result, out_dir)


def inspect_ablation(results_dir: str, out_dir: str) -> str:
    """`crawl2gpt inspect ablation`: the report of a finished ablation."""
    result = read_result(results_dir, "ablation.json")
    if "differences" not in result:
        raise InspectError(f"{Path(results_dir) / 'ablation.json'}: the ablation has not "
                           f"finished")
    return write_ablation_report(result, out_dir)
