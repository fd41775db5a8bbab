"""`ParallelTrainer`: the `Trainer` on a dp x tp x pp layout (one process per rank, torchrun).

Every rank builds the same seeded model (so every layout starts from the same weights; for
models too big for that, write a step-0 checkpoint in one process and resume from it in the
layout: checkpoints load across layouts), `parallelize` keeps its share, and the data loader
reads the stream of the rank's data-parallel group (tensor and pipeline peers get the same
batch). Losses are averaged over the data-parallel groups; the learning-rate and batch-size
schedules see the same token counts as one process.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from crawl2gpt.core.config import ConfigError
from crawl2gpt.training.model import GPT
from crawl2gpt.training.parallel.mesh import build_mesh, local_device
from crawl2gpt.training.parallel.parallelize import parallelize
from crawl2gpt.training.schedule import build_optimizer
from crawl2gpt.training.train_config import TrainConfig
from crawl2gpt.training.trainer import Trainer


class ParallelTrainer(Trainer):
    def __init__(self, config: TrainConfig):
        super().__init__(config, rank=0, world_size=config.parallel.dp)

    def _resolve_device(self) -> torch.device:
        return local_device(self.config.device)

    def _build_model(self, model: GPT, peak_lr: float) -> None:
        c = self.config
        if c.compile:
            raise ConfigError("compile = true is not supported on parallel layouts yet "
                              "(docs/parallelism.md)")
        self.layout = build_mesh(c.parallel, self.gpt, self.device)
        self.rank, self.is_main = self.layout.dp_rank, self.layout.rank == 0
        self.parallel = parallelize(model, self.layout, c.parallel, c.micro_batch)
        self.model = self.parallel.local  # this rank's parameters under their GPT names
        self.optimizer = build_optimizer(self.model, c.optim, peak_lr)

    def _forward_backward(self, batch: torch.Tensor, accumulate: int) -> torch.Tensor | None:
        return self.parallel.forward_backward(batch, accumulate)

    def _clip_gradients(self) -> torch.Tensor:
        self.parallel.sync_tied_grads()
        return self.parallel.clip_grad_norm_(self.config.optim.grad_clip)

    def _global_loss(self, loss: torch.Tensor) -> float:
        """Mean over data-parallel groups; only each group's last pipeline rank with tensor
        rank 0 contributes (its tensor peers hold the same value)."""
        return self._reduce(loss if self.parallel.has_last else None)

    def _eval_loss(self, batch: torch.Tensor) -> float:
        return self._reduce(self.parallel.forward_loss(batch))  # every group: the same batch

    def _reduce(self, loss: torch.Tensor | None) -> float:
        lead = loss is not None and self.layout.coordinate("tp") == 0
        share = loss.float() / self.config.parallel.dp if lead else torch.zeros(())
        share = share.to(self.device)
        dist.all_reduce(share)
        return share.item()
