"""Activation checkpointing per block: only a block's input is saved for backward, the block
is run again during backward (Chen et al. 2016; Megatron-LM's full recomputation).

The block's `forward` is wrapped in place, so module names (and checkpoints) do not change.
Recomputation is deterministic here (no dropout RNG is consumed differently: the default
`preserve_rng_state` replays it), so losses equal the run without it.
"""

from __future__ import annotations

import functools

from torch import nn
from torch.utils.checkpoint import checkpoint


def apply_activation_checkpointing(model: nn.Module) -> None:
    """Checkpoint every block of `model` (a GPT or a pipeline stage of one)."""
    for block in model.h.values() if isinstance(model.h, nn.ModuleDict) else model.h:
        block.forward = functools.partial(checkpoint, block.forward, use_reentrant=False)
