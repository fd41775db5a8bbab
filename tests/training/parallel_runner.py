"""Trains a list of layouts one after the other in the same torchrun processes (one start-up
for all of them), rank 0 writing each run's step records to `<out_dir>/records.json`, every
rank the elements of parameters and optimiser state it holds and the next batch its loader
would give to `<out_dir>/rank<r>.json`.

    python -m torch.distributed.run --standalone --nproc_per_node 2 \\
        -m tests.training.parallel_runner RUNS_JSON

RUNS_JSON is a list of [out_dir, [KEY=VALUE overrides]].
"""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.distributed.tensor import DTensor

from crawl2gpt.training.parallel.trainer import ParallelTrainer
from crawl2gpt.training.train_config import load_train_config


def parity_settings(manifest, out_dir, *extra) -> list[str]:
    """A tiny all-fp32 GPT (2 layers, d_model 32, 4 heads, 16 tokens, banded window 8) on the
    byte corpus: batches of 8 sequences in micro-batches of 4 (so one process accumulates two
    micro-batches, dp=2 one each), warm-up 256 tokens, peak rate 1e-3, clip 1.0, no dropout;
    validation loss at step 10 over 30 held-out sequences per source (the last batch short)."""
    return [f"data.manifest={json.dumps(str(manifest))}", "model.size=tiny",
            "model.vocab_size=257", "model.d_model=32", "model.n_ctx=16", "model.window=8",
            "model.dropout=0.0", "precision=\"fp32\"", "device=\"cpu\"",
            f"out_dir={json.dumps(str(out_dir))}", "micro_batch=4", "optim.lr=1e-3",
            "optim.warmup_tokens=256", "optim.decay_end_tokens=20000",
            "optim.batch_tokens=128", "optim.batch_ramp_tokens=0", "optim.batch_multiple=8",
            "eval.every_steps=10", "eval.sequences=30", "log_every=100", "checkpoint.every_steps=0",
            "checkpoint.keep=2", "data.prefetch=1", *extra]


def _local(t: torch.Tensor) -> torch.Tensor:
    return t.to_local() if isinstance(t, DTensor) else t


def held(trainer: ParallelTrainer) -> dict:
    """This rank's place, the elements it holds (parameters: its shards; AdamW's moments) and
    the micro-batch its loader hands out next."""
    state = trainer.optimizer.state.values()
    batch = trainer.loader.next_batch().tolist()
    trainer.loader.close()
    return {"pp_rank": trainer.layout.pp_rank, "dp_rank": trainer.layout.dp_rank,
            "next_batch": batch,
            "params": sum(_local(p).numel() for p in trainer.model.parameters()),
            "optimizer": sum(_local(v).numel() for s in state for k, v in s.items()
                             if k in ("exp_avg", "exp_avg_sq"))}


def main(runs: list) -> None:
    torch.set_num_threads(1)
    for out_dir, overrides in runs:
        trainer = ParallelTrainer(load_train_config(None, overrides))
        records = trainer.fit()
        if dist.get_rank() == 0:
            Path(out_dir, "records.json").write_text(json.dumps(records))
        Path(out_dir, f"rank{dist.get_rank()}.json").write_text(json.dumps(held(trainer)))
        dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(json.loads(Path(sys.argv[1]).read_text()))
