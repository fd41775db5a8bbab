"""GPT-3's optimiser and schedules (§2.3, Appendix B), all measured in tokens.

- AdamW, beta1 0.9, beta2 0.95, eps 1e-8; weight decay 0.1 on matrices only (weights of
  linear layers and the embeddings; biases and LayerNorm parameters are not decayed); the
  global gradient norm is clipped to 1.0.
- Learning rate: linear warm-up over the first 375 M tokens, then cosine decay to 10 % of the
  peak, reaching it at 260 B tokens, then flat at 10 %. The paper's "cosine decay ... over 260
  billion tokens (after 260 billion tokens, training continues at 10 %)" is read as: the decay
  ends at 260 B tokens counted from the start. A step's rate is taken at the token count the
  step ends at, so the first step already moves the weights.
- Batch size: linear ramp from 32 k tokens to the full batch over the first `ramp` tokens,
  rounded down to a whole number of `multiple` sequences (data-parallel size x micro-batch, or
  a fixed multiple so that the ramp is the same for every layout); a step's batch is taken at
  the token count the step starts at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class OptimConfig:
    lr: float | None = None
    """Peak learning rate; None = the model size's (Table 2.1)."""
    min_lr_ratio: float = 0.1
    warmup_tokens: int = 375_000_000
    decay_end_tokens: int = 260_000_000_000
    """Token count at which the cosine reaches min_lr_ratio x peak."""
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    batch_tokens: int | None = None
    """Full batch in tokens; None = the model size's (Table 2.1)."""
    batch_start_tokens: int = 32_768
    batch_ramp_tokens: int | None = None
    """Tokens over which the batch ramps to full; None = the size's, 0 = no ramp."""
    batch_multiple: int | None = None
    """Batches are whole multiples of this many sequences; None = dp x micro_batch."""


def learning_rate(tokens: float, peak: float, warmup_tokens: float, decay_end_tokens: float,
                  min_ratio: float) -> float:
    """Linear warm-up to `peak`, cosine down to `min_ratio * peak` at `decay_end_tokens`, flat."""
    if tokens < warmup_tokens:
        return peak * tokens / warmup_tokens
    floor = min_ratio * peak
    if tokens >= decay_end_tokens:
        return floor
    progress = (tokens - warmup_tokens) / (decay_end_tokens - warmup_tokens)
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def ramped_batch_tokens(tokens: float, full: int, start: int, ramp_tokens: int) -> float:
    """Linear batch-size ramp from `start` to `full` tokens over the first `ramp_tokens`."""
    if ramp_tokens <= 0 or tokens >= ramp_tokens:
        return float(full)
    return start + (full - start) * tokens / ramp_tokens


@dataclass
class Schedule:
    """Where training stands (steps, tokens) and what the next step's batch and rate are."""

    peak_lr: float
    full_batch_tokens: int
    ramp_tokens: int
    seq_len: int
    multiple: int
    config: OptimConfig
    step: int = 0
    tokens: int = 0

    def __post_init__(self) -> None:
        if self.full_batch_tokens < self.multiple * self.seq_len:
            raise ValueError(f"optim.batch_tokens {self.full_batch_tokens} is smaller than one "
                             f"batch multiple ({self.multiple} x {self.seq_len} tokens)")

    def batch_sequences(self) -> int:
        """Sequences in the next step: the ramp's value, a whole multiple, at least one."""
        target = ramped_batch_tokens(self.tokens, self.full_batch_tokens,
                                     self.config.batch_start_tokens, self.ramp_tokens)
        units = int(target // (self.seq_len * self.multiple))
        return max(units, 1) * self.multiple

    def lr(self, batch_sequences: int) -> float:
        """Learning rate of the next step, at the token count the step ends at."""
        c = self.config
        end = self.tokens + batch_sequences * self.seq_len
        return learning_rate(end, self.peak_lr, c.warmup_tokens, c.decay_end_tokens,
                             c.min_lr_ratio)

    def advance(self, batch_sequences: int) -> None:
        self.step += 1
        self.tokens += batch_sequences * self.seq_len

    def state_dict(self) -> dict:
        return {"step": self.step, "tokens": self.tokens}

    def load_state_dict(self, state: dict) -> None:
        self.step, self.tokens = int(state["step"]), int(state["tokens"])


def build_optimizer(model: nn.Module, config: OptimConfig, lr: float) -> torch.optim.AdamW:
    """AdamW with weight decay on parameters of two or more dimensions only."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(config.beta1, config.beta2), eps=config.eps)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
