"""Pipeline parallelism with `torch.distributed.pipelining`: stages of contiguous layers.

The model is cut torchtitan's way: every rank builds the whole seeded model, keeps the modules
of its own stage(s) under their original names (`h.7.attn.c_attn` stays `h.7...`, so
checkpoints load in any layout) and drops the rest. `split_layers` balances the stages by cost:
a block counts 1, the output layer (a d_model x vocabulary matrix multiply, against a block's
12 d_model^2 weights) counts vocab / (12 d_model), the embedding lookup nothing.

Tied embeddings: the first stage holds `wte`, the last an untied copy as `lm_head`, both
starting from the same values. Their gradients are summed between the two stages after every
step (Megatron-LM's embedding group), so both copies receive the tied gradient and stay equal.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributed.pipelining import (
    PipelineStage,
    Schedule1F1B,
    ScheduleGPipe,
    ScheduleInterleaved1F1B,
)

from crawl2gpt.core.config import ConfigError
from crawl2gpt.training.config import GPTConfig
from crawl2gpt.training.model import GPT, band_mask
from crawl2gpt.training.train_config import ParallelConfig

SCHEDULES = {"gpipe": ScheduleGPipe, "1f1b": Schedule1F1B,
             "interleaved1f1b": ScheduleInterleaved1F1B}


def stage_costs(config: GPTConfig) -> tuple[float, float]:
    """(cost of one block, cost of the output layer), in blocks."""
    return 1.0, config.padded_vocab_size / (12 * config.d_model)


def split_layers(config: GPTConfig, num_stages: int) -> list[range]:
    """Contiguous layer ranges, one per stage, minimising the most expensive stage (the last
    also pays for the output layer); only the first and last stage may be left without layers."""
    n, (block, head) = config.n_layer, stage_costs(config)
    inf = float("inf")
    # best[s][i]: lowest achievable max cost placing layers [0, i) on stages [0, s)
    best = [[inf] * (n + 1) for _ in range(num_stages + 1)]
    cut = [[0] * (n + 1) for _ in range(num_stages + 1)]
    best[0][0] = 0.0
    for s in range(1, num_stages + 1):
        last = s == num_stages
        for i in range(n + 1):
            for j in range(i + 1):
                if i == j and 1 < s < num_stages:
                    continue  # a middle stage needs a layer
                cost = max(best[s - 1][j], (i - j) * block + (head if last else 0.0))
                if cost < best[s][i]:
                    best[s][i], cut[s][i] = cost, j
    bounds, i = [], n
    for s in range(num_stages, 0, -1):
        bounds.append(range(cut[s][i], i))
        i = cut[s][i]
    return bounds[::-1]


class GPTStage(nn.Module):
    """Part of a GPT under its original module names; runs from ids or from hidden states."""

    def __init__(self, config: GPTConfig, blocks: dict[str, nn.Module], wte=None, wpe=None,
                 drop=None, ln_f=None, lm_head=None):
        super().__init__()
        self.config = config
        self.wte, self.wpe, self.drop = wte, wpe, drop
        self.h = nn.ModuleDict(blocks)
        self.ln_f, self.lm_head = ln_f, lm_head

    @classmethod
    def of(cls, model: GPT, layers: range, first: bool, last: bool) -> GPTStage:
        head = None
        if last:
            head = model.lm_head
            if not first:  # untied copy, kept equal by `sync_tied_grads`
                head = nn.Linear(model.config.d_model, model.config.padded_vocab_size, bias=False)
                head.weight = nn.Parameter(model.wte.weight.detach().clone())
        return cls(model.config, {str(i): model.h[i] for i in layers},
                   *((model.wte, model.wpe, model.drop) if first else (None, None, None)),
                   model.ln_f if last else None, head)

    @classmethod
    def merged(cls, stages: list[GPTStage]) -> GPTStage:
        """One module over a rank's stages (interleaved schedules hold two), for the optimiser
        and checkpoints."""
        if len(stages) == 1:
            return stages[0]
        pick = {name: next((getattr(s, name) for s in stages if getattr(s, name) is not None),
                           None) for name in ("wte", "wpe", "drop", "ln_f", "lm_head")}
        blocks = {k: v for s in stages for k, v in s.h.items()}
        return cls(stages[0].config, blocks, **pick)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.size(1)
        if self.wte is not None:  # GPT.forward's embedding
            x = self.drop(self.wte(x) + self.wpe(torch.arange(T, device=x.device)))
        band = band_mask(T, self.config.window, x.device) if self.config.banded else None
        for block in self.h.values():
            x = block(x, band)
        if self.lm_head is not None:
            x = self.lm_head(self.ln_f(x))[..., :self.config.vocab_size]
        return x


def stage_ids(parallel: ParallelConfig, pp_rank: int) -> list[int]:
    """The stages a pipeline rank runs: its own, or r and r + pp when interleaved."""
    return [pp_rank + k * parallel.pp for k in range(parallel.stages_per_rank)]


def check_microbatches(parallel: ParallelConfig) -> None:
    n, pp = parallel.microbatches, parallel.pp
    if parallel.pp_schedule in ("1f1b", "interleaved1f1b") and n < pp:
        raise ConfigError(f"parallel.pp_microbatches {n} < pp {pp}: {parallel.pp_schedule} "
                          f"needs at least one micro-batch per pipeline rank")
    if parallel.pp_schedule == "interleaved1f1b" and n % pp:
        raise ConfigError(f"parallel.pp_microbatches {n} is not a multiple of pp {pp} "
                          "(interleaved1f1b runs them in rounds of pp)")


def build_stages(model: GPT, parallel: ParallelConfig, pp_rank: int) -> tuple[list[int],
                                                                             list[GPTStage]]:
    num_stages = parallel.pp * parallel.stages_per_rank
    layers = split_layers(model.config, num_stages)
    ids = stage_ids(parallel, pp_rank)
    return ids, [GPTStage.of(model, layers[i], i == 0, i == num_stages - 1) for i in ids]


def build_schedule(modules: list[nn.Module], ids: list[int], parallel: ParallelConfig,
                   group, device: torch.device, loss_fn):
    num_stages = parallel.pp * parallel.stages_per_rank
    stages = [PipelineStage(m, i, num_stages, device, group=group) for m, i in zip(modules, ids)]
    schedule = SCHEDULES[parallel.pp_schedule]
    return schedule(stages[0] if parallel.stages_per_rank == 1 else stages,
                    n_microbatches=parallel.microbatches, loss_fn=loss_fn, scale_grads=False)
