"""`parallelize(model, layout, parallel, micro_batch)`: one seeded GPT becomes this rank's
share of it.

Order (torchtitan's): pipeline split, then tensor parallelism inside each stage, activation
checkpointing, then FSDP2 over the data-parallel dimension. The result runs forward/backward on
a micro-batch, keeps the tied embedding equal across pipeline stages and clips by the norm of
the whole model's gradient, wherever its shards live.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.distributed.tensor import DTensor
from torch.distributed.tensor.placement_types import _StridedShard

from crawl2gpt.training.model import GPT, lm_loss
from crawl2gpt.training.parallel.activation_checkpoint import apply_activation_checkpointing
from crawl2gpt.training.parallel.data_parallel import apply_data_parallel
from crawl2gpt.training.parallel.mesh import Layout
from crawl2gpt.training.parallel.pipeline_parallel import (
    GPTStage,
    build_schedule,
    build_stages,
    check_microbatches,
)
from crawl2gpt.training.parallel.tensor_parallel import apply_tensor_parallel
from crawl2gpt.training.train_config import ParallelConfig


class ParallelModel:
    """This rank's parts of the model and how to run them."""

    def __init__(self, parts: list[nn.Module], local: nn.Module, layout: Layout,
                 parallel: ParallelConfig, stage_ids: list[int], micro_batch: int):
        self.parts, self.local, self.layout, self.parallel = parts, local, layout, parallel
        self.micro_batch = micro_batch
        self.summed = False
        num_stages = parallel.pp * parallel.stages_per_rank
        self.has_first = 0 in stage_ids
        self.has_last = num_stages - 1 in stage_ids
        self.divisor = 1
        self.schedule = None
        if parallel.pp > 1:
            self.schedule = build_schedule(parts, stage_ids, parallel,
                                           layout.mesh["pp"].get_group(), layout.device,
                                           self._loss)
        self._tied_group = _tied_embedding_group(layout) if parallel.pp > 1 else None

    def _loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """A pipeline micro-batch's share of the step's loss (the schedule's own gradient
        scaling is off: it would also rescale gradients accumulated by earlier calls). In
        evaluation: the sum over tokens, padding rows (target -100) left out."""
        if self.summed:
            return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(),
                                   reduction="sum")
        return lm_loss(logits, targets) / (self.divisor * self.parallel.microbatches)

    def forward_backward(self, batch: torch.Tensor, accumulate: int) -> torch.Tensor | None:
        """Loss of one micro-batch (None on ranks without the last stage); its gradient,
        divided by `accumulate`, added (as `Trainer._forward_backward`)."""
        inputs, targets = batch[:, :-1], batch[:, 1:]
        if self.schedule is None:
            loss = lm_loss(self.parts[0](inputs), targets)
            (loss / accumulate).backward()
            return loss.detach()
        self.divisor = accumulate
        losses: list[torch.Tensor] = []
        self.schedule.step(*((inputs,) if self.has_first else ()),
                           target=targets if self.has_last else None,
                           losses=losses if self.has_last else None)
        if not self.has_last:
            return None
        return torch.stack([loss.detach() for loss in losses]).sum() * accumulate

    @torch.no_grad()
    def forward_loss(self, batch: torch.Tensor) -> torch.Tensor | None:
        """Mean loss of a batch of up to `micro_batch` rows, without gradients (None on ranks
        without the last stage). The pipeline's stages expect `micro_batch` rows, so a short
        batch is padded with rows whose targets the loss ignores."""
        inputs, targets = batch[:, :-1], batch[:, 1:]
        if self.schedule is None:
            return lm_loss(self.parts[0](inputs), targets)
        pad = self.micro_batch - len(batch)
        inputs = F.pad(inputs, (0, 0, 0, pad))
        targets = F.pad(targets, (0, 0, 0, pad), value=-100)
        losses: list[torch.Tensor] = []
        self.summed = True
        try:
            self.schedule.eval(*((inputs,) if self.has_first else ()),
                               target=targets if self.has_last else None,
                               losses=losses if self.has_last else None)
        finally:
            self.summed = False
        return torch.stack(losses).sum() / batch[:, 1:].numel() if self.has_last else None

    def tied_copy(self) -> nn.Parameter | None:
        """The parameter this rank holds of the tied embedding, when pipelining split it."""
        if self._tied_group is None:
            return None
        if self.has_first:
            return self.local.wte.weight
        if self.has_last:
            return self.local.lm_head.weight
        return None

    def sync_tied_grads(self) -> None:
        """Sum the embedding's and the output layer's gradients between first and last stage."""
        param = self.tied_copy()
        if param is not None and param.grad is not None:
            grad = param.grad._local_tensor if isinstance(param.grad, DTensor) else param.grad
            dist.all_reduce(grad, group=self._tied_group)

    @torch.no_grad()
    def clip_grad_norm_(self, max_norm: float) -> torch.Tensor:
        """Global L2 norm of all gradients (each tensor counted once over every shard, replica
        and stage), then the same scaling as `torch.nn.utils.clip_grad_norm_`. Local sums of
        squares are added per sharding pattern, then all-reduced once per mesh dimension the
        pattern splits (replicated dimensions hold copies and are not summed)."""
        params = [p for p in self.local.parameters() if p.grad is not None]
        skip = self.local.lm_head.weight if (self._tied_group is not None and self.has_last
                                            and not self.has_first) else None
        zero = torch.zeros((), dtype=torch.float32, device=self.layout.device)
        squares: dict[tuple[str, ...], list] = {}  # split dims -> [mesh, sum of squares]
        for p in params:
            if p is skip:
                continue  # counted on the first stage, as wte
            grad, mesh, split = p.grad, None, ()
            if isinstance(grad, DTensor):
                mesh = grad.device_mesh
                split = tuple(name for name, placement in zip(mesh.mesh_dim_names,
                                                              grad.placements)
                              if placement.is_shard() or isinstance(placement, _StridedShard))
                grad = grad._local_tensor
            entry = squares.setdefault(split, [mesh, zero.clone()])
            entry[1] += torch.linalg.vector_norm(grad, dtype=torch.float32) ** 2
        total = zero.clone()
        for split, (mesh, square) in squares.items():
            for name in split:
                dist.all_reduce(square, group=mesh.get_group(name))
            total += square
        if self.parallel.pp > 1:
            dist.all_reduce(total, group=self.layout.mesh["pp"].get_group())
        total = total.sqrt()
        coef = torch.clamp(max_norm / (total + 1e-6), max=1.0).item()
        for p in params:
            p.grad.mul_(coef)
        return total


def _tied_embedding_group(layout: Layout):
    """The process group of the first and last pipeline rank at this rank's (dp, tp) place."""
    ranks = layout.mesh.mesh  # (pp, dp, tp) global ranks
    mine = None
    for d in range(ranks.size(1)):
        for t in range(ranks.size(2)):
            pair = sorted({int(ranks[0, d, t]), int(ranks[-1, d, t])})
            group = dist.new_group(pair)
            if layout.rank in pair:
                mine = group
    return mine


def parallelize(model: GPT, layout: Layout, parallel: ParallelConfig,
                micro_batch: int) -> ParallelModel:
    """Split, shard and wrap `model` (built identically on every rank) for this rank."""
    if parallel.pp > 1:
        check_microbatches(parallel)
        ids, parts = build_stages(model, parallel, layout.pp_rank)
    else:
        ids, parts = [0], [model]
    for part in parts:
        if parallel.tp > 1:
            apply_tensor_parallel(part, layout.mesh["tp"])
        if parallel.activation_checkpointing:
            apply_activation_checkpointing(part)
        if parallel.dp > 1:
            apply_data_parallel(part, layout.mesh["dp"], pipelined=parallel.pp > 1)
    local = GPTStage.merged(parts) if parallel.pp > 1 else model
    return ParallelModel(parts, local, layout, parallel, ids, micro_batch)
