"""`crawl2gpt inspect eval`: evaluation results as the paper shows them.

Reads one or more results folders of `crawl2gpt eval` (each holds `summary.json`: one row per
task, K, metric and subset) and shows each task's headline metric against K (GPT-3 figure 1.2:
one line per model), against model size when several models are given, and on the clean and
dirty subsets of the contamination lists (GPT-3 Appendix C). `report.json` keeps the rows as
read; the figures and tables only draw them.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from crawl2gpt.reports.errors import InspectError
from crawl2gpt.reports.html_page import image, table
from crawl2gpt.reports.report import write_report_files
from crawl2gpt.reports.train_report import report_page

SUBSETS = ("all", "clean", "dirty")


def read_summary(results_dir: str) -> dict[str, Any]:
    path = Path(results_dir) / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InspectError(f"{path}: not found (is {results_dir} a `crawl2gpt eval` results "
                           "folder?)") from None
    except json.JSONDecodeError as e:
        raise InspectError(f"{path}: not JSON: {e}") from None
    for key in ("model", "params", "headline_metrics", "results"):
        if key not in summary:
            raise InspectError(f"{path}: no `{key}`")
    return summary


def k_order(k: str) -> tuple[int, int]:
    """Numeric K first, then "max" (as many as fit)."""
    return (1, 0) if not k.isdigit() else (0, int(k))


def collect_eval_report(results_dirs: list[str]) -> dict[str, Any]:
    """Models (name, parameters, folder), headline metrics, and every summary row, tagged with
    its model's label (the name, plus the folder where names repeat)."""
    summaries = [(d, read_summary(d)) for d in results_dirs]
    names = Counter(s["model"] for _, s in summaries)
    models, rows, headline = [], [], {}
    for folder, s in summaries:
        label = s["model"] if names[s["model"]] == 1 else f"{s['model']} ({folder})"
        models.append({"label": label, "model": s["model"], "params": s["params"],
                       "results": os.path.abspath(folder)})
        headline.update(s["headline_metrics"])
        rows += [{**r, "model": label, "params": s["params"]} for r in s["results"]]
    models.sort(key=lambda m: m["params"])
    return {"models": models, "headline_metrics": dict(sorted(headline.items())),
            "results": rows}


def headline_rows(report: dict[str, Any], subset: str = "all") -> dict[str, dict[str, dict]]:
    """task -> model label -> K -> the headline metric's row on `subset`."""
    out: dict[str, dict[str, dict]] = {}
    for r in report["results"]:
        if r["metric"] == report["headline_metrics"].get(r["task"]) and r["subset"] == subset:
            out.setdefault(r["task"], {}).setdefault(r["model"], {})[r["shots"]] = r
    return out


def _task_panels(tasks: list[str]):
    """One figure with a panel per task: (figure, [(axis, task), ...])."""
    from crawl2gpt.reports.figures import plt
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 3.4), squeeze=False)
    return fig, list(zip(axes[0], tasks))


def _finish_panel(ax, report: dict[str, Any], task: str) -> None:
    """Headline metric in percent from 0, task title, legend."""
    ax.set_ylabel(f"{report['headline_metrics'][task]} (%)", fontsize=8)
    ax.set_title(task, fontsize=10)
    ax.set_ylim(0, max(ax.get_ylim()[1], 10))  # percent: 0 at the bottom, 0 % visible
    ax.legend(fontsize=7)


def eval_figures(report: dict[str, Any]) -> dict[str, bytes]:
    """File stem -> PNG: accuracy vs K per task, vs model size, clean vs dirty."""
    from crawl2gpt.reports.figures import figure_png
    per_task = headline_rows(report)
    tasks = sorted(per_task)
    if not tasks:
        return {}
    figures = {}
    fig, panels = _task_panels(tasks)
    for ax, task in panels:
        ks = sorted({k for by_k in per_task[task].values() for k in by_k}, key=k_order)
        for model in [m["label"] for m in report["models"] if m["label"] in per_task[task]]:
            by_k = per_task[task][model]
            xs = [i for i, k in enumerate(ks) if k in by_k]
            ax.errorbar(xs, [100 * by_k[ks[i]]["value"] for i in xs],
                        yerr=[100 * by_k[ks[i]]["ci95"] for i in xs], marker="o", capsize=3,
                        label=model)
        ax.set_xticks(range(len(ks)), ks)
        ax.set_xlabel("examples in context (K)", fontsize=8)
        _finish_panel(ax, report, task)
    fig.tight_layout()
    figures["accuracy_vs_k"] = figure_png(fig)
    if len(report["models"]) > 1:
        figures["accuracy_vs_size"] = _size_figure(report, per_task, tasks)
    dirty = [r for r in report["results"] if r["subset"] == "dirty"]
    if any(r["subset"] == "clean" for r in report["results"]):
        figures["clean_dirty"] = _clean_dirty_figure(report, tasks, bool(dirty))
    return figures


def _size_figure(report, per_task, tasks) -> bytes:
    from crawl2gpt.reports.figures import figure_png
    params = {m["label"]: m["params"] for m in report["models"]}
    fig, panels = _task_panels(tasks)
    for ax, task in panels:
        ks = sorted({k for by_k in per_task[task].values() for k in by_k}, key=k_order)
        for k in ks:
            points = sorted((params[m], 100 * by_k[k]["value"])
                            for m, by_k in per_task[task].items() if k in by_k)
            ax.plot([p for p, _ in points], [v for _, v in points], marker="o", label=f"K={k}")
        ax.set_xscale("log")
        ax.set_xlabel("parameters", fontsize=8)
        _finish_panel(ax, report, task)
    fig.tight_layout()
    return figure_png(fig)


def _clean_dirty_figure(report, tasks, has_dirty: bool) -> bytes:
    """Grouped bars per (model, K): all / clean / dirty, one panel per task."""
    from crawl2gpt.reports.figures import figure_png, np
    subsets = SUBSETS if has_dirty else SUBSETS[:2]
    by_subset = {s: headline_rows(report, s) for s in subsets}
    fig, panels = _task_panels(tasks)
    for ax, task in panels:
        order = {m["label"]: i for i, m in enumerate(report["models"])}
        groups = sorted({(m, k) for m, by_k in by_subset["all"].get(task, {}).items()
                         for k in by_k}, key=lambda g: (order[g[0]], k_order(g[1])))
        x = np.arange(len(groups))
        width = 0.8 / len(subsets)
        for i, subset in enumerate(subsets):
            rows = by_subset[subset].get(task, {})
            values = [100 * rows.get(m, {}).get(k, {}).get("value", np.nan) for m, k in groups]
            ax.bar(x + (i - (len(subsets) - 1) / 2) * width, values, width, label=subset)
        single = len(report["models"]) == 1
        ax.set_xticks(x, [f"K={k}" if single else f"{m}\nK={k}" for m, k in groups],
                      fontsize=7)
        _finish_panel(ax, report, task)
    fig.tight_layout()
    return figure_png(fig)


def _cell(row: dict | None) -> str:
    if row is None:
        return "–"
    return f"{100 * row['value']:.1f} ± {100 * row['ci95']:.1f} (n={row['n']})"


def render_eval_page(report: dict[str, Any], figures: dict[str, bytes]) -> str:
    cells: dict[tuple, dict[str, dict]] = {}
    for r in report["results"]:
        cells.setdefault((r["task"], r["model"], r["shots"], r["metric"]), {})[r["subset"]] = r
    order = {m["label"]: i for i, m in enumerate(report["models"])}
    keys = sorted(cells, key=lambda c: (c[0], order[c[1]], k_order(c[2]), c[3]))
    headline = report["headline_metrics"]
    rows = [[task, model, k, metric + (" *" if headline.get(task) == metric else "")]
            + [_cell(cells[(task, model, k, metric)].get(s)) for s in SUBSETS]
            for task, model, k, metric in keys]
    models = table(["model", "results folder", "parameters"],
                   [[m["label"], m["results"], m["params"]] for m in report["models"]], left=2)
    body = "".join([
        "<h2>Models</h2>", models,
        "<h2>Accuracy against K</h2><p>The headline metric of each task against the number of"
        " examples in the context (as GPT-3's figure 1.2), 95 % confidence intervals.</p>",
        image(figures.get("accuracy_vs_k"), "accuracy against K"),
        ("<h2>Accuracy against model size</h2>"
         + image(figures.get("accuracy_vs_size"), "accuracy against model size")
         if "accuracy_vs_size" in figures else ""),
        ("<h2>Clean and dirty subsets</h2><p>Examples whose text was found in the training"
         " data (dirty) against the rest (clean), from the build's contamination lists.</p>"
         + image(figures.get("clean_dirty"), "clean and dirty subsets")
         if "clean_dirty" in figures else ""),
        "<h2>All results</h2><p>Value ± 95 % CI half-width in %, * = headline metric.</p>",
        table(["task", "model", "K", "metric", "all", "clean", "dirty"], rows, left=4)])
    names = ", ".join(m["label"] for m in report["models"])
    return report_page("Evaluation report", f"{len(report['models'])} model(s): {names}", body)


def write_eval_report(results_dirs: list[str], out_dir: str) -> str:
    """Write report.html, report.json and figures/*.png under `out_dir`; returns the HTML path."""
    report = collect_eval_report(results_dirs)
    figures = eval_figures(report)
    return write_report_files(out_dir, report, figures, render_eval_page(report, figures))
