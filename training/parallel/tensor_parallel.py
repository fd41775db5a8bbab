"""Tensor parallelism (Megatron-LM's split) with `torch.distributed.tensor.parallel`.

Per block: q/k/v and the first MLP layer column-wise (each rank holds n_head / tp heads and
4 d_model / tp MLP units), the attention and MLP output projections row-wise (their partial
sums are all-reduced), LayerNorms replicated. The token embedding is split by vocabulary rows
(an even share each: the vocabulary is padded to a multiple of 128, see `check_layout`) and the
tied output layer shares that split; its logits are gathered before the loss.

The fused q/k/v weight (3 d_model rows: all q heads, all k heads, all v heads) is split with
`_StridedShard(0, split_factor=3)`: rank r holds the r-th share of q, of k and of v, so its
local `chunk(3)` gives its own heads' q, k and v while the DTensor's global value is still the
plain model's weight (checkpoints and optimiser state stay layout-free).
"""

from __future__ import annotations

from torch import nn
from torch.distributed.device_mesh import DeviceMesh
from torch.distributed.tensor import Replicate, distribute_tensor
from torch.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module
from torch.distributed.tensor.placement_types import _StridedShard


class FusedQKVColwise(ColwiseParallel):
    """Column-wise split of a fused [q; k; v] projection that keeps each rank's heads whole."""

    def _partition_linear_fn(self, name, module, device_mesh):
        placement = [_StridedShard(0, split_factor=3)]
        for param_name, param in list(module.named_parameters(recurse=False)):
            module.register_parameter(param_name, nn.Parameter(
                distribute_tensor(param, device_mesh, placement, src_data_rank=self.src_data_rank)))

    @staticmethod
    def _prepare_output_fn(output_layouts, use_local_output, mod, outputs, device_mesh):
        """The local [q_r; k_r; v_r] columns as they are (ColwiseParallel would redistribute
        them to a contiguous split, which mixes q with k)."""
        return outputs.to_local()


def block_plan() -> dict:
    return {
        "attn.c_attn": FusedQKVColwise(),
        "attn.c_proj": RowwiseParallel(),
        "mlp.c_fc": ColwiseParallel(),
        "mlp.c_proj": RowwiseParallel(),
    }


def apply_tensor_parallel(model: nn.Module, tp_mesh: DeviceMesh) -> None:
    """Split `model` (a GPT or a pipeline stage of one) in place over `tp_mesh`."""
    for block in model.h.values() if isinstance(model.h, nn.ModuleDict) else model.h:
        parallelize_module(block, tp_mesh, block_plan())
    tied = getattr(model, "wte", None) is not None and getattr(model, "lm_head", None) is not None \
        and model.lm_head.weight is model.wte.weight
    if getattr(model, "wte", None) is not None:
        parallelize_module(model.wte, tp_mesh, RowwiseParallel(input_layouts=Replicate(),
                                                               output_layouts=Replicate()))
    if getattr(model, "lm_head", None) is not None:
        parallelize_module(model.lm_head, tp_mesh, ColwiseParallel(output_layouts=Replicate()))
        if tied:  # both are split by vocabulary rows (Shard(0)): share one parameter again
            model.lm_head.weight = model.wte.weight
