"""The quality_filter package's commands: `train-quality`, `calibrate-quality`, `takedown`."""

from __future__ import annotations

import argparse
import json
import posixpath
import sys
from typing import Iterator

from crawl2gpt.core.config import section_from_dict
from crawl2gpt.core.manifest import MANIFEST_NAME, iter_build_documents, load_manifest
from crawl2gpt.core.records import Document


def build_documents(build_dir: str) -> tuple[list[Document], dict[str, str], dict]:
    """Every kept document of a build, the role of each source, and the build's config."""
    manifest_path = posixpath.join(build_dir, MANIFEST_NAME)
    manifest = load_manifest(manifest_path)
    roles = {name: src["role"] for name, src in manifest["sources"].items()}
    return list(iter_build_documents(manifest_path)), roles, manifest["config"]


def _by_role(docs: list[Document], roles: dict[str, str], role: str) -> Iterator[Document]:
    return (d for d in docs if roles[d.source] == role)


def cmd_train_quality(args: argparse.Namespace) -> int:
    from crawl2gpt.quality_filter.classifier import evaluation_path, load_classifier
    from crawl2gpt.quality_filter.config import QualityConfig
    from crawl2gpt.quality_filter.training import train_quality_from_documents
    docs, roles, build_config = build_documents(args.build)
    config = section_from_dict(QualityConfig, build_config.get("quality_filter", {}),
                               "quality_filter", args.overrides)
    model_path = train_quality_from_documents(docs, config, args.out, roles)
    with open(evaluation_path(model_path)) as f:
        held_out = json.load(f)
    print(f"model: {model_path}")
    print("\n".join(heldout_lines(held_out)))
    print_calibration(load_classifier(model_path), docs, roles)
    return 0


def _auc(summary: dict) -> str:
    if "roc_auc" not in summary:
        return f"no AUC ({summary['n_reference']} reference / {summary['n_raw']} raw)"
    low, high = summary["roc_auc_bootstrap_95"]
    return (f"AUC {summary['roc_auc']:.3f} (bootstrap 95% {low:.3f}-{high:.3f}), "
            f"{summary['n_reference']} reference / {summary['n_raw']} raw")


def heldout_lines(report: dict) -> list[str]:
    """The held-out report in a few lines: overall, per source, document-level."""
    by = report["heldout_by"]
    units = ", ".join(f"{c} by {by[c]['unit']} ({by[c]['groups']} units)"
                      for c in ("reference", "raw"))
    lines = [f"held out ({units}): {_auc(report)}"]
    for name, row in report["by_source"].items():
        other = "raw" if row["role"] == "reference" else "reference"
        lines.append(f"  {name} ({row['role']}) against all held-out {other}: {_auc(row)}")
    if "document_level" in report:
        lines.append(f"held out by document (leaks a file's style into training): "
                     f"{_auc(report['document_level'])}")
    if "cross_validation" in report:
        cv = report["cross_validation"]
        lines.append(f"{cv['folds']}-fold cross-validation: AUC {cv['roc_auc']:.3f}")
    return lines


def print_calibration(classifier, docs: list[Document], roles: dict[str, str]) -> None:
    from crawl2gpt.quality_filter.selection import format_calibration_table
    from crawl2gpt.quality_filter.training import calibrate
    rows = calibrate(classifier, list(_by_role(docs, roles, "reference")),
                     list(_by_role(docs, roles, "raw")))
    print("what each setting keeps (pick alpha so raw's kept scores look like the reference):")
    print(format_calibration_table(rows))


def cmd_calibrate_quality(args: argparse.Namespace) -> int:
    from crawl2gpt.quality_filter.classifier import load_classifier
    docs, roles, _ = build_documents(args.build)
    print_calibration(load_classifier(args.model), docs, roles)
    return 0


def cmd_takedown(args: argparse.Namespace) -> int:
    from crawl2gpt.quality_filter.takedown import takedown
    try:
        result = takedown(args.build, urls_file=args.urls, domains_file=args.domains)
    except (OSError, ValueError) as e:    # no build, a bad manifest or a bad pattern file
        print(f"crawl2gpt takedown: {e}", file=sys.stderr)
        return 2
    for source, n in sorted(result.removed.items()):
        print(f"{source}: {n:,} documents removed")
    for source, urls in sorted(result.unparsed.items()):
        print(f"crawl2gpt takedown: warning: {source}: {len(urls):,} document URLs could not be "
              f"parsed and were kept, e.g. {urls[0]!r}", file=sys.stderr)
    print(f"manifest: {result.manifest_path} ({len(result.files_written)} files rewritten)")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train-quality", help="train GPT-3's quality classifier on a build "
                           "(reference sources = positives, raw crawl = negatives)")
    train.add_argument("--build", required=True, help="the build's output folder")
    train.add_argument("--out", required=True, help="folder for the model and its evaluation")
    train.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE", help="e.g. --set backend=hashing-lr "
                       "--set training.cv_folds=5")
    train.set_defaults(func=cmd_train_quality)
    calib = sub.add_parser("calibrate-quality", help="what each alpha/threshold keeps of a "
                           "build's reference and raw documents")
    calib.add_argument("--build", required=True)
    calib.add_argument("--model", required=True)
    calib.set_defaults(func=cmd_calibrate_quality)
    takedown = sub.add_parser("takedown", help="remove URLs or domains from an existing build "
                              "(shards and manifest rewritten, no rebuild)")
    takedown.add_argument("--build", required=True, help="the build's output folder")
    takedown.add_argument("--urls", help="file of URL patterns, one per line")
    takedown.add_argument("--domains", help="file of domains, one per line (subdomains too)")
    takedown.set_defaults(func=cmd_takedown)


