"""Data parallelism with FSDP2 (`fully_shard`): parameters, gradients and optimiser state are
sharded over the "dp" mesh dimension, gathered per block for its forward and backward.

Every block is its own FSDP unit (its weights are gathered just before it runs and freed
after), the rest (embeddings, final LayerNorm, output layer) form the root unit. Gradients are
averaged over the data-parallel ranks by reduce-scatter, so a step's update is the one of the
whole batch. Under pipeline parallelism the weights stay gathered between micro-batches
(`reshard_after_forward=False`), as torchtitan does, to avoid one all-gather per micro-batch.
"""

from __future__ import annotations

from torch import nn
from torch.distributed.device_mesh import DeviceMesh
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import Shard
from torch.distributed.tensor.placement_types import _StridedShard


def _placement(param: nn.Parameter):
    """Shard on dim 0, except weights whose dim 0 is already split by the fused q/k/v
    tensor-parallel layout: those are sharded along dim 1 (their input features)."""
    placements = getattr(param, "placements", ())
    if any(isinstance(p, _StridedShard) for p in placements) and param.dim() > 1:
        return Shard(1)
    return Shard(0)


def apply_data_parallel(module: nn.Module, dp_mesh: DeviceMesh, pipelined: bool) -> None:
    """Shard `module` (a GPT or a pipeline stage) in place over `dp_mesh`."""
    blocks = module.h.values() if isinstance(module.h, nn.ModuleDict) else module.h
    for block in blocks:
        fully_shard(block, mesh=dp_mesh, reshard_after_forward=not pipelined,
                    shard_placement_fn=_placement)
    fully_shard(module, mesh=dp_mesh, reshard_after_forward=not pipelined,
                shard_placement_fn=_placement)
