"""`crawl2gpt scaling` and `crawl2gpt ablate`: experiments on builds, results as JSON + report.

    crawl2gpt scaling --data out/manifest.json --sizes 1x16,2x32,2x48,3x64 --predict 4x96 \
        --tokens 1000000 --out results/scaling
    crawl2gpt ablate filter-on.toml filter-off.toml --seeds 2 --tokens 500000 \
        --reference 'heldout/*.txt' --tasks copa,piqa --shots 0 --limit 100 --out results/abl

Both train on CPU in minutes at `LxD` shapes and unchanged at named sizes on a GPU
(`--device cuda --model gpt3-small --set optim.batch_tokens=...`). `--set KEY=VALUE` passes
training overrides (as `crawl2gpt train --set`).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys


def _add_training_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokens", type=int, required=True, help="training tokens per run")
    parser.add_argument("--out", required=True, help="results folder (JSON, runs, report/)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, auto")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (tiny models run fastest on one)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="training config override (repeatable)")


def add_commands(sub: argparse._SubParsersAction) -> None:
    scaling = sub.add_parser("scaling", help="train model sizes on one build, fit power laws, "
                             "predict and check the next size")
    scaling.add_argument("--data", required=True, help="the build's manifest.json")
    scaling.add_argument("--sizes", required=True,
                         help="comma-separated shapes to fit: size names or LAYERSxWIDTH")
    scaling.add_argument("--predict", help="the next shape: predicted from the fit, then "
                         "trained to check the prediction")
    scaling.add_argument("--seed", type=int, default=1234)
    _add_training_args(scaling)
    scaling.set_defaults(func=cmd_scaling)
    ablate = sub.add_parser("ablate", help="build each configuration, train the same model on "
                            "each, compare against the seed-to-seed noise")
    ablate.add_argument("configs", nargs="+", metavar="CONFIG",
                        help="build configs (TOML) or finished builds' manifest.json; the "
                        "first is the baseline")
    ablate.add_argument("--model", default="tiny", help="shape: a size name or LAYERSxWIDTH")
    ablate.add_argument("--seeds", type=int, default=2, help="seeds per configuration (>= 2)")
    ablate.add_argument("--reference", action="append", default=[], metavar="PATH",
                        help="held-out text no build contains (.txt, or .jsonl[.gz] with "
                        "`text`; globs; repeatable)")
    ablate.add_argument("--reference-tokens", type=int, default=65536,
                        help="reference tokens scored per model")
    ablate.add_argument("--tasks", default="", help="comma-separated evaluation tasks")
    ablate.add_argument("--shots", default="0", help="comma-separated K values")
    ablate.add_argument("--limit", type=int, help="first N examples per task")
    ablate.add_argument("--benchmarks", default="../shared/data/benchmarks",
                        help="benchmark files folder")
    ablate.add_argument("--build-set", dest="build_overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="build config override for every config")
    ablate.add_argument("--reuse-builds", action="store_true",
                        help="skip a build whose manifest.json already exists under --out")
    _add_training_args(ablate)
    ablate.set_defaults(func=cmd_ablate)


def _set_threads(threads: int) -> None:
    import torch
    torch.set_num_threads(threads)


def cmd_scaling(args: argparse.Namespace) -> int:
    from crawl2gpt.experiments.report import write_scaling_report
    from crawl2gpt.experiments.runs import parse_shape
    from crawl2gpt.experiments.scaling import run_scaling, summary_lines
    try:
        sizes = [parse_shape(s) for s in args.sizes.split(",") if s.strip()]
        next_size = parse_shape(args.predict) if args.predict else None
        if len(sizes) < 3:
            raise ValueError(f"--sizes: a fit with an error estimate needs at least 3 sizes, "
                             f"got {len(sizes)}")
        _set_threads(args.threads)
        result = run_scaling(args.data, sizes, next_size, args.tokens, args.out, args.seed,
                             args.device, args.overrides)
    except ValueError as e:  # also the trainer's DataError (a bad manifest or shard)
        print(f"crawl2gpt scaling: {e}", file=sys.stderr)
        return 2
    print("\n".join(summary_lines(result)))
    print(f"results: {os.path.join(args.out, 'scaling.json')}")
    print(f"report: {write_scaling_report(result, os.path.join(args.out, 'report'))}")
    return 0


def cmd_ablate(args: argparse.Namespace, beam_args: list[str]) -> int:
    from crawl2gpt.evaluation.prompts import parse_shots
    from crawl2gpt.evaluation.tasks import TaskError, select_tasks
    from crawl2gpt.experiments.ablate import (
        AblationError,
        prepare_builds,
        run_ablation,
        summary_lines,
    )
    from crawl2gpt.experiments.report import write_ablation_report
    from crawl2gpt.experiments.runs import parse_shape
    try:
        shape = parse_shape(args.model)
        tasks = select_tasks([t.strip() for t in args.tasks.split(",") if t.strip()]) \
            if args.tasks else []
        shots = parse_shots(args.shots)
        if args.seeds < 2:
            raise AblationError("--seeds: the seed-to-seed noise needs at least 2")
        if len(args.configs) < 2:
            raise AblationError("give at least two configurations to compare")
        missing = [p for p in args.reference if not glob.glob(p, recursive=True)]
        if missing:  # before any build starts
            raise AblationError(f"--reference {missing[0]}: no such file")
        _set_threads(args.threads)
        builds = prepare_builds(args.configs, args.out, args.build_overrides, beam_args,
                                args.reuse_builds)
        result = run_ablation(builds, args.out, shape, args.tokens,
                              list(range(1, args.seeds + 1)), args.reference,
                              args.reference_tokens, tasks, shots, args.benchmarks, args.limit,
                              args.device, args.overrides)
    except (AblationError, TaskError, ValueError) as e:
        print(f"crawl2gpt ablate: {e}", file=sys.stderr)
        return 2
    print("\n".join(summary_lines(result)))
    print(f"results: {os.path.join(args.out, 'ablation.json')}")
    print(f"report: {write_ablation_report(result, os.path.join(args.out, 'report'))}")
    return 0
