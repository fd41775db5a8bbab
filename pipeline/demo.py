"""`crawl2gpt demo`: the whole story on the built-in corpus, in minutes on a laptop.

1. generate the demo corpus (deterministic; no download, no ../shared) and its held-out
   two-digit-addition benchmark (GPT-3's synthetic-task format),
2. build it once (read, normalise, exact dedup); train a byte-level BPE and the quality
   classifier on the kept documents,
3. build again with every stage: language id, heuristic rules, the quality filter, fuzzy
   dedup, contamination removal, tokenisation with the mixture table,
4. (unless `train=False`) train the `tiny` model for a couple of CPU minutes, evaluate it 0/1/10-
   shot on the held-out benchmark with the build's clean/dirty lists, and write the build,
   training and evaluation reports.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from typing import Any

from mixing.cli import build_texts
from mixing.train_tokenizer import train_bpe
from pipeline.build import BuildResult, run_build
from pipeline.config import load_build_config
from pipeline.demo_data import arithmetic_eval_pairs, demo_build_config, generate_demo_corpus
from pipeline.demo_text import addition_problem
from quality_filter.cli import build_documents
from quality_filter.config import QualityConfig
from quality_filter.training import train_quality_from_documents

DEMO_VOCAB_SIZE = 4096
DEMO_STAGES = ["language_id", "rules", "quality_filter", "fuzzy_dedup", "contamination"]
# The demo's reference text is far cleaner than its crawl, so the classifier separates them
# almost perfectly and the paper's Pareto alpha=9 would keep ~0.2% of the crawl (see
# `crawl2gpt calibrate-quality`): the demo keeps the best-scoring 70% instead. The paper's
# mix gives reference text more weight than its size; the demo does the same.
DEMO_STAGE_TABLES = """
[language_id]
keep = {{ commoncrawl = ["en"] }}

[rules]
roles = ["raw"]

[quality_filter]
model_path = "quality/quality_fasttext.bin"
selection = "threshold"
top_fraction = 0.7

[contamination]
benchmarks = ["benchmarks"]

[tokenize]
tokenizer = "tokenizer"
weights = {{ commoncrawl = 0.6, wikipedia = 0.3, books = 0.1 }}
token_budget = {budget}
"""


# About 2.5 min of `tiny` on one thread (~16k tokens/s measured on a busy 2-core machine; 4,096
# tokens a step): 2.5 M tokens, 1.6 times the mixture's 1.5 M-token budget. Warm-up 10 %,
# cosine decay to the last step.
DEMO_TRAIN_STEPS = 600
DEMO_TRAIN_OVERRIDES = [
    f"model.vocab_size={DEMO_VOCAB_SIZE}", f"max_steps={DEMO_TRAIN_STEPS}",
    f"optim.warmup_tokens={DEMO_TRAIN_STEPS * 4096 // 10}",
    f"optim.decay_end_tokens={DEMO_TRAIN_STEPS * 4096}", "eval.every_steps=100",
    "log_every=20", "checkpoint.every_steps=0"]
DEMO_BENCHMARK = "demo_two_digit_addition"
DEMO_SHOTS = [0, 1, 10]


@dataclass
class DemoResult:
    corpus: dict[str, Any]
    tokenizer_dir: str
    build: BuildResult
    reports: dict[str, str] = field(default_factory=dict)
    """"build" / "train" / "eval" -> report.html (empty when training was skipped)."""


def write_demo_benchmark(path: str, seed: int = 0) -> int:
    """The held-out addition problems as a GPT-3 synthetic task file; returns the count."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pairs = arithmetic_eval_pairs(seed)
    with open(path, "w") as f:
        for a, b in pairs:
            question, answer = addition_problem(a, b)
            f.write(json.dumps({"context": f"\n\n{question}\n\nA:",
                                "completion": answer.removeprefix("A:")}) + "\n")
    return len(pairs)


def train_demo_model(manifest_path: str, run_dir: str) -> str:
    """A fresh `tiny` run on the build; returns the checkpoints folder."""
    import torch

    from training.train_config import load_train_config
    from training.trainer import Trainer
    # A model this small gains nothing from a second thread, and on a shared machine two
    # threads ran 8x slower than one (2k against 16k tokens/s).
    torch.set_num_threads(1)
    shutil.rmtree(run_dir, ignore_errors=True)  # a rerun starts over rather than resumes
    config = load_train_config(None, [f"data.manifest={json.dumps(manifest_path)}",
                                      "model.size=\"tiny\"", f"out_dir={json.dumps(run_dir)}",
                                      *DEMO_TRAIN_OVERRIDES])
    Trainer(config).fit()
    return os.path.join(run_dir, "checkpoints")


def evaluate_demo_model(checkpoints: str, benchmarks_dir: str, build_dir: str,
                        results_dir: str) -> None:
    """0/1/10-shot exact match on the held-out additions, split by the build's clean/dirty
    lists. The task is defined here (GPT-3's synthetic format, as `two_digit_addition` in
    evaluation/tasks/synthetic.toml) because its file lives in the demo's output."""
    from evaluation.harness import run_eval
    from evaluation.models import load_model
    from evaluation.tasks import TaskSpec
    task = TaskSpec(name=DEMO_BENCHMARK, path=f"{DEMO_BENCHMARK}.jsonl", format="synthetic",
                    metric="exact_match", delimiter="", target_delimiter="", max_new_tokens=10)
    model = load_model(checkpoints, None, "cpu", batch_size=32, show_progress=False)
    run_eval(model, [task], DEMO_SHOTS, benchmarks_dir, results_dir,
             contamination_build=build_dir, model_name="demo tiny")


def write_demo_reports(output: str, build_dir: str, run_dir: str, results_dir: str
                       ) -> dict[str, str]:
    from pipeline.inspect.eval_report import write_eval_report
    from pipeline.inspect.report import write_build_report
    from pipeline.inspect.train_report import write_train_report
    reports = os.path.join(output, "reports")
    return {"build": write_build_report(build_dir, os.path.join(reports, "build")),
            "train": write_train_report(run_dir, os.path.join(reports, "train")),
            "eval": write_eval_report([results_dir], os.path.join(reports, "eval"))}


def run_demo(output: str, overrides: list[str], beam_args: list[str],
             token_budget: int = 1_500_000, train: bool = True) -> DemoResult:
    corpus_dir = os.path.join(output, "corpus")
    corpus = generate_demo_corpus(corpus_dir)
    write_demo_benchmark(os.path.join(output, "benchmarks", f"{DEMO_BENCHMARK}.jsonl"))
    sources = demo_build_config(os.path.relpath(corpus_dir, output))
    config_path = os.path.join(output, "demo-build.toml")
    with open(config_path, "w") as f:
        f.write(sources)
    build_dir = os.path.join(output, "build")
    first = run_build(load_build_config(config_path, overrides), build_dir, beam_args)
    tokenizer_dir = os.path.join(output, "tokenizer")
    train_bpe(build_texts(first.manifest_path, None, None), DEMO_VOCAB_SIZE, tokenizer_dir)
    docs, roles, _ = build_documents(build_dir)
    train_quality_from_documents(docs, QualityConfig(), os.path.join(output, "quality"), roles)
    with open(config_path, "w") as f:
        f.write(f"stages = {json.dumps(DEMO_STAGES)}\n" + sources
                + DEMO_STAGE_TABLES.format(budget=token_budget))
    build = run_build(load_build_config(config_path, overrides), build_dir, beam_args)
    result = DemoResult(corpus, tokenizer_dir, build)
    if train:
        run_dir, results_dir = os.path.join(output, "run"), os.path.join(output, "eval")
        checkpoints = train_demo_model(build.manifest_path, run_dir)
        evaluate_demo_model(checkpoints, os.path.join(output, "benchmarks"), build_dir,
                            results_dir)
        result.reports = write_demo_reports(output, build_dir, run_dir, results_dir)
    return result
