"""`crawl2gpt demo`: the whole story on the built-in corpus, in minutes on a laptop.

1. generate the demo corpus (deterministic; no download, no ../shared) and its held-out
   arithmetic benchmark (GPT-3's synthetic-task format, the operation hidden behind a symbol
   so that only the solved examples in the prompt tell it: `evaluation.synthetic_corpus`),
2. build it once (read, normalise, exact dedup); train a byte-level BPE (digits split, so the
   model can learn arithmetic digit by digit) and the quality classifier on the kept documents,
3. build again with every stage: language id, heuristic rules, the quality filter, fuzzy
   dedup, contamination removal, tokenisation with the mixture table,
4. (unless `train=False`) train a small model for a few CPU minutes, evaluate it 0/1/10-shot
   on the held-out problems with the build's clean/dirty lists, and write the build,
   training and evaluation reports.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from typing import Any

from crawl2gpt.demo.data import arithmetic_eval_pairs, demo_build_config, generate_demo_corpus
from crawl2gpt.evaluation.synthetic_corpus import write_task_files
from crawl2gpt.mixing.cli import build_texts
from crawl2gpt.mixing.train_tokenizer import train_bpe
from crawl2gpt.pipeline.build import BuildResult, run_build
from crawl2gpt.pipeline.config import load_build_config
from crawl2gpt.quality_filter.cli import build_documents
from crawl2gpt.quality_filter.config import QualityConfig
from crawl2gpt.quality_filter.training import train_quality_from_documents

# Small, so the output layer does not dominate the small model's cost (at 4,096 ids it halved
# the training speed).
DEMO_VOCAB_SIZE = 1024
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
weights = {{ commoncrawl = 0.3, wikipedia = 0.15, books = 0.05, exercises = 0.5 }}
token_budget = {budget}
"""


def icl_model_overrides(steps: int, vocab_size: int) -> list[str]:
    """Train settings of the small model that learns the hidden-operation exercises in context
    (also `bench/icl_sanity.py`'s): `tiny` widened to see ten solved problems at once (256
    tokens of global attention, 3 layers of 128), `steps` batches of 4,096 tokens, warm-up 5 %,
    cosine decay to the last step."""
    tokens = steps * 4096
    return ["model.size=\"tiny\"", "model.n_ctx=256", "model.attention=[\"global\"]",
            "model.d_model=128", "model.n_layer=3", "model.n_head=4",
            f"model.vocab_size={vocab_size}", "micro_batch=16", "optim.lr=3e-3",
            "optim.batch_tokens=4096", "optim.batch_ramp_tokens=0", f"max_steps={steps}",
            f"optim.warmup_tokens={tokens // 20}", f"optim.decay_end_tokens={tokens}",
            "checkpoint.every_steps=0"]


# On one thread: 3.7 M tokens, 2.5 times the mixture's 1.5 M-token budget.
DEMO_TRAIN_STEPS = 900
DEMO_TRAIN_OVERRIDES = [*icl_model_overrides(DEMO_TRAIN_STEPS, DEMO_VOCAB_SIZE),
                        "eval.every_steps=150", "log_every=20"]
DEMO_SHOTS = [0, 1, 10]


@dataclass
class DemoResult:
    corpus: dict[str, Any]
    tokenizer_dir: str
    build: BuildResult
    reports: dict[str, str] = field(default_factory=dict)
    """"build" / "train" / "eval" -> report.html (empty when training was skipped)."""


def train_model(manifest_path: str, run_dir: str, overrides: list[str]) -> str:
    """A fresh run (config defaults + `overrides`) on a build; returns the checkpoints folder."""
    import torch

    from crawl2gpt.training.train_config import load_train_config
    from crawl2gpt.training.trainer import Trainer
    # A model this small gains nothing from a second thread, and on a shared machine two
    # threads ran 8x slower than one (2k against 16k tokens/s).
    torch.set_num_threads(1)
    shutil.rmtree(run_dir, ignore_errors=True)  # a rerun starts over rather than resumes
    config = load_train_config(None, [f"data.manifest={json.dumps(manifest_path)}",
                                      f"out_dir={json.dumps(run_dir)}", *overrides])
    Trainer(config).fit()
    return os.path.join(run_dir, "checkpoints")


def evaluate_demo_model(checkpoints: str, tasks: list, benchmarks_dir: str, build_dir: str,
                        results_dir: str) -> None:
    """0/1/10-shot on the held-out problems (exact match, and the choice between the two
    operations' answers), split by the build's clean/dirty lists."""
    from crawl2gpt.evaluation.harness import run_eval
    from crawl2gpt.evaluation.models import load_model
    model = load_model(checkpoints, None, "cpu", batch_size=32, show_progress=False)
    run_eval(model, tasks, DEMO_SHOTS, benchmarks_dir, results_dir,
             contamination_build=build_dir, model_name="demo")


def write_demo_reports(output: str, build_dir: str, run_dir: str, results_dir: str
                       ) -> dict[str, str]:
    from crawl2gpt.reports.eval_report import write_eval_report
    from crawl2gpt.reports.report import write_build_report
    from crawl2gpt.reports.train_report import write_train_report
    reports = os.path.join(output, "reports")
    return {"build": write_build_report(build_dir, os.path.join(reports, "build")),
            "train": write_train_report(run_dir, os.path.join(reports, "train")),
            "eval": write_eval_report([results_dir], os.path.join(reports, "eval"))}


def run_demo(output: str, overrides: list[str], beam_args: list[str],
             token_budget: int = 1_500_000, train: bool = True) -> DemoResult:
    corpus_dir = os.path.join(output, "corpus")
    corpus = generate_demo_corpus(corpus_dir)
    benchmarks_dir = os.path.join(output, "benchmarks")
    tasks = write_task_files(benchmarks_dir, arithmetic_eval_pairs())
    sources = demo_build_config(os.path.relpath(corpus_dir, output))
    config_path = os.path.join(output, "demo-build.toml")
    with open(config_path, "w") as f:
        f.write(sources)
    build_dir = os.path.join(output, "build")
    first = run_build(load_build_config(config_path, overrides), build_dir, beam_args)
    tokenizer_dir = os.path.join(output, "tokenizer")
    train_bpe(build_texts(first.manifest_path, None, None), DEMO_VOCAB_SIZE, tokenizer_dir,
              split_digits=True)
    docs, roles, _ = build_documents(build_dir)
    # The exercises are reference text but not what "high quality" should mean for web pages.
    prose = [d for d in docs if d.source != "exercises"]
    train_quality_from_documents(prose, QualityConfig(), os.path.join(output, "quality"), roles)
    with open(config_path, "w") as f:
        f.write(f"stages = {json.dumps(DEMO_STAGES)}\n" + sources
                + DEMO_STAGE_TABLES.format(budget=token_budget))
    build = run_build(load_build_config(config_path, overrides), build_dir, beam_args)
    result = DemoResult(corpus, tokenizer_dir, build)
    if train:
        run_dir, results_dir = os.path.join(output, "run"), os.path.join(output, "eval")
        checkpoints = train_model(build.manifest_path, run_dir, DEMO_TRAIN_OVERRIDES)
        evaluate_demo_model(checkpoints, tasks, benchmarks_dir, build_dir, results_dir)
        result.reports = write_demo_reports(output, build_dir, run_dir, results_dir)
    return result
