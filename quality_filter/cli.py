"""The quality_filter package's commands: `train-quality`, `calibrate-quality`, `takedown`."""

from __future__ import annotations

import argparse
import json
import posixpath
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
    print("held-out:", json.dumps({k: v for k, v in held_out.items()
                                   if isinstance(v, (int, float))}, sort_keys=True))
    print_calibration(load_classifier(model_path), docs, roles)
    return 0


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
    result = takedown(args.build, urls_file=args.urls, domains_file=args.domains)
    for source, n in sorted(result.removed.items()):
        print(f"{source}: {n:,} documents removed")
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


