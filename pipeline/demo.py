"""`crawl2gpt demo`: the whole story on the built-in corpus, in minutes on a laptop.

1. generate the demo corpus (deterministic; no download, no ../shared),
2. build it once and train a byte-level BPE on the kept documents,
3. build again with that tokenizer, writing token shards and the mixture table.
Later steps (training, evaluation, the report) plug in after step 3.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from mixing.cli import build_texts
from mixing.train_tokenizer import train_bpe
from pipeline.build import BuildResult, run_build
from pipeline.config import load_build_config
from pipeline.demo_data import demo_build_config, generate_demo_corpus

DEMO_VOCAB_SIZE = 4096
# The paper's mix gives reference text more weight than its size; the demo does the same.
DEMO_TOKENIZE = """
[tokenize]
tokenizer = "tokenizer"
weights = {{ commoncrawl = 0.6, wikipedia = 0.3, books = 0.1 }}
token_budget = {budget}
"""


@dataclass
class DemoResult:
    corpus: dict[str, Any]
    tokenizer_dir: str
    build: BuildResult


def run_demo(output: str, overrides: list[str], beam_args: list[str],
             token_budget: int = 1_500_000) -> DemoResult:
    corpus_dir = os.path.join(output, "corpus")
    corpus = generate_demo_corpus(corpus_dir)
    config_path = os.path.join(output, "demo-build.toml")
    with open(config_path, "w") as f:
        f.write(demo_build_config(os.path.relpath(corpus_dir, output)))
    build_dir = os.path.join(output, "build")
    first = run_build(load_build_config(config_path, overrides), build_dir, beam_args)
    tokenizer_dir = os.path.join(output, "tokenizer")
    train_bpe(build_texts(first.manifest_path, None, None), DEMO_VOCAB_SIZE, tokenizer_dir)
    with open(config_path, "a") as f:
        f.write(DEMO_TOKENIZE.format(budget=token_budget))
    build = run_build(load_build_config(config_path, overrides), build_dir, beam_args)
    return DemoResult(corpus, tokenizer_dir, build)
