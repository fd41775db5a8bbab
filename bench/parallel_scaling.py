"""Parallel layouts on CPU/gloo: tokens/s and peak memory per rank, with the planner's estimate.

    PYTHONPATH=. .venv/bin/python bench/parallel_scaling.py [--steps 6]

Each layout trains the same small GPT (8 layers, d_model 256, 8 heads, 256 tokens, all-dense,
fp32, a 4,096-token vocabulary so that the output layer does not dwarf the blocks) under
`torch.distributed.run` with the real `ParallelTrainer` step (one process: the plain
`Trainer`), batches of 16 sequences in micro-batches of 8, on random-token shards written by
the builder's shard writer. Timed steps follow one warm-up step. Per rank: peak RSS, RSS
above the rank's post-import baseline, the parameter + gradient + AdamW bytes it actually
holds, and `crawl2gpt plan`'s estimate of those bytes and of its total (model states, working
copies and activations). One CPU cannot show
speed-ups from more ranks (they share the cores): the figures compare layouts' overheads and
how memory splits; multi-GPU layouts are planned, not measured (docs/parallelism.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.train_throughput import rss_mb, write_loader_corpus

REPO = Path(__file__).resolve().parents[1]
LAYOUTS = [  # (label, dp, tp, pp, schedule)
    ("1 process", 1, 1, 1, "1f1b"),
    ("dp2", 2, 1, 1, "1f1b"),
    ("tp2", 1, 2, 1, "1f1b"),
    ("pp2 GPipe", 1, 1, 2, "gpipe"),
    ("pp2 1F1B", 1, 1, 2, "1f1b"),
    ("dp2 x tp2", 2, 2, 1, "1f1b"),
    ("dp2 x pp2", 2, 1, 2, "1f1b"),
]
MODEL = ['model.size="tiny-dense"', "model.n_layer=8", "model.d_model=256", "model.n_head=8",
         "model.n_ctx=256"]


def overrides(manifest: str, out: str, dp: int, tp: int, pp: int, schedule: str) -> list[str]:
    return [f"data.manifest={json.dumps(manifest)}", *MODEL, "precision=\"fp32\"",
            "device=\"cpu\"", f"out_dir={json.dumps(out)}", "micro_batch=8",
            "optim.batch_tokens=4096", "optim.batch_ramp_tokens=0", "optim.batch_multiple=16",
            "eval.every_steps=0", "checkpoint.every_steps=0", "checkpoint.resume=false",
            "log_every=1000", "data.verify_checksums=false", f"parallel.dp={dp}",
            f"parallel.tp={tp}", f"parallel.pp={pp}", f"parallel.pp_schedule=\"{schedule}\""]


def child(args: list[str], steps: int, result: str) -> None:
    """One rank: build, one warm-up step, `steps` timed steps; write this rank's figures."""
    import torch

    from crawl2gpt.training.parallel.plan import rank_plan
    from crawl2gpt.training.train_config import load_train_config
    torch.set_num_threads(1)
    base = rss_mb()
    config = load_train_config(None, args)
    world = config.parallel.world_size
    if world > 1:
        from crawl2gpt.training.parallel.trainer import ParallelTrainer
        trainer = ParallelTrainer(config)
        rank, pp_rank = trainer.layout.rank, trainer.layout.pp_rank
    else:
        from crawl2gpt.training.trainer import Trainer
        trainer, rank, pp_rank = Trainer(config), 0, 0
    trainer.train_step()
    start = time.perf_counter()
    tokens = sum(trainer.train_step()["batch_tokens"] for _ in range(steps))
    elapsed = time.perf_counter() - start
    trainer.loader.close()

    def local(t):
        return t.to_local() if hasattr(t, "to_local") else t
    params = list(trainer.model.parameters())
    held = sum(local(p).numel() * 4 for p in params) * 2 + sum(
        local(v).numel() * 4 for s in trainer.optimizer.state.values()
        for k, v in s.items() if k in ("exp_avg", "exp_avg_sq"))
    plan = rank_plan(config.gpt_config(), config.parallel, pp_rank, config.micro_batch,
                     config.gpt_config().n_ctx, "fp32")
    figures = {"rank": rank, "pp_rank": pp_rank, "tokens_per_s": tokens / elapsed,
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "rss_above_base_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
               - base, "model_states_mb": held / 2**20,
               "plan_model_states_mb": (plan.params + plan.grads + plan.optimizer) / 2**20,
               "plan_total_mb": plan.total / 2**20}
    Path(result, f"rank{rank}.json").write_text(json.dumps(figures))
    if world > 1:
        import torch.distributed as dist
        dist.destroy_process_group()


def run_layout(manifest: Path, root: Path, label: str, dp: int, tp: int, pp: int,
               schedule: str, steps: int) -> list[dict]:
    out = root / label.replace(" ", "_")
    out.mkdir()
    args = overrides(str(manifest), str(out), dp, tp, pp, schedule)
    spec = out / "args.json"
    spec.write_text(json.dumps(args))
    me = [str(Path(__file__).resolve()), "--child", str(spec), "--steps", str(steps),
          "--result", str(out)]
    world = dp * tp * pp
    command = [sys.executable, *me] if world == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        f"--nproc_per_node={world}", *me]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    subprocess.run(command, check=True, env=env, cwd=REPO, capture_output=True, timeout=1200)
    return [json.loads(p.read_text()) for p in sorted(out.glob("rank*.json"))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--child")
    parser.add_argument("--result")
    args = parser.parse_args()
    if args.child:
        return child(json.loads(Path(args.child).read_text()), args.steps, args.result)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "corpus").mkdir()
        manifest = write_loader_corpus(root / "corpus", 1_000_000, vocab_size=4096)
        print("| layout | rank (pp stage) | tokens/s (whole run) | peak RSS MB | RSS above "
              "base MB | model states MB held / planned | planner total MB |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for label, dp, tp, pp, schedule in LAYOUTS:
            ranks = run_layout(manifest, root, label, dp, tp, pp, schedule, args.steps)
            for r in ranks:
                print(f"| {label} | {r['rank']} ({r['pp_rank']}) | {r['tokens_per_s']:,.0f} | "
                      f"{r['peak_rss_mb']:,.0f} | {r['rss_above_base_mb']:,.0f} | "
                      f"{r['model_states_mb']:,.1f} / {r['plan_model_states_mb']:,.1f} | "
                      f"{r['plan_total_mb']:,.1f} |", flush=True)


if __name__ == "__main__":
    main()
