"""`crawl2gpt eval`: in-context evaluation of a checkpoint or a local Hugging Face model.

    crawl2gpt eval --model runs/train/checkpoints --tasks copa,lambada_openai --shots 0,1,10 \
        --contamination builds/cc --out results/

Writes `<out>/examples/<task>/k<K>.jsonl` (one row per example), `<out>/summary.json` and
`<out>/accuracy_vs_k.csv`, and prints the summary table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_BENCHMARKS = "../shared/data/benchmarks"


def add_commands(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("eval", help="zero-, one- and few-shot evaluation of a model")
    ev.add_argument("--model", help="a checkpoint (step or run folder) or a Hugging Face "
                    "model folder (config.json)")
    ev.add_argument("--tasks", required=True, help="comma-separated task names, or `list`")
    ev.add_argument("--shots", default="0,1,10", help="comma-separated K values; `max` = as "
                    "many as fit in the context")
    ev.add_argument("--out", help="results folder")
    ev.add_argument("--contamination", metavar="BUILD_DIR",
                    help="a build folder with contamination/clean_dirty/<benchmark>.json")
    ev.add_argument("--benchmarks", default=DEFAULT_BENCHMARKS, help="benchmark files folder")
    ev.add_argument("--tokenizer", help="tokenizer folder (default: the checkpoint's, or the "
                    "HF folder's own)")
    ev.add_argument("--limit", type=int, help="evaluate only the first N examples per task")
    ev.add_argument("--seed", type=int, default=1234, help="seed of the conditioning draws")
    ev.add_argument("--decoding", choices=["greedy", "beam"], default="greedy",
                    help="free-form answers: greedy, or beam search (width 4, GNMT penalty)")
    ev.add_argument("--batch-size", type=int, default=8)
    ev.add_argument("--device", default="auto")
    ev.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from crawl2gpt.evaluation.harness import format_table, run_eval
    from crawl2gpt.evaluation.models import load_model
    from crawl2gpt.evaluation.prompts import parse_shots
    from crawl2gpt.evaluation.tasks import TaskError, all_tasks, select_tasks
    if args.tasks == "list":
        for name, task in sorted(all_tasks().items()):
            print(f"{name:<28} {task.format:<16} {task.metric:<12} {task.path}")
        return 0
    if not (args.model and args.out):
        raise SystemExit("crawl2gpt eval: --model and --out are required (except --tasks list)")
    try:
        tasks = select_tasks([t.strip() for t in args.tasks.split(",") if t.strip()])
        shots = parse_shots(args.shots)
    except (TaskError, ValueError) as e:
        raise SystemExit(f"crawl2gpt eval: {e}") from None
    device = args.device
    if device == "auto":
        from crawl2gpt.training.trainer import resolve_device
        device = str(resolve_device("auto"))
    model = load_model(args.model, args.tokenizer, device, args.batch_size)
    summary = run_eval(model, tasks, shots, args.benchmarks, args.out, args.seed, args.limit,
                       args.contamination, args.decoding, model_name=str(args.model))
    print(format_table(summary, {t.name: t.metric for t in tasks}))
    print(f"results: {Path(args.out) / 'summary.json'}")
    return 0
