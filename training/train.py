"""`crawl2gpt train`: train a GPT-3-shaped model on a corpus build's token shards.

    crawl2gpt train --data out/manifest.json --model tiny --set max_steps=200
    crawl2gpt train --config run.toml --set optim.lr=3e-4 --set model.n_ctx=1024
    torchrun --nproc_per_node 1 -m training.train --data out/manifest.json --model gpt3-small

A config file (TOML, see training/train_config.py) plus dotted overrides; `--data`, `--model`
and `--out` are shorthands for `data.manifest`, `model.size` and `out_dir`. Under torchrun the
process reads RANK/WORLD_SIZE/LOCAL_RANK; more than one process needs the parallelism layer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from pipeline.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crawl2gpt train", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="run configuration (TOML)")
    parser.add_argument("--data", help="the build's manifest.json (= --set data.manifest=...)")
    parser.add_argument("--model", help="model size, e.g. tiny, gpt3-small (= model.size)")
    parser.add_argument("--out", help="run folder for metrics and checkpoints (= out_dir)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config value, e.g. "
                        "--set optim.lr=3e-4 (repeatable)")
    return parser


def overrides_from_args(args: argparse.Namespace) -> list[str]:
    """Shorthand flags first, so an explicit --set of the same key wins."""
    shorthands = [("data.manifest", args.data), ("model.size", args.model), ("out_dir", args.out)]
    return [f"{key}={json.dumps(value)}" for key, value in shorthands if value] + args.overrides


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from training.checkpoint import CheckpointError
    from training.data import DataError
    from training.train_config import load_train_config
    from training.trainer import Trainer
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    try:
        if world_size > 1:
            raise ConfigError(f"WORLD_SIZE={world_size}: multi-process training needs the "
                              "parallelism layer (training/parallelize.py); run one process")
        config = load_train_config(args.config, overrides_from_args(args))
        if config.device == "auto" and "LOCAL_RANK" in os.environ:
            config.device = f"cuda:{os.environ['LOCAL_RANK']}" if _has_cuda() else "cpu"
        trainer = Trainer(config)
        print(f"model {config.model['size']}: {trainer.model.num_params():,} parameters, "
              f"{trainer.gpt.flops_per_token():,} FLOPs/token", file=sys.stderr)
        records = trainer.fit()
    except (ConfigError, DataError, CheckpointError, ValueError) as e:
        print(f"crawl2gpt train: {e}", file=sys.stderr)
        return 2
    if records:
        print(f"trained to step {records[-1]['step']}, {records[-1]['tokens']:,} tokens, "
              f"loss {records[-1]['loss']:.4f}")
    return 0


def _has_cuda() -> bool:
    import torch
    return torch.cuda.is_available()


train_main = main

if __name__ == "__main__":
    sys.exit(main())
