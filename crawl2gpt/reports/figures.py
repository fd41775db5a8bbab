"""The build report's figures, drawn with matplotlib (Agg: no display, no network) as PNG bytes.

Each function takes a section of the report's numbers (`report.collect_report`) and draws
only those numbers, so figure and `report.json` cannot disagree.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported
import matplotlib.pyplot as plt
import numpy as np

DPI = 80


def figure_png(fig) -> bytes:
    """The figure as PNG bytes (then closed): every report embeds its figures inline."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def funnel_figure(funnel: dict[str, dict[str, Any]]) -> bytes:
    """Documents left after each step, one panel per source."""
    names = sorted(funnel)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names):
        steps = funnel[name]["steps"] + [{"step": "kept", "documents": funnel[name]["kept"]}]
        labels = [s["step"] for s in steps]
        counts = [s["documents"] for s in steps]
        y = np.arange(len(steps))[::-1]
        ax.barh(y, counts, color="#4c78a8")
        ax.set_yticks(y, labels, fontsize=8)
        for yi, count in zip(y, counts):
            ax.text(count, yi, f" {count:,}", va="center", fontsize=7)
        ax.set_xlim(0, max(counts + [1]) * 1.25)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("documents", fontsize=8)
    fig.tight_layout()
    return figure_png(fig)


def quality_figure(quality: dict[str, Any]) -> bytes:
    """Score histograms of kept and removed documents per source, the selection rule marked."""
    names = sorted(quality["sources"])
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        for kind, color in (("kept", "#4c78a8"), ("removed", "#e45756")):
            hist = quality["sources"][name][kind]
            ax.stairs(hist["counts"], hist["bins"], fill=True, alpha=0.6, color=color,
                      label=f"{kind} ({hist['n']:,})")
        # Reference sources are scored but pass the filter whatever their score.
        marker = quality["marker"] if quality["sources"][name]["filtered"] else None
        if marker and marker["kind"] in ("cutoff", "threshold"):
            ax.axvline(marker["value"], color="black", linestyle="--",
                       label=f"{marker['kind']} {marker['value']:.4g}")
        elif marker and marker["kind"] == "alpha":
            scores = np.linspace(hist["bins"][0], hist["bins"][-1], 101)
            twin = ax.twinx()
            twin.plot(scores, (2.0 - scores) ** -marker["value"], color="black", linestyle="--")
            twin.set_ylabel(f"P(keep), Pareto alpha={marker['value']:g}", fontsize=8)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("quality score", fontsize=8)
        ax.set_ylabel("documents", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return figure_png(fig)


def lengths_figure(lengths: dict[str, dict[str, Any]], unit: str) -> bytes:
    """Histograms of kept documents' lengths per source (log-spaced bins)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    for name in sorted(lengths):
        hist = lengths[name]
        ax.stairs(hist["counts"], hist["bins"], linewidth=1.5,
                  label=f"{name} (median {hist['median']:,.0f})")
    ax.set_xscale("log")
    ax.set_xlabel(f"document length ({unit})", fontsize=8)
    ax.set_ylabel("documents", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return figure_png(fig)


def build_figures(report: dict[str, Any]) -> dict[str, bytes]:
    """File stem -> PNG bytes for every figure the report's numbers allow."""
    figures = {"funnel": funnel_figure(report["funnel"])}
    if report["quality"]["sources"]:
        figures["quality_scores"] = quality_figure(report["quality"])
    for unit, stem in (("characters", "document_lengths"), ("tokens", "token_lengths")):
        if report["lengths"][unit]:
            figures[stem] = lengths_figure(report["lengths"][unit], unit)
    return figures
