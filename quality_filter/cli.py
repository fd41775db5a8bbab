"""The quality_filter package's commands: `crawl2gpt takedown` (and `train-quality`)."""

from __future__ import annotations

import argparse


def cmd_takedown(args: argparse.Namespace) -> int:
    from quality_filter.takedown import takedown
    result = takedown(args.build, urls_file=args.urls, domains_file=args.domains)
    for source, n in sorted(result.removed.items()):
        print(f"{source}: {n:,} documents removed")
    print(f"manifest: {result.manifest_path} ({len(result.files_written)} files rewritten)")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    takedown = sub.add_parser("takedown", help="remove URLs or domains from an existing build "
                              "(shards and manifest rewritten, no rebuild)")
    takedown.add_argument("--build", required=True, help="the build's output folder")
    takedown.add_argument("--urls", help="file of URL patterns, one per line")
    takedown.add_argument("--domains", help="file of domains, one per line (subdomains too)")
    takedown.set_defaults(func=cmd_takedown)
