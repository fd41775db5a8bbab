"""`crawl2gpt plan`: memory per GPU of a dp x tp x pp layout, before renting the GPUs.

    crawl2gpt plan --model gpt3-175b --dp 8 --tp 8 --pp 16 --micro-batch 8 --gpu-memory 80GB

Counts what this trainer keeps (docs/parallelism.md has the formulas): fp32 parameters,
gradients and AdamW's two moments, each split by tp (the tensors tensor parallelism splits) and
by dp (FSDP2); the working copies (FSDP's gathered parameters, autocast's bf16 weight casts);
and the activations saved for backward, per layer per token, times the micro-batches a
pipeline rank holds at its peak. Reported for the most loaded rank (the biggest stage).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

from crawl2gpt.core.config import ConfigError
from crawl2gpt.training.config import SIZES, GPTConfig, model_config
from crawl2gpt.training.parallel.pipeline_parallel import split_layers
from crawl2gpt.training.train_config import PIPELINE_SCHEDULES, ParallelConfig

GIB = 2**30


def block_params(c: GPTConfig, tp: int) -> float:
    """One block's parameters on one tensor-parallel rank (LayerNorms and the row-parallel
    biases are replicated, everything else split)."""
    d = c.d_model
    split = 3 * d * d + (3 * d if c.use_qkv_bias else 0) + d * d + 4 * d * d + 4 * d + 4 * d * d
    replicated = 2 * 2 * d + d + d  # two LayerNorms, the two output-projection biases
    return split / tp + replicated


def stage_params(c: GPTConfig, layers: int, first: bool, last: bool, tp: int) -> float:
    """Parameters of a stage on one tensor-parallel rank (before FSDP's dp split)."""
    n = layers * block_params(c, tp)
    embedding = c.padded_vocab_size * c.d_model / tp
    if first:
        n += embedding + c.n_ctx * c.d_model  # wte (split by vocabulary), wpe (replicated)
    if last:
        n += 2 * c.d_model + (0 if first else embedding)  # ln_f, the untied head copy
    return n


def layer_activation_bytes(c: GPTConfig, tp: int, act_bytes: int) -> float:
    """Bytes saved for backward per token by one block: the fp32 inputs of its two LayerNorms
    (the residual stream) and their mean/rstd, the LayerNorms' outputs as the q/k/v and first
    MLP inputs (replicated), and per tensor-parallel shard q, k, v, the attention output (the
    output projection's input is the same storage), SDPA's log-sum-exp per head, and the MLP
    hidden layer before and after GELU: 12 d_model / tp."""
    d = c.d_model
    return 2 * d * 4 + 2 * 2 * 4 + (2 * d + 12 * d / tp) * act_bytes + c.n_head / tp * 4


def head_activation_bytes(c: GPTConfig, act_bytes: int) -> float:
    """Per token on the last stage: the target ids, ln_f's fp32 input and mean/rstd, the head's
    input, and the fp32 log-softmax over the real vocabulary that the loss saves (logits are
    gathered whole: no loss parallelism)."""
    return 8 + c.d_model * 4 + 2 * 4 + c.d_model * act_bytes + c.vocab_size * 4


def in_flight(parallel: ParallelConfig) -> float:
    """Micro-batches whose activations the first pipeline rank holds at its peak."""
    m, p, v = parallel.microbatches, parallel.pp, parallel.stages_per_rank
    if p == 1:
        return 1
    if parallel.pp_schedule == "gpipe":
        return m
    if parallel.pp_schedule == "1f1b":
        return min(m, p)
    return min(m, p) * (1 + (p - 1) / (p * v))  # Narayanan et al. 2021, interleaved


@dataclass
class Plan:
    params: float
    grads: float
    optimizer: float
    working: float
    activations: float

    @property
    def total(self) -> float:
        return self.params + self.grads + self.optimizer + self.working + self.activations


def rank_plan(c: GPTConfig, parallel: ParallelConfig, pp_rank: int, micro_batch: int,
              seq_len: int, precision: str = "bf16") -> Plan:
    """Bytes on one rank of pipeline position `pp_rank`; see the module docstring."""
    act_bytes = 2 if precision == "bf16" else 4
    stages = parallel.pp * parallel.stages_per_rank
    layers = split_layers(c, stages)
    ids = [pp_rank + k * parallel.pp for k in range(parallel.stages_per_rank)]
    parts = [stage_params(c, len(layers[i]), i == 0, i == stages - 1, parallel.tp) for i in ids]
    n = sum(parts)
    if parallel.pp > 1:
        tokens = micro_batch // parallel.microbatches * seq_len
        flight = max(1.0, in_flight(parallel) - pp_rank)
    else:
        tokens, flight = micro_batch * seq_len, 1.0
    layer = layer_activation_bytes(c, parallel.tp, act_bytes)
    recompute = 0.0
    if parallel.activation_checkpointing:  # a block's fp32 input; one block's full set while
        layer, recompute = 4 * c.d_model, layer * tokens  # it is recomputed in backward
    per_token = sum(len(layers[i]) for i in ids) * layer
    if 0 in ids:
        per_token += 8  # the token ids the embedding saves
    if stages - 1 in ids:
        per_token += head_activation_bytes(c, act_bytes)
    gathered = 0.0
    if parallel.dp > 1:  # FSDP: the whole stage under pp (kept gathered), else its biggest unit
        root = n - sum(len(layers[i]) for i in ids) * block_params(c, parallel.tp)
        gathered = 4 * (n if parallel.pp > 1 else max(block_params(c, parallel.tp), root))
    casts = 2 * n if precision == "bf16" else 0.0
    sharded = n / parallel.dp
    return Plan(4 * sharded, 4 * sharded, 8 * sharded, gathered + casts,
                per_token * tokens * flight + recompute)


def plan(c: GPTConfig, parallel: ParallelConfig, micro_batch: int, seq_len: int,
         precision: str = "bf16") -> Plan:
    """The most loaded pipeline rank's bytes."""
    return max((rank_plan(c, parallel, r, micro_batch, seq_len, precision)
                for r in range(parallel.pp)), key=lambda p: p.total)


def parse_bytes(text: str) -> float:
    m = re.fullmatch(r"\s*([\d.]+)\s*(GB|GiB|G|MB|MiB|M|TB)?\s*", text, re.IGNORECASE)
    if not m:
        raise ConfigError(f"--gpu-memory {text!r}: expected e.g. 80GB, 40GiB or 24576MB")
    unit = (m.group(2) or "GB").upper()
    scale = {"GB": 1e9, "G": 1e9, "GIB": GIB, "MB": 1e6, "M": 1e6, "MIB": 2**20, "TB": 1e12}
    return float(m.group(1)) * scale[unit]


def report(size: str, c: GPTConfig, parallel: ParallelConfig, p: Plan, micro_batch: int,
           seq_len: int, budget: float | None) -> str:
    rows = [("parameters (fp32)", p.params), ("gradients (fp32)", p.grads),
            ("optimizer (AdamW m, v)", p.optimizer),
            ("working (FSDP gather, bf16 casts)", p.working),
            ("activations", p.activations), ("total", p.total)]
    schedule = (f" ({parallel.pp_schedule}, {parallel.microbatches} pipeline micro-batches)"
                if parallel.pp > 1 else "")
    if parallel.activation_checkpointing:
        schedule += ", activation checkpointing"
    title = (f"{size}: {c.num_params():,} parameters; dp {parallel.dp} x tp {parallel.tp} x pp "
             f"{parallel.pp}{schedule} = {parallel.world_size} GPUs; micro-batch {micro_batch} "
             f"x {seq_len} tokens")
    lines = [title, "per GPU (most loaded pipeline rank):"]
    lines += [f"  {name:<36} {value / GIB:>10.2f} GiB" for name, value in rows]
    if budget is not None:
        verdict = "fits" if p.total <= budget else "DOES NOT FIT"
        lines.append(f"  {verdict}: {p.total / GIB:.2f} GiB of {budget / GIB:.2f} GiB")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crawl2gpt plan", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help=f"size: {', '.join(SIZES)}")
    for dim in ("dp", "tp", "pp"):
        parser.add_argument(f"--{dim}", type=int, default=1)
    parser.add_argument("--micro-batch", type=int, default=1,
                        help="sequences per forward/backward on a rank (the trainer's micro_batch)")
    parser.add_argument("--seq-len", type=int, help="tokens per sequence (default: n_ctx)")
    parser.add_argument("--schedule", default="1f1b", choices=PIPELINE_SCHEDULES)
    parser.add_argument("--pp-microbatches", type=int, default=0,
                        help="pipeline micro-batches per micro-batch (default: pp)")
    parser.add_argument("--precision", default="bf16", choices=("bf16", "fp32"))
    parser.add_argument("--activation-checkpointing", action="store_true",
                        help="recompute each block in backward (parallel.activation_checkpointing)")
    parser.add_argument("--gpu-memory", help="flag the layout if it needs more, e.g. 80GB")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        c = model_config(args.model)
        parallel = ParallelConfig(args.dp, args.tp, args.pp, args.schedule, args.pp_microbatches,
                                  args.activation_checkpointing)
        budget = parse_bytes(args.gpu_memory) if args.gpu_memory else None
        if args.micro_batch % parallel.microbatches and parallel.pp > 1:
            raise ConfigError(f"--micro-batch {args.micro_batch} is not divisible by "
                              f"{parallel.microbatches} pipeline micro-batches")
        from crawl2gpt.training.parallel.mesh import check_layout
        check_layout(parallel, parallel.world_size, c)
    except (ConfigError, ValueError) as e:
        print(f"crawl2gpt plan: {e}", file=sys.stderr)
        return 2
    seq_len = args.seq_len or c.n_ctx
    p = plan(c, parallel, args.micro_batch, seq_len, args.precision)
    print(report(args.model, c, parallel, p, args.micro_batch, seq_len, budget))
    return 0 if budget is None or p.total <= budget else 1


if __name__ == "__main__":
    sys.exit(main())
