"""`crawl2gpt inspect train`: a training run's report from its `metrics.jsonl`.

The trainer logs two kinds of record (`training/trainer.py`): a training record every
`log_every` steps (loss, lr, batch_tokens, tokens_per_s, mfu) and an evaluation record every
`eval.every_steps` steps (`val_loss/<source>`). `report.json` holds them as series against
tokens seen; the figures and the page only draw those series. Also home of the small page and
file helpers the training and evaluation reports share.
"""

from __future__ import annotations

import json
import math
import os
import re
from html import escape
from pathlib import Path
from typing import Any

from crawl2gpt.reports.errors import InspectError
from crawl2gpt.reports.html_page import PAGE, image, table
from crawl2gpt.reports.report import write_report_files

TRAIN_KEYS = ("step", "tokens", "loss", "lr", "batch_tokens", "tokens_per_s", "mfu")
VAL_PREFIX = "val_loss/"
# The build page's stylesheet, so all reports look alike (PAGE is a format string: {{ }}).
STYLE = re.search(r"<style>.*?</style>", PAGE, re.S).group(0).replace("{{", "{").replace(
    "}}", "}")


def report_page(title: str, subtitle: str, body: str) -> str:
    """A self-contained page (no script, figures inline) in the build report's style."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f"<title>crawl2gpt {escape(title.lower())}</title>\n{STYLE}</head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n<p class=\"muted\">{escape(subtitle)}</p>\n{body}\n"
            f"</body></html>\n")


def read_metrics(run_dir: str) -> list[dict[str, Any]]:
    """The run's records in file order; a broken line is an error naming file and line."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise InspectError(f"{path}: not found (is {run_dir} a training run folder?)")
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise InspectError(f"{path}:{number}: not JSON: {e}") from None
            if not isinstance(record, dict) or "step" not in record or "tokens" not in record:
                raise InspectError(f"{path}:{number}: a record needs `step` and `tokens`")
            records.append(record)
    return records


def collect_train_report(run_dir: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Training and validation series against tokens; a resumed run's repeats keep the last."""
    train: dict[int, dict] = {}
    validation: dict[str, dict[int, dict]] = {}
    for r in records:
        if "loss" in r:
            train[r["step"]] = {k: r.get(k) for k in TRAIN_KEYS}
        for key, value in r.items():
            if key.startswith(VAL_PREFIX):
                validation.setdefault(key[len(VAL_PREFIX):], {})[r["step"]] = {
                    "step": r["step"], "tokens": r["tokens"], "loss": value}
    series = [train[s] for s in sorted(train)]
    last = series[-1] if series else {}
    return {
        "run": os.path.abspath(run_dir),
        "train": series,
        "validation": {name: [v[s] for s in sorted(v)] for name, v in sorted(validation.items())},
        "final": {"step": last.get("step"), "tokens": last.get("tokens"),
                  "loss": last.get("loss"),
                  "validation": {name: v[max(v)]["loss"] for name, v in validation.items()}},
    }


def line_panels(panels: list[tuple[str, list[tuple[str, list, list]]]], xlabel: str,
                marker_from: int | None = None, from_zero: bool = True) -> bytes:
    """Side-by-side panels of labelled lines; lines from index `marker_from` get dots (sparse
    points such as validation evaluations); the y axis starts at 0 unless not `from_zero`."""
    from crawl2gpt.reports.figures import figure_png, plt
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.4), squeeze=False)
    for ax, (title, lines) in zip(axes[0], panels):
        for i, (label, xs, ys) in enumerate(lines):
            dotted = marker_from is not None and i >= marker_from
            ax.plot(xs, ys, marker="o" if dotted else None, markersize=3, label=label)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=8)
        if from_zero:
            ax.set_ylim(0, max(ax.get_ylim()[1], 1e-12))
        if len(lines) > 1:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return figure_png(fig)


def train_figures(report: dict[str, Any]) -> dict[str, bytes]:
    """File stem -> PNG: loss, learning rate, batch size, throughput (and MFU) by tokens."""
    train, val = report["train"], report["validation"]
    if not train:
        return {}
    tokens = [r["tokens"] for r in train]
    loss_lines = [("train", tokens, [r["loss"] for r in train])]
    loss_lines += [(f"validation: {name}", [v["tokens"] for v in rows],
                    [v["loss"] for v in rows]) for name, rows in val.items()]
    figures = {"loss": line_panels([("loss", loss_lines)], "tokens", marker_from=1,
                                    from_zero=False)}
    schedule = [("learning rate", [("lr", tokens, [r["lr"] for r in train])]),
                ("batch size (tokens)", [("batch", tokens, [r["batch_tokens"] for r in train])])]
    figures["schedule"] = line_panels(schedule, "tokens")
    speed = [("tokens/s", [("tokens/s", tokens, [r["tokens_per_s"] for r in train])])]
    if any(r["mfu"] is not None for r in train):
        mfu = [(t, 100 * r["mfu"]) for t, r in zip(tokens, train) if r["mfu"] is not None]
        speed.append(("MFU (%)", [("MFU", [t for t, _ in mfu], [m for _, m in mfu])]))
    figures["throughput"] = line_panels(speed, "tokens")
    return figures


def _number(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, fmt)


def render_train_page(report: dict[str, Any], figures: dict[str, bytes]) -> str:
    final, train = report["final"], report["train"]
    summary = table(["", "value"], [
        ["steps", final["step"] or 0], ["tokens", final["tokens"] or 0],
        ["final training loss", _number(final["loss"], ".4f")]]
        + [[f"final validation loss: {name}", _number(loss, ".4f")]
           for name, loss in sorted(final["validation"].items())])
    rows = [[r["step"], r["tokens"], _number(r["loss"], ".4f"), _number(r["lr"], ".3e"),
             r["batch_tokens"], _number(r["tokens_per_s"], ",.0f"),
             _number(r["mfu"] and 100 * r["mfu"], ".2f")] for r in train]
    body = "".join([
        "<h2>Summary</h2>", summary,
        "<h2>Loss</h2><p>Training loss (mean over the logged step's batch) and validation loss"
        " per source (held-out sequences), against tokens seen.</p>",
        image(figures.get("loss"), "loss"),
        "<h2>Learning rate and batch size</h2>", image(figures.get("schedule"), "schedule"),
        "<h2>Throughput</h2><p>Tokens per second over each logging interval; MFU only on a"
        " GPU of known peak.</p>", image(figures.get("throughput"), "throughput"),
        "<h2>Logged steps</h2>",
        table(["step", "tokens", "loss", "lr", "batch tokens", "tokens/s", "MFU %"], rows,
              left=0)])
    return report_page("Training report", report["run"], body)


def write_train_report(run_dir: str, out_dir: str) -> str:
    """Write report.html, report.json and figures/*.png under `out_dir`; returns the HTML path."""
    report = collect_train_report(run_dir, read_metrics(run_dir))
    if not report["train"]:
        raise InspectError(f"{Path(run_dir) / 'metrics.jsonl'}: no training record")
    figures = train_figures(report)
    return write_report_files(out_dir, report, figures, render_train_page(report, figures))
