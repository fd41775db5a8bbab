"""Multiple-choice scoring speed: our evaluation harness against lm-eval on the same model.

    .venv/bin/python bench/eval_throughput.py                      # PIQA, first 500, 0-shot
    .venv/bin/python bench/eval_throughput.py --model hf-model --limit 500 --batch-size 8

- **Model**: `--model`, a Hugging Face folder (e.g. `crawl2gpt export`'s), or by default a
  randomly initialised (seeded) all-dense project GPT, 4 layers, d_model 128, n_ctx 512, GPT-2's
  50,257 tokens, written by `training.export.export_hf` as GPT-2. Export writes no tokenizer,
  so a folder without one is given GPT-2's `tokenizer.json` (../shared/data/tokenizers/gpt2)
  through a temporary view of links; both sides then tokenize with that same AutoTokenizer.
- **Task**: PIQA as `evaluation/tasks/multiple_choice.toml` defines it, and the same file as an
  lm-eval YAML task (`dataset_path: json`, `data_files` = the local JSONL, `output_type:
  multiple_choice`) written to a temporary folder; fully offline (HF_HUB_OFFLINE,
  HF_DATASETS_OFFLINE, a temporary datasets cache). The first N examples, 0-shot, batch size B,
  fp32 on CPU, one torch thread unless `--threads` says otherwise.
- **Timing**: both in one process on the same model folder, interleaved (one warm-up run each,
  then 3 timed runs each; median), from the task file to the metrics: file read, prompts,
  tokenisation, batched scoring, metrics. Wall clock gives `ratio_vs_lm_eval`; CPU time of the
  process (all threads) is printed too, as it is less sensitive to other jobs on a shared
  machine. Model loading is outside the timing; lm-eval's bootstrap standard errors are off
  (`bootstrap_iters=0`).
- **Scoring rules**: lm-eval's `acc` (argmax of the summed log-likelihood) is our `acc`.
  lm-eval's `acc_norm` divides by the choice's length in characters, our `acc_char` by the
  length of the scored continuation (the target delimiter " " + the choice), so the YAML puts
  the delimiter into its choices (`target_delimiter: ""`, choices " " + c): both then score the
  same (context, continuation) strings and divide by the same lengths. Our per-token `acc_norm`
  has no lm-eval counterpart and is printed for ours only. Checked: identical per-example
  predictions under both coinciding rules, and every choice's log-likelihood within `--atol`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
GPT2_TOKENIZER = DATA / "tokenizers" / "gpt2" / "tokenizer.json"
EOT = "<|endoftext|>"

LM_EVAL_TASK = """\
task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data_file}
test_split: test
output_type: multiple_choice
doc_to_text: {doc_to_text}
doc_to_target: gold
doc_to_choice: !function choices.with_delimiter
target_delimiter: ""
metric_list:
  - metric: acc
  - metric: acc_norm
"""

CHOICES_PY = '''\
def with_delimiter(doc):
    """The choices as our harness scores them: target delimiter + choice."""
    return [{delimiter!r} + c for c in doc["choices"]]
'''


def make_random_model(out: Path, seed: int) -> Path:
    """A seeded random all-dense project GPT with GPT-2's vocabulary, exported as GPT-2."""
    import torch

    from crawl2gpt.training.config import model_config
    from crawl2gpt.training.export import export_hf
    from crawl2gpt.training.model import GPT
    torch.manual_seed(seed)
    config = model_config("tiny-dense", n_layer=4, d_model=128, n_head=4, n_ctx=512,
                          vocab_size=50257)
    return export_hf(GPT(config).eval(), out, eot_id=50256)


def with_tokenizer(model_dir: Path, tokenizer_json: Path, view: Path) -> Path:
    """`model_dir` if it has a tokenizer; else a view of links to it plus GPT-2's tokenizer."""
    if (model_dir / "tokenizer_config.json").is_file():
        return model_dir
    view.mkdir(parents=True)
    for f in model_dir.iterdir():
        (view / f.name).symlink_to(f.resolve())
    (view / "tokenizer.json").symlink_to(tokenizer_json.resolve())
    config = json.loads((model_dir / "config.json").read_text())
    n_ctx = config.get("n_positions") or config.get("max_position_embeddings", 2048)
    (view / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "GPT2TokenizerFast", "bos_token": EOT, "eos_token": EOT,
        "unk_token": EOT, "add_prefix_space": False, "model_max_length": n_ctx}))
    return view


def write_lm_eval_task(spec, data_file: Path, folder: Path) -> str:
    """An lm-eval YAML task for one of our multiple-choice tasks (0-shot, no description)."""
    if spec.format != "multiple_choice" or spec.answer_context or spec.description:
        raise SystemExit(f"task {spec.name!r}: only multiple-choice tasks without "
                         f"answer_context or description map onto this lm-eval task")
    name = f"{spec.name}_local"
    doc_to_text = json.dumps(spec.context_template.replace("{context}", "{{query}}"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(LM_EVAL_TASK.format(
        name=name, data_file=json.dumps(str(data_file.resolve())), doc_to_text=doc_to_text))
    (folder / "choices.py").write_text(CHOICES_PY.format(delimiter=spec.target_delimiter))
    return name


def run_ours(model, spec, benchmarks: Path, limit: int) -> list[dict]:
    from crawl2gpt.evaluation.harness import evaluate_task
    return evaluate_task(model, spec, benchmarks, k=0, limit=limit)


def run_lm_eval(lm, task_manager, name: str, limit: int) -> dict:
    import lm_eval
    return lm_eval.simple_evaluate(model=lm, tasks=[name], task_manager=task_manager,
                                   limit=limit, bootstrap_iters=0, log_samples=True)


def timed(fn) -> tuple[float, float, object]:
    """Wall and CPU seconds (all threads of the process) of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def compare(rows: list[dict], samples: list[dict], delimiter: str, atol: float) -> dict:
    """Per-example agreement under the coinciding rules, and the largest log-likelihood gap.

    lm-eval's predictions are its rules applied to its own log-likelihoods (np.argmax, first
    index on ties, as ours); its per-example `acc`/`acc_norm` must follow from them."""
    import numpy as np
    samples = sorted(samples, key=lambda s: s["doc_id"])
    if [s["doc_id"] for s in samples] != list(range(len(rows))):
        raise AssertionError("lm-eval scored other examples than ours")
    worst, differ = 0.0, {"acc": 0, "acc_char": 0}
    for row, sample in zip(rows, samples):
        lls = np.array([ll for ll, _ in sample["filtered_resps"]])
        lengths = np.array([len(delimiter + c) for c in sample["doc"]["choices"]])
        theirs = {"acc": int(np.argmax(lls)), "acc_char": int(np.argmax(lls / lengths))}
        gold = sample["doc"]["gold"]
        if (float(theirs["acc"] == gold), float(theirs["acc_char"] == gold)) != (
                sample["acc"], sample["acc_norm"]):
            raise AssertionError(f"doc {sample['doc_id']}: lm-eval's scores do not follow "
                                 f"from its log-likelihoods")
        worst = max(worst, float(np.abs(lls - np.array(row["loglikelihoods"])).max()))
        for rule, pred in theirs.items():
            differ[rule] += pred != row["predictions"][rule]
    if worst > atol:
        raise AssertionError(f"choice log-likelihoods differ by up to {worst:.2e} > {atol}")
    return {"max_abs_loglikelihood_diff": worst, **{f"differ_{k}": v for k, v in differ.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="a Hugging Face model folder (default: a "
                        "random project GPT exported to a temporary folder)")
    parser.add_argument("--tokenizer-json", type=Path, default=GPT2_TOKENIZER,
                        help="tokenizer.json for a model folder that has no tokenizer")
    parser.add_argument("--task", default="piqa", help="one of our multiple-choice tasks")
    parser.add_argument("--benchmarks", type=Path, default=DATA / "benchmarks")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: "
                        "per-core figures, steadier on a shared machine)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--atol", type=float, default=1e-3,
                        help="allowed gap between the two sides' choice log-likelihoods")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eval_throughput_") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> int:
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                      HF_DATASETS_CACHE=str(tmp / "datasets_cache"),
                      TOKENIZERS_PARALLELISM="false")
    import torch
    torch.set_num_threads(args.threads)
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from crawl2gpt.evaluation.models import HFModel
    from crawl2gpt.evaluation.tasks import select_tasks

    spec = select_tasks([args.task])[0]
    model_dir = args.model or make_random_model(tmp / "exported", args.seed)
    model_dir = with_tokenizer(Path(model_dir), args.tokenizer_json, tmp / "model")
    name = write_lm_eval_task(spec, spec.resolve(args.benchmarks), tmp / "lm_eval_tasks")
    ours = HFModel(model_dir, batch_size=args.batch_size)
    theirs = HFLM(pretrained=str(model_dir), device="cpu", batch_size=args.batch_size,
                  dtype="float32")
    task_manager = TaskManager(include_path=str(tmp / "lm_eval_tasks"), include_defaults=False)

    wall: dict[str, list[float]] = {"ours": [], "lm_eval": []}
    cpu: dict[str, list[float]] = {"ours": [], "lm_eval": []}
    for repeat in range(args.repeats + 1):  # the first run of each side is a warm-up
        w_ours, c_ours, rows = timed(lambda: run_ours(ours, spec, args.benchmarks, args.limit))
        w_theirs, c_theirs, result = timed(
            lambda: run_lm_eval(theirs, task_manager, name, args.limit))
        if repeat:
            for side, w, c in (("ours", w_ours, c_ours), ("lm_eval", w_theirs, c_theirs)):
                wall[side].append(w)
                cpu[side].append(c)
        print(f"# run {repeat}{' (warm-up)' if not repeat else ''}: ours {w_ours:.2f} s "
              f"(cpu {c_ours:.2f}), lm-eval {w_theirs:.2f} s (cpu {c_theirs:.2f})",
              file=sys.stderr)

    n = len(rows)
    ours_rate = n / statistics.median(wall["ours"])
    theirs_rate = n / statistics.median(wall["lm_eval"])
    ours_cpu_rate = n / statistics.median(cpu["ours"])
    theirs_cpu_rate = n / statistics.median(cpu["lm_eval"])
    agreement = compare(rows, result["samples"][name], spec.target_delimiter, args.atol)
    metrics = result["results"][name]
    figures = {
        "task": spec.name, "examples": n, "batch_size": args.batch_size,
        "threads": args.threads, "params": ours.num_params(),
        "ours_examples_per_s": round(ours_rate, 2),
        "lm_eval_examples_per_s": round(theirs_rate, 2),
        "ratio_vs_lm_eval": round(ours_rate / theirs_rate, 3),
        "ours_examples_per_cpu_s": round(ours_cpu_rate, 2),
        "lm_eval_examples_per_cpu_s": round(theirs_cpu_rate, 2),
        "ratio_vs_lm_eval_cpu": round(ours_cpu_rate / theirs_cpu_rate, 3),
        "ours_wall_s": [round(t, 2) for t in wall["ours"]],
        "lm_eval_wall_s": [round(t, 2) for t in wall["lm_eval"]],
        "ours_cpu_s": [round(t, 2) for t in cpu["ours"]],
        "lm_eval_cpu_s": [round(t, 2) for t in cpu["lm_eval"]],
        **{f"ours_{m}": statistics.mean(r["correct"][m] for r in rows)
           for m in ("acc", "acc_char", "acc_norm")},
        "lm_eval_acc": metrics["acc,none"], "lm_eval_acc_norm": metrics["acc_norm,none"],
        **agreement,
    }
    for key, value in figures.items():
        print(key, value)
    if agreement["differ_acc"] or agreement["differ_acc_char"]:
        print("FAIL: per-example predictions differ under a coinciding rule", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
