"""A training run's configuration: typed dataclasses from one TOML file plus dotted overrides.

    model = { size = "gpt3-small", n_ctx = 1024 }   # a named size, then GPTConfig fields
    micro_batch = 8
    [data]
    manifest = "out/manifest.json"
    [optim]
    lr = 6e-4

`load_train_config("run.toml", ["optim.lr=3e-4", "model.size=tiny"])`; the resolved config is
stored as JSON in every checkpoint and in the run's `config.json`.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawl2gpt.core.config import ConfigError, apply_override, from_dict
from crawl2gpt.training.config import SIZES, GPTConfig, model_config
from crawl2gpt.training.schedule import OptimConfig


@dataclass
class DataConfig:
    manifest: str = ""
    """The corpus build's manifest.json (its "tokens" section lists the shards)."""
    val_row_groups: int = 1
    """Row groups at the end of each source held out for validation (0 = none)."""
    val_fraction: float = 0.1
    """For a source with no more row groups than that: share of its last group's rows held out."""
    verify_checksums: bool = True
    """Hash each shard against the manifest's sha256 before its first use."""
    prefetch: int = 4
    """Micro-batches the background thread prepares ahead."""


@dataclass
class CheckpointConfig:
    dir: str = ""
    """Checkpoint folder; empty = `<out_dir>/checkpoints`."""
    every_steps: int = 1000
    keep: int = 3
    resume: bool = True
    """Continue from the newest complete checkpoint in `dir` when there is one."""


@dataclass
class EvalConfig:
    every_steps: int = 500
    """Validation loss per source every this many steps (0 = never)."""
    sequences: int = 32
    """Held-out sequences per source."""


PIPELINE_SCHEDULES = ("gpipe", "1f1b", "interleaved1f1b")


@dataclass
class ParallelConfig:
    """The 3-D layout (training/parallel): dp x tp x pp processes = WORLD_SIZE."""

    dp: int = 1
    """Data-parallel groups (FSDP2 `fully_shard` over them); each reads its own samples."""
    tp: int = 1
    """Tensor-parallel ranks splitting every matrix multiply (heads, MLP width, vocabulary)."""
    pp: int = 1
    """Pipeline ranks, each holding a contiguous run of layers."""
    pp_schedule: str = "1f1b"
    """`gpipe`, `1f1b` or `interleaved1f1b` (two stages per pipeline rank)."""
    pp_microbatches: int = 0
    """Pipeline micro-batches each `micro_batch` is split into; 0 = pp (the smallest that
    keeps every stage busy under 1F1B). Must divide micro_batch."""
    activation_checkpointing: bool = False
    """Keep only each block's input for backward and recompute the block (about a third more
    compute for a fraction of the activation memory); any layout, one process included."""

    def __post_init__(self) -> None:
        for name in ("dp", "tp", "pp"):
            if getattr(self, name) < 1:
                raise ConfigError(f"parallel.{name} must be >= 1, got {getattr(self, name)}")
        if self.pp_schedule not in PIPELINE_SCHEDULES:
            raise ConfigError(f"parallel.pp_schedule: {self.pp_schedule!r} is not one of "
                              f"{PIPELINE_SCHEDULES}")
        if self.pp_microbatches < 0:
            raise ConfigError(f"parallel.pp_microbatches must be >= 0, got {self.pp_microbatches}")

    @property
    def world_size(self) -> int:
        return self.dp * self.tp * self.pp

    @property
    def microbatches(self) -> int:
        return self.pp_microbatches or self.pp

    @property
    def stages_per_rank(self) -> int:
        return 2 if self.pp_schedule == "interleaved1f1b" and self.pp > 1 else 1


@dataclass
class TrainConfig:
    model: dict[str, Any] = field(default_factory=lambda: {"size": "tiny"})
    """`size` (a name from training.config.SIZES) and GPTConfig fields that override it."""
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    parallel: ParallelConfig = field(default_factory=ParallelConfig)
    micro_batch: int = 8
    """Sequences per forward/backward on one rank; steps accumulate micro-batches."""
    max_tokens: int = 300_000_000_000
    """Training budget in tokens (the paper: 300 B)."""
    max_steps: int = 0
    """Stop after this many steps (0 = only the token budget)."""
    out_dir: str = "runs/train"
    seed: int = 1234
    """Seeds the model's initialisation (the data order comes from the manifest's seed)."""
    device: str = "auto"
    """`auto` (cuda when present), `cpu`, `cuda`, `cuda:1`, ..."""
    precision: str = "auto"
    """`auto` (bf16 autocast where the device supports it), `bf16` or `fp32`."""
    compile: bool = False
    log_every: int = 10
    peak_flops: float = 0.0
    """Device peak FLOP/s for the MFU estimate; 0 = known GPUs' bf16 dense peak, else none."""

    def __post_init__(self) -> None:
        if "size" not in self.model:
            raise ConfigError(f"model.size: missing; known sizes: {sorted(SIZES)}")
        self.gpt_config()  # validates the shape now
        for name in ("micro_batch", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ConfigError(f"precision: {self.precision!r} is not auto, bf16 or fp32")
        p = self.parallel
        if p.pp > 1 and self.micro_batch % p.microbatches:
            raise ConfigError(f"micro_batch {self.micro_batch} is not divisible by "
                              f"parallel.pp_microbatches {p.microbatches}")

    def gpt_config(self) -> GPTConfig:
        fields = {k: v for k, v in self.model.items() if k != "size"}
        try:
            return model_config(self.model["size"], **fields)
        except (TypeError, ValueError) as e:
            raise ConfigError(str(e)) from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_NESTED = {"data": DataConfig, "optim": OptimConfig, "checkpoint": CheckpointConfig,
           "eval": EvalConfig, "parallel": ParallelConfig}


def load_train_config(path: str | Path | None, overrides: list[str] = ()) -> TrainConfig:
    """The run config from a TOML file (or defaults) with `a.b=value` overrides applied."""
    data: dict[str, Any] = {}
    where = ""
    if path:
        where = f" in {path}"
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} not found") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: {e}") from None
    for assignment in overrides:
        apply_override(data, assignment)
    return from_dict(TrainConfig, data, "", where, _NESTED)
