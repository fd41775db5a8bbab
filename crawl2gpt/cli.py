"""The `crawl2gpt` command: builds, inspection, training, evaluation, experiments and the demo.

Application flags are parsed here; everything this parser does not know is passed to Beam's
`PipelineOptions` untouched (`--runner`, `--direct_num_workers`, Dataflow/Flink/Spark flags).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time

from crawl2gpt.pipeline.config import ConfigError, load_build_config

# Packages that add their own subcommands (each has `add_commands(subparsers)`).
COMMAND_MODULES = ["crawl2gpt.mixing.cli", "crawl2gpt.quality_filter.cli", "crawl2gpt.inspect_cli",
                   "crawl2gpt.evaluation.cli", "crawl2gpt.experiments.cli"]
# Subcommands with a parser of their own: `crawl2gpt NAME ...` calls `function(argv)`.
DELEGATED = {
    "train": ("crawl2gpt.training.train:main", "train a GPT-3-shaped model on a build's shards"),
    "sample": ("crawl2gpt.training.sample:sample_main", "generate text from a training checkpoint"),
    "export": ("crawl2gpt.training.export:main", "write a checkpoint as a Hugging Face model"),
    "plan": ("crawl2gpt.training.parallel.plan:main",
             "memory per GPU of a dp x tp x pp training layout"),
}


def _add_build_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", help="output folder (overrides output_dir in the config)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config value, e.g. "
                        "--set shards.num_buckets=8 (repeatable)")


def summary_lines(manifest: dict, metrics: dict[str, int], manifest_path: str) -> list[str]:
    """A short human summary of a finished build."""
    lines = [f"{'source':<14} {'read':>9} {'bad-in':>7} " + " ".join(
        f"{s['stage'][:12]:>12}" for s in next(iter(manifest["sources"].values()))["stages"])
        + f" {'kept':>9} {'MB':>9} {'shards':>6}"]
    for name, src in manifest["sources"].items():
        lines.append(f"{name:<14} {src['documents_read']:>9,} {src['rejected_input_records']:>7,} "
                     + " ".join(f"{-s['removed']:>12,}" for s in src["stages"])
                     + f" {src['documents']:>9,} {src['text_bytes'] / 1e6:>9,.2f}"
                     f" {len(src['shards']):>6}")
    if "tokens" in manifest:
        lines.append(manifest["tokens"]["mixture"]["table"])
    if metrics:
        lines.append("counters: " + ", ".join(f"{k}={v:,}" for k, v in metrics.items()))
    lines.append(f"manifest: {manifest_path}")
    return lines


def _add_runner_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runner", default=None, help="a Beam runner name, or `dask` "
                        "(with --dask-scheduler or --dask-workers)")
    parser.add_argument("--dask-scheduler", metavar="ADDR",
                        help="address of an existing Dask scheduler (tcp://host:8786)")
    parser.add_argument("--dask-workers", type=int, metavar="N",
                        help="start a local Dask cluster of N worker processes for this run")
    parser.add_argument("--dask-partition-size", type=int, metavar="N",
                        help="elements per Dask bag partition")
    parser.add_argument("--dask-worker-memory", metavar="SIZE",
                        help="memory budget per worker of the local cluster, e.g. 4GB (Dask "
                             "spills to disk from 60%%; docs/scaling.md)")


def run_with_runner(args: argparse.Namespace, config, output: str, beam_args: list[str]):
    """Run the build on the runner the flags name (Dask clusters are set up and torn down)."""
    from crawl2gpt.pipeline.build import run_build
    options = {"resume": args.resume, "against": args.against}
    if args.runner != "dask":
        runner = ["--runner", args.runner] if args.runner else []
        return run_build(config, output, runner + beam_args, **options)
    from crawl2gpt.pipeline.dask_cluster import dask_runner
    with dask_runner(args.dask_scheduler, args.dask_workers, args.dask_partition_size,
                     args.dask_worker_memory) as extra:
        return run_build(config, output, extra + beam_args, **options)


def cmd_build(args: argparse.Namespace, beam_args: list[str]) -> int:
    from crawl2gpt.pipeline.build import InputError
    from crawl2gpt.pipeline.checkpoints import ResumeError
    from crawl2gpt.pipeline.dask_cluster import DaskClusterError
    from crawl2gpt.pipeline.incremental import PreviousBuildError
    config = load_build_config(args.config, args.overrides)
    output = args.output or config.output_dir
    start = time.monotonic()
    try:
        result = run_with_runner(args, config, output, beam_args)
    except (InputError, DaskClusterError, ResumeError, PreviousBuildError) as e:
        print(f"crawl2gpt build: {e}", file=sys.stderr)
        return 2
    for line in summary_lines(result.manifest, result.metrics, result.manifest_path):
        print(line)
    print(f"built in {time.monotonic() - start:.1f} s")
    return 0


def cmd_demo(args: argparse.Namespace, beam_args: list[str]) -> int:
    from crawl2gpt.demo.run import run_demo
    start = time.monotonic()
    demo = run_demo(args.output, args.overrides, beam_args, train=not args.no_train)
    generated = sum(n for part in demo.corpus["documents"].values() for n in part.values())
    print(f"demo corpus: {os.path.join(args.output, 'corpus')} ({generated:,} documents)")
    print(f"tokenizer: {demo.tokenizer_dir}")
    for line in summary_lines(demo.build.manifest, demo.build.metrics, demo.build.manifest_path):
        print(line)
    for kind, path in demo.reports.items():
        print(f"{kind} report: {path}")
    print(f"demo finished in {time.monotonic() - start:.1f} s; outputs under {args.output}")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crawl2gpt", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="run the corpus-build pipeline (Beam)")
    build.add_argument("--config", required=True, help="build config (TOML)")
    _add_build_args(build)
    build.add_argument("--resume", action="store_true", help="reuse the per-file checkpoints "
                       "of a killed build of the same output folder (docs/incremental.md)")
    build.add_argument("--against", action="append", default=[], metavar="PREVIOUS_BUILD",
                       help="remove documents already in this earlier build (its index) and "
                       "compose its shards with this build's (repeatable; docs/incremental.md)")
    _add_runner_args(build)
    build.set_defaults(func=cmd_build)
    demo = sub.add_parser("demo", help="generate the demo corpus, build it, train and evaluate "
                          "a small model on it and write the three reports")
    demo.add_argument("--output", default="demo-out", help="folder for corpus and build")
    demo.add_argument("--set", dest="overrides", action="append", default=[],
                      metavar="KEY=VALUE")
    demo.add_argument("--no-train", action="store_true",
                      help="stop after the build (no training, evaluation or reports)")
    demo.set_defaults(func=cmd_demo)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub)
    for name, (_, help_text) in DELEGATED.items():
        sub.add_parser(name, help=f"{help_text} (crawl2gpt {name} --help)", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Beam warns at import about Google Cloud client libraries that local builds do not use.
    logging.getLogger().addFilter(lambda record: "apitools not found" not in record.getMessage())
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in DELEGATED:
        module, function = DELEGATED[argv[0]][0].split(":")
        return getattr(importlib.import_module(module), function)(argv[1:])
    args, beam_args = make_parser().parse_known_args(argv)
    beam_args = [a for a in beam_args if a != "--"]
    try:
        if args.command in ("build", "demo", "ablate"):  # these run Beam builds
            return args.func(args, beam_args)
        if beam_args:
            raise SystemExit(f"crawl2gpt {args.command}: unknown arguments {beam_args}")
        return args.func(args)
    except ConfigError as e:
        print(f"crawl2gpt {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
