"""`crawl2gpt train`: train a GPT-3-shaped model on a corpus build's token shards.

    crawl2gpt train --data out/manifest.json --model tiny --set max_steps=200
    crawl2gpt train --config run.toml --set optim.lr=3e-4 --set model.n_ctx=1024
    torchrun --nproc_per_node 8 -m crawl2gpt.training.train --data out/manifest.json \
        --model gpt3-xl --dp 2 --tp 2 --pp 2

A config file (TOML, see training/train_config.py) plus dotted overrides; `--data`, `--model`
and `--out` are shorthands for `data.manifest`, `model.size` and `out_dir`, `--dp/--tp/--pp`
for `parallel.dp/tp/pp`. Under torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT) more
than one process trains on the dp x tp x pp layout (training/parallel, docs/parallelism.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from crawl2gpt.core.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crawl2gpt train", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="run configuration (TOML)")
    parser.add_argument("--data", help="the build's manifest.json (= --set data.manifest=...)")
    parser.add_argument("--model", help="model size, e.g. tiny, gpt3-small (= model.size)")
    parser.add_argument("--out", help="run folder for metrics and checkpoints (= out_dir)")
    for dim, what in (("dp", "data"), ("tp", "tensor"), ("pp", "pipeline")):
        parser.add_argument(f"--{dim}", type=int, help=f"{what}-parallel size "
                            f"(= parallel.{dim}); dp x tp x pp = WORLD_SIZE")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config value, e.g. "
                        "--set optim.lr=3e-4 (repeatable)")
    return parser


def overrides_from_args(args: argparse.Namespace) -> list[str]:
    """Shorthand flags first, so an explicit --set of the same key wins."""
    shorthands = [("data.manifest", args.data), ("model.size", args.model), ("out_dir", args.out),
                  ("parallel.dp", args.dp), ("parallel.tp", args.tp), ("parallel.pp", args.pp)]
    return [f"{key}={json.dumps(value)}" for key, value in shorthands if value] + args.overrides


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from crawl2gpt.training.checkpoint import CheckpointError
    from crawl2gpt.training.data import DataError
    from crawl2gpt.training.train_config import load_train_config
    from crawl2gpt.training.trainer import Trainer
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    try:
        config = load_train_config(args.config, overrides_from_args(args))
        if config.parallel.world_size != world_size:
            raise ConfigError(f"parallel dp x tp x pp = {config.parallel.world_size} but "
                              f"WORLD_SIZE is {world_size} (start it with torchrun "
                              f"--nproc_per_node {config.parallel.world_size})")
        if world_size > 1:
            from crawl2gpt.training.parallel.trainer import ParallelTrainer
            trainer = ParallelTrainer(config)
        else:
            if config.device == "auto" and "LOCAL_RANK" in os.environ:
                config.device = f"cuda:{os.environ['LOCAL_RANK']}" if _has_cuda() else "cpu"
            trainer = Trainer(config)
        if trainer.is_main:
            print(f"model {config.model['size']}: {trainer.gpt.num_params():,} parameters, "
                  f"{trainer.gpt.flops_per_token():,} FLOPs/token", file=sys.stderr)
        records = trainer.fit()
    except (ConfigError, DataError, CheckpointError, ValueError) as e:
        print(f"crawl2gpt train: {e}", file=sys.stderr)
        return 2
    if records and trainer.is_main:
        print(f"trained to step {records[-1]['step']}, {records[-1]['tokens']:,} tokens, "
              f"loss {records[-1]['loss']:.4f}")
    return 0


def _has_cuda() -> bool:
    import torch
    return torch.cuda.is_available()


if __name__ == "__main__":
    sys.exit(main())
