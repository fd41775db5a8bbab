"""In-context learning sanity check: a small model learns a task from K examples in its prompt.

A generated corpus of one GPT-3 synthetic task family (two-digit addition and subtraction, the
operation hidden behind one symbol, one operation per worksheet; `evaluation.synthetic_corpus`)
goes through the project's own path: a build (tokenisation with a BPE trained on the corpus,
digits split) -> the trainer -> the evaluation harness at K = 0, 1, 10 on held-out problems
whose operand pairs occur in no training document (300 pairs x 2 operations = 600 problems).
Each problem is scored twice: free-form exact match, as the paper scores arithmetic, and as a
choice between the two operations' answers by log-likelihood, which asks only whether the model
read the operation off the examples (chance 0.5). The check, on the choice scoring: accuracy at
K = 10 of at least `--min-accuracy`, and the gain over K = 0 larger than both 95 % confidence
intervals together. The exact-match figures are printed beside it.

Usage: .venv/bin/python bench/icl_sanity.py [--out out/icl-sanity] [--steps 1200]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from crawl2gpt.core.tokenizer import Tokenizer
from crawl2gpt.demo.run import icl_model_overrides, train_model
from crawl2gpt.evaluation.scoring import mean_and_ci95
from crawl2gpt.evaluation.synthetic_corpus import held_out_pairs, worksheets, write_task_files
from crawl2gpt.mixing.train_tokenizer import train_bpe
from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import load_build_config

SHOTS = [0, 1, 10]
BUILD = """
[[sources]]
name = "worksheets"
role = "reference"
inputs = ["corpus/worksheets.jsonl"]
format = "jsonl"
options = {{ text_field = "text" }}

[tokenize]
tokenizer = "tokenizer"
weights = {{ worksheets = 1.0 }}
token_budget = {budget}
"""


def prepare(out: Path, docs: int, pairs: int, seed: int) -> tuple[str, int, list]:
    """Corpus, held-out task files, tokenizer and build: manifest, vocab size, tasks."""
    held_out = held_out_pairs(pairs, seed)
    texts = list(worksheets(docs, held_out, seed))
    corpus = out / "corpus" / "worksheets.jsonl"
    corpus.parent.mkdir(parents=True, exist_ok=True)
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    tasks = write_task_files(out / "benchmarks", held_out)
    train_bpe(texts, 512, out / "tokenizer", split_digits=True)
    config = out / "build.toml"
    config.write_text(BUILD.format(budget=sum(len(t) for t in texts)))
    build = run_build(load_build_config(str(config), []), str(out / "build"), [])
    return build.manifest_path, Tokenizer.from_path(out / "tokenizer").vocab_size, tasks


def evaluate(checkpoints: str, out: Path, tasks: list) -> dict[str, dict[int, list[float]]]:
    """Per scoring (exact / choice) and K, the correctness of every held-out problem."""
    from crawl2gpt.evaluation.harness import run_eval
    from crawl2gpt.evaluation.models import load_model
    model = load_model(checkpoints, None, "cpu", batch_size=32, show_progress=False)
    run_eval(model, tasks, SHOTS, out / "benchmarks", out / "eval", model_name="icl-sanity")
    correct: dict[str, dict[int, list[float]]] = {"exact": {}, "choice": {}}
    for task in tasks:
        scoring = "choice" if task.name.endswith("_choice") else "exact"
        for k in SHOTS:
            path = out / "eval" / "examples" / task.name / f"k{k}.jsonl"
            correct[scoring].setdefault(k, []).extend(
                float(json.loads(line)["correct"][task.metric]) for line in path.open())
    return correct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="out/icl-sanity")
    parser.add_argument("--docs", type=int, default=4000)
    parser.add_argument("--pairs", type=int, default=300, help="held-out operand pairs "
                        "(each evaluated under both operations)")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-accuracy", type=float, default=0.8,
                        help="of the choice scoring at K = 10 (chance: 0.5)")
    args = parser.parse_args()
    out = Path(args.out)
    started = time.perf_counter()
    manifest, vocab_size, tasks = prepare(out, args.docs, args.pairs, args.seed)
    prepared = time.perf_counter()
    checkpoints = train_model(manifest, str(out / "run"), [
        *icl_model_overrides(args.steps, vocab_size), "eval.every_steps=0", "log_every=50"])
    trained = time.perf_counter()
    correct = evaluate(checkpoints, out, tasks)
    print(f"prepare {prepared - started:.0f} s, train {trained - prepared:.0f} s, "
          f"evaluate {time.perf_counter() - trained:.0f} s")
    stats = {}
    for scoring, per_k in correct.items():
        for k, values in per_k.items():
            stats[scoring, k] = mean, ci = mean_and_ci95(values)
            print(f"{scoring}_accuracy_k{k}: {mean:.4f} +- {ci:.4f} (n={len(values)})")
    (acc0, ci0), (acc10, ci10) = stats["choice", 0], stats["choice", 10]
    gain = acc10 - acc0
    print(f"choice gain_k10_over_k0: {gain:.4f} (95% CIs together: {ci0 + ci10:.4f})")
    passed = acc10 >= args.min_accuracy and gain > ci0 + ci10
    print(f"sanity_check: {'PASS' if passed else 'FAIL'}")
    raise SystemExit(0 if passed else 1)


if __name__ == "__main__":
    main()
