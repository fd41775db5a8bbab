"""`crawl2gpt inspect build` and `crawl2gpt inspect doc`: a build's report and one document's fate."""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.inspect.build_files import Build, InspectError


def cmd_inspect_build(args: argparse.Namespace) -> int:
    from pipeline.inspect.report import write_build_report
    try:
        path = write_build_report(args.build_dir, args.out)
    except InspectError as e:
        print(f"crawl2gpt inspect build: {e}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0


def cmd_inspect_doc(args: argparse.Namespace) -> int:
    from pipeline.inspect.lookup import describe, trace_document
    try:
        build = Build.open(args.build)
        fate = trace_document(build, args.doc_id)
    except InspectError as e:
        print(f"crawl2gpt inspect doc: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(fate.to_dict(), indent=1, default=str))
    else:
        print("\n".join(describe(build, fate)))
    return 0 if fate.status != "not_found" else 1


def add_commands(sub: argparse._SubParsersAction) -> None:
    inspect = sub.add_parser("inspect", help="reports on a finished build")
    kinds = inspect.add_subparsers(dest="inspect_command", required=True)
    build = kinds.add_parser("build", help="HTML report (+ figures, report.json) of a build")
    build.add_argument("build_dir", help="the build's output folder (holds manifest.json)")
    build.add_argument("--out", required=True, help="folder for report.html and the rest")
    build.set_defaults(func=cmd_inspect_build)
    doc = kinds.add_parser("doc", help="one document's fate through every stage")
    doc.add_argument("doc_id", help="the document id (32 hex chars)")
    doc.add_argument("--build", required=True, help="the build's output folder")
    doc.add_argument("--json", action="store_true", help="print the fate as JSON")
    doc.set_defaults(func=cmd_inspect_doc)
