"""One training run of an experiment, and the measurements taken on its model.

A run is the project's trainer (`training.trainer.Trainer`) on a build's manifest for a token
budget: warm-up over the first 10 % of the tokens, cosine decay to the last token (as the demo
does), validation loss on the build's held-out sequences at about `eval_points` even intervals.
Shapes are named sizes (`tiny`, `gpt3-small`, ...) or `LxD` (L layers of width D, heads of 16
dimensions, otherwise the `tiny` size's settings), so one command runs on a laptop at `1x16` and
on a GPU at `gpt3-xl`. Every `--set` override of `crawl2gpt train` passes through.
"""

from __future__ import annotations

import glob
import gzip
import json
import logging
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawl2gpt.training.config import SIZES, GPTConfig

log = logging.getLogger(__name__)
HEAD_DIM = 16
SHAPE = re.compile(r"^(\d+)x(\d+)$")


@dataclass(frozen=True)
class ModelShape:
    label: str
    fields: dict[str, Any]
    """`model.*` settings of the run config: `size` and GPTConfig overrides."""


def write_json(path: str, result: dict[str, Any]) -> None:
    """An experiment's results file, rewritten after every run so a killed one keeps them."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


def parse_shape(text: str) -> ModelShape:
    """A named size from training.config.SIZES, or `LxD` (layers x width, D a multiple of 16)."""
    text = text.strip()
    if text in SIZES:
        return ModelShape(text, {"size": text})
    match = SHAPE.match(text)
    if not match:
        raise ValueError(f"model shape {text!r}: expected a size name ({', '.join(SIZES)}) or "
                         f"LAYERSxWIDTH such as 2x64")
    layers, width = int(match[1]), int(match[2])
    if layers < 1 or width < HEAD_DIM or width % HEAD_DIM:
        raise ValueError(f"model shape {text!r}: need >= 1 layer and a width that is a "
                         f"multiple of {HEAD_DIM} (heads of {HEAD_DIM} dimensions)")
    return ModelShape(text, {"size": "tiny", "n_layer": layers, "d_model": width,
                             "n_head": width // HEAD_DIM})


def non_embedding_params(gpt: GPTConfig) -> int:
    """Parameters without the token and position embeddings: Kaplan et al.'s N, whose power
    law holds across depths and widths (GPT-3 §3 plots the same count)."""
    return gpt.num_params() - (gpt.vocab_size + gpt.n_ctx) * gpt.d_model


@dataclass
class RunResult:
    shape: str
    seed: int
    run_dir: str
    params: int
    non_embedding_params: int
    tokens: int
    seconds: float
    validation: dict[str, float]
    """Final validation loss per source (the build's held-out sequences)."""
    curve: list[dict[str, float]]
    """[{"tokens", "loss"}]: mean validation loss over sources at each evaluation."""
    model: Any = field(default=None, repr=False)
    """The trained `training.model.GPT` (not serialised)."""

    @property
    def validation_loss(self) -> float:
        return sum(self.validation.values()) / len(self.validation)

    @property
    def compute(self) -> float:
        """Training FLOPs as 6 N D (N non-embedding, D tokens seen)."""
        return 6.0 * self.non_embedding_params * self.tokens

    def to_dict(self) -> dict[str, Any]:
        return {"shape": self.shape, "seed": self.seed, "run_dir": self.run_dir,
                "params": self.params, "non_embedding_params": self.non_embedding_params,
                "tokens": self.tokens, "compute_flops": self.compute,
                "seconds": round(self.seconds, 1), "validation_loss": self.validation_loss,
                "validation": self.validation, "curve": self.curve}


def train_run(manifest: str, shape: ModelShape, tokens: int, run_dir: str, seed: int = 1234,
              device: str = "cpu", eval_points: int = 8, eval_sequences: int = 128,
              overrides: list[str] = ()) -> RunResult:
    """Train `shape` from scratch on the build for `tokens` tokens (a rerun starts over)."""
    from crawl2gpt.reports.train_report import collect_train_report, read_metrics
    from crawl2gpt.training.train_config import load_train_config
    from crawl2gpt.training.trainer import Trainer
    shutil.rmtree(run_dir, ignore_errors=True)
    batch_tokens = SIZES[shape.fields["size"]].batch_tokens
    every = max(1, tokens // batch_tokens // eval_points)
    settings = [f"data.manifest={json.dumps(manifest)}", f"out_dir={json.dumps(run_dir)}",
                *(f"model.{k}={json.dumps(v)}" for k, v in shape.fields.items()),
                f"max_tokens={tokens}", f"optim.warmup_tokens={max(1, tokens // 10)}",
                f"optim.decay_end_tokens={tokens}", f"eval.every_steps={every}",
                f"eval.sequences={eval_sequences}", f"log_every={every}",
                "checkpoint.every_steps=0", f"seed={seed}", f"device={json.dumps(device)}",
                *overrides]
    config = load_train_config(None, settings)
    start = time.monotonic()
    trainer = Trainer(config)
    records = trainer.fit()
    seconds = time.monotonic() - start
    report = collect_train_report(run_dir, read_metrics(run_dir))
    if not report["final"]["validation"]:
        raise ValueError(f"{manifest}: no validation loss was measured (the build holds out "
                         f"nothing: data.val_row_groups = 0?); experiments compare it")
    by_tokens: dict[int, list[float]] = {}
    for rows in report["validation"].values():
        for row in rows:
            by_tokens.setdefault(row["tokens"], []).append(row["loss"])
    curve = [{"tokens": t, "loss": sum(v) / len(v)} for t, v in sorted(by_tokens.items())]
    return RunResult(shape.label, seed, run_dir, trainer.model.num_params(),
                     non_embedding_params(trainer.gpt), records[-1]["tokens"] if records else 0,
                     seconds, report["final"]["validation"], curve, trainer.model)


def read_reference_texts(patterns: list[str]) -> list[str]:
    """Documents of a held-out reference set: each `.txt` file is one document, each line of a
    `.jsonl` / `.jsonl.gz` / `.json.gz` file one `{"text": ...}` document; globs allowed."""
    paths = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern, recursive=True))
        if not found:
            raise ValueError(f"reference {pattern}: no such file")
        paths += found
    texts = []
    for path in paths:
        if path.endswith(".txt"):
            texts.append(_decode(path))
            continue
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    texts.append(json.loads(line)["text"])
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    raise ValueError(f"{path}:{number}: not a JSON line with a `text` field "
                                     f"({e!r})") from None
    return texts


def _decode(path: str) -> str:
    """A text file as UTF-8; a file that is not (real crawls and old corpora have Latin-1 and
    Big5 bytes) is read with U+FFFD for the bad bytes, and a warning names it."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        log.warning("%s: not UTF-8 (byte %d); undecodable bytes read as U+FFFD", path, e.start)
        return data.decode("utf-8", errors="replace")


def reference_sequences(texts: list[str], tokenizer, seq_len: int, max_tokens: int):
    """The reference documents tokenised (each ending in end-of-text), joined and cut into
    full (n, seq_len + 1) windows, at most `max_tokens` tokens: the same windows for every
    model, so losses compare token for token."""
    import torch
    ids: list[int] = []
    for doc in tokenizer.encode_batch(texts):
        ids += doc
        if len(ids) >= max_tokens + 1:
            break
    ids = ids[:max_tokens + 1]
    count = (len(ids) - 1) // seq_len
    if count == 0:
        raise ValueError(f"the reference set has {len(ids)} tokens: fewer than one sequence of "
                         f"{seq_len + 1}")
    return torch.tensor([ids[k * seq_len:k * seq_len + seq_len + 1] for k in range(count)])


def sequence_loss(model, sequences, batch: int = 32) -> float:
    """Mean next-token cross-entropy of the model over the sequences (nats per token)."""
    import torch

    from crawl2gpt.training.model import lm_loss
    device = next(model.parameters()).device
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(sequences), batch):
            rows = sequences[i:i + batch].to(device)
            total += lm_loss(model(rows[:, :-1]), rows[:, 1:]).item() * len(rows)
    return total / len(sequences)
