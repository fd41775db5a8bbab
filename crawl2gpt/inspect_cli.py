"""`crawl2gpt inspect build|doc|train|eval|scaling|ablation`: a build's report, one document's
fate, a training run's report, an evaluation report and the reports of the experiments."""

from __future__ import annotations

import argparse
import json
import sys

from crawl2gpt.core.manifest import BuildError, OpenedBuild
from crawl2gpt.reports.errors import InspectError


def cmd_inspect_doc(args: argparse.Namespace) -> int:
    from crawl2gpt.reports.lookup import describe, trace_document
    try:
        build = OpenedBuild.open(args.build)
        fate = trace_document(build, args.doc_id)
    except (InspectError, BuildError) as e:
        print(f"crawl2gpt inspect doc: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(fate.to_dict(), indent=1, default=str))
    else:
        print("\n".join(describe(build, fate)))
    return 0 if fate.status != "not_found" else 1


def cmd_inspect_report(args: argparse.Namespace) -> int:
    """`inspect build|train|eval|scaling|ablation`: one report writer each, same errors."""
    if args.inspect_command == "build":
        from crawl2gpt.reports.report import write_build_report
        write, source = write_build_report, args.build_dir
    elif args.inspect_command == "scaling":
        from crawl2gpt.experiments.report import inspect_scaling
        write, source = inspect_scaling, args.results_dir
    elif args.inspect_command == "ablation":
        from crawl2gpt.experiments.report import inspect_ablation
        write, source = inspect_ablation, args.results_dir
    elif args.inspect_command == "train":
        from crawl2gpt.reports.train_report import write_train_report
        write, source = write_train_report, args.run_dir
    else:
        from crawl2gpt.reports.eval_report import write_eval_report
        write, source = write_eval_report, args.results_dirs
    try:
        path = write(source, args.out)
    except (InspectError, BuildError) as e:
        print(f"crawl2gpt inspect {args.inspect_command}: {e}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    inspect = sub.add_parser("inspect", help="reports on a build, one document's fate, a "
                             "training run, evaluation results and experiments")
    kinds = inspect.add_subparsers(dest="inspect_command", required=True)
    build = kinds.add_parser("build", help="HTML report (+ figures, report.json) of a build")
    build.add_argument("build_dir", help="the build's output folder (holds manifest.json)")
    build.add_argument("--out", required=True, help="folder for report.html and the rest")
    build.set_defaults(func=cmd_inspect_report)
    doc = kinds.add_parser("doc", help="one document's fate through every stage")
    doc.add_argument("doc_id", help="the document id (32 hex chars)")
    doc.add_argument("--build", required=True, help="the build's output folder")
    doc.add_argument("--json", action="store_true", help="print the fate as JSON")
    doc.set_defaults(func=cmd_inspect_doc)
    train = kinds.add_parser("train", help="HTML report of a training run (metrics.jsonl)")
    train.add_argument("run_dir", help="the run folder (holds metrics.jsonl)")
    train.add_argument("--out", required=True, help="folder for report.html and the rest")
    train.set_defaults(func=cmd_inspect_report)
    ev = kinds.add_parser("eval", help="HTML report of evaluation results (summary.json)")
    ev.add_argument("results_dirs", nargs="+", metavar="RESULTS_DIR",
                    help="`crawl2gpt eval` results folders, one per model")
    ev.add_argument("--out", required=True, help="folder for report.html and the rest")
    ev.set_defaults(func=cmd_inspect_report)
    for kind, command in (("scaling", "scaling"), ("ablation", "ablate")):
        experiment = kinds.add_parser(kind, help=f"HTML report of a `crawl2gpt {command}` run")
        experiment.add_argument("results_dir", help=f"its --out folder (holds {kind}.json)")
        experiment.add_argument("--out", required=True, help="folder for report.html and the rest")
        experiment.set_defaults(func=cmd_inspect_report)
