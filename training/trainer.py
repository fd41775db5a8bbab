"""The training loop over its components: model, token loader, schedule, checkpoints, metrics.

`Trainer(config).fit()` builds everything, resumes from the newest complete checkpoint when
there is one, and trains until the token budget (or `max_steps`) is spent or SIGTERM/SIGINT
arrives; then it saves. One process here; `training.parallel.trainer.ParallelTrainer`
overrides the model-facing hooks (`_build_model`, `_forward_backward`, `_clip_gradients`,
`_global_loss`, `_eval_loss`) for data/tensor/pipeline parallelism; `rank`/`world_size` are
the data-parallel place that selects each rank's share of every batch.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from pathlib import Path

import torch

from crawl2gpt.training.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from crawl2gpt.training.config import SIZES
from crawl2gpt.training.data import DataError, TokenLoader, load_token_manifest, validation_batches
from crawl2gpt.training.metrics import MetricsLogger, device_peak_flops, progress_line
from crawl2gpt.training.model import GPT, lm_loss
from crawl2gpt.training.parallel.activation_checkpoint import apply_activation_checkpointing
from crawl2gpt.training.schedule import Schedule, build_optimizer, set_lr
from crawl2gpt.training.train_config import TrainConfig


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    def __init__(self, config: TrainConfig, rank: int = 0, world_size: int = 1):
        self.config, self.rank, self.world_size = config, rank, world_size
        self.is_main = rank == 0
        self.build()

    def build(self) -> None:
        """Model, optimiser, schedule and loader from the config; then resume if possible."""
        c = self.config
        self.manifest = load_token_manifest(c.data.manifest, c.data.val_row_groups,
                                      c.data.val_fraction)
        # Unless the run sets it, the vocabulary is the build's tokenizer's.
        c.model.setdefault("vocab_size", self.manifest.vocab_size)
        self.gpt = c.gpt_config()
        if self.manifest.vocab_size != self.gpt.vocab_size:
            raise DataError(f"{self.manifest.path}: tokenizer vocab_size "
                            f"{self.manifest.vocab_size} != model.vocab_size "
                            f"{self.gpt.vocab_size} (set model.vocab_size to match)")
        self.device = self._resolve_device()
        self.bf16 = c.precision == "bf16" or (c.precision == "auto" and self.device.type == "cuda"
                                              and torch.cuda.is_bf16_supported())
        torch.manual_seed(c.seed)  # the same initial weights in every layout
        size = SIZES[c.model["size"]]
        peak_lr = c.optim.lr or size.learning_rate
        self._build_model(GPT(self.gpt).to(self.device), peak_lr)
        self.schedule = Schedule(peak_lr, c.optim.batch_tokens or size.batch_tokens,
                                 _first_set(c.optim.batch_ramp_tokens, size.ramp_tokens),
                                 self.gpt.n_ctx, self._batch_multiple(), c.optim)
        self.loader = TokenLoader(self.manifest, seq_len=self.gpt.n_ctx,
                                  micro_batch=c.micro_batch, rank=self.rank,
                                  world_size=self.world_size, verify=c.data.verify_checksums,
                                  prefetch=c.data.prefetch)
        self.metrics = MetricsLogger(c.out_dir, enabled=self.is_main)
        self.checkpoint_dir = Path(c.checkpoint.dir or Path(c.out_dir) / "checkpoints")
        self.peak_flops = c.peak_flops or device_peak_flops(self.device)
        self._val_sets: dict[str, list[torch.Tensor]] | None = None
        self._saved_step = -1
        if self.is_main:
            Path(c.out_dir).mkdir(parents=True, exist_ok=True)
            (Path(c.out_dir) / "config.json").write_text(json.dumps(c.to_dict(), indent=1))
        if c.checkpoint.resume:
            self.resume()

    def _resolve_device(self) -> torch.device:
        return resolve_device(self.config.device)

    def _build_model(self, model: GPT, peak_lr: float) -> None:
        """`self.model` (what is checkpointed), `self.step_model`, `self.optimizer`."""
        self.model = model
        if self.config.parallel.activation_checkpointing:
            apply_activation_checkpointing(model)
        self.step_model = torch.compile(model) if self.config.compile else model
        self.optimizer = build_optimizer(model, self.config.optim, peak_lr)

    def _forward_backward(self, batch: torch.Tensor, accumulate: int) -> torch.Tensor | None:
        """Loss of one micro-batch; its gradient, divided by `accumulate`, added."""
        loss = lm_loss(self.step_model(batch[:, :-1]), batch[:, 1:])
        (loss / accumulate).backward()
        return loss.detach()

    def _clip_gradients(self) -> torch.Tensor:
        return torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip)

    def _global_loss(self, loss: torch.Tensor) -> float:
        """The step's mean loss over every rank's micro-batches."""
        return loss.item()

    def _eval_loss(self, batch: torch.Tensor) -> float:
        return lm_loss(self.model(batch[:, :-1]), batch[:, 1:]).item()

    def _batch_multiple(self) -> int:
        unit = self.world_size * self.config.micro_batch
        multiple = self.config.optim.batch_multiple or unit
        if multiple % unit:
            raise ValueError(f"optim.batch_multiple {multiple} is not a multiple of "
                             f"data-parallel size x micro_batch = {unit}")
        return multiple

    def resume(self) -> Path | None:
        """Restore model, optimiser, schedule, data position and RNG from the newest checkpoint."""
        path = latest_checkpoint(self.checkpoint_dir)
        if path is None:
            return None
        state = load_checkpoint(path, self.model, self.optimizer)
        ours, theirs = (_identity(t) for t in (self.manifest.tokenizer, state["tokenizer"]))
        if ours != theirs:
            raise CheckpointError(f"{path}: trained with tokenizer {theirs}, but "
                                  f"{self.manifest.path} uses {ours}")
        self.schedule.load_state_dict(state["schedule"])
        self.loader.load_state_dict(state["data"])
        set_rng_state(state["rng"])
        self._saved_step = self.schedule.step
        self.metrics.progress(f"resumed from {path} at step {self.schedule.step}")
        return path

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def train_step(self) -> dict:
        """One optimiser step over the schedule's batch, accumulated over micro-batches."""
        sequences = self.schedule.batch_sequences()
        accumulate = sequences // (self.world_size * self.config.micro_batch)
        lr = self.schedule.lr(sequences)
        set_lr(self.optimizer, lr)
        loss_sum = torch.zeros((), device=self.device)
        for _ in range(accumulate):
            batch = self.loader.next_batch().to(self.device, non_blocking=True)
            with self._autocast():
                loss = self._forward_backward(batch, accumulate)
            if loss is not None:  # None: a pipeline rank without the last stage
                loss_sum += loss
        grad_norm = self._clip_gradients()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.schedule.advance(sequences)
        return {"step": self.schedule.step, "tokens": self.schedule.tokens,
                "loss": self._global_loss(loss_sum / accumulate), "lr": lr,
                "batch_tokens": sequences * self.gpt.n_ctx, "grad_norm": grad_norm.item()}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Mean validation loss of each source's held-out sequences."""
        if self._val_sets is None:
            self._val_sets = {s.name: validation_batches(
                self.manifest, s.name, seq_len=self.gpt.n_ctx, batch=self.config.micro_batch,
                num_sequences=self.config.eval.sequences, verify=self.config.data.verify_checksums)
                for s in self.manifest.sources if s.val}
        self.model.eval()
        result = {}
        for name, batches in self._val_sets.items():
            total = count = 0.0
            for batch in batches:
                batch = batch.to(self.device)
                with self._autocast():
                    total += self._eval_loss(batch) * len(batch)
                count += len(batch)
            result[f"val_loss/{name}"] = total / count if count else float("nan")
        self.model.train()
        return result

    def save(self) -> Path:
        state = {"schedule": self.schedule.state_dict(), "data": self.loader.state_dict(),
                 "rng": rng_state(), "tokenizer": self.manifest.tokenizer,
                 "config": self.config.to_dict()}
        path = save_checkpoint(self.checkpoint_dir, self.schedule.step, self.model,
                               self.optimizer, state, self.config.checkpoint.keep)
        self._saved_step = self.schedule.step
        return path

    def done(self) -> bool:
        c = self.config
        return self.schedule.tokens >= c.max_tokens or 0 < c.max_steps <= self.schedule.step

    def fit(self) -> list[dict]:
        """Train to the budget (or a stop signal), then save; returns the step records."""
        records = []
        self._clock = (time.monotonic(), self.schedule.tokens, self.schedule.step)
        try:
            with _stop_on_signals() as stop:
                while not self.done() and not stop.requested:
                    records.append(self.train_step())
                    self._after_step(records[-1])
                if self._saved_step != self.schedule.step:
                    self.save()
        finally:
            self.loader.close()
            self.metrics.close()
        return records

    def _after_step(self, record: dict) -> None:
        c, step = self.config, record["step"]
        if step % c.log_every == 0 or self.done():
            self._log_progress(record)
        if c.eval.every_steps and (step % c.eval.every_steps == 0 or self.done()):
            evaluation = self.evaluate()
            if evaluation:
                self.metrics.log({"step": step, "tokens": record["tokens"], **evaluation})
                self.metrics.progress("  ".join(f"{k} {v:.4f}" for k, v in evaluation.items()))
        if c.checkpoint.every_steps and step % c.checkpoint.every_steps == 0:
            self.save()

    def _log_progress(self, record: dict) -> None:
        start, tokens0, step0 = self._clock
        now = time.monotonic()
        elapsed = max(now - start, 1e-9)
        record["tokens_per_s"] = (record["tokens"] - tokens0) / elapsed
        flops = self.gpt.flops_per_token() * record["tokens_per_s"]
        record["mfu"] = flops / self.peak_flops if self.peak_flops else None
        c = self.config
        etas = [(c.max_tokens - record["tokens"]) / max(record["tokens_per_s"], 1e-9)]
        if c.max_steps:
            etas.append((c.max_steps - record["step"]) * elapsed / (record["step"] - step0))
        record["eta_s"] = min(etas)
        self._clock = (now, record["tokens"], record["step"])
        self.metrics.log(record)
        self.metrics.progress(progress_line(record, self.config.max_steps))


def _identity(tokenizer: dict) -> dict:
    """What makes two tokenizers the same (not where their files were)."""
    return {k: tokenizer.get(k) for k in ("vocab_size", "eot_id", "files_sha256")}


def _first_set(value, default):
    return default if value is None else value


class _StopFlag:
    requested = False


@contextlib.contextmanager
def _stop_on_signals():
    """SIGTERM/SIGINT end the loop after the current step (which is then saved)."""
    flag = _StopFlag()

    def handler(signum, frame):
        flag.requested = True

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
