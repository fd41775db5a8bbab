"""The process layout: a 3-D `DeviceMesh` of ("pp", "dp", "tp") over the torchrun processes.

Tensor parallelism is the innermost dimension (consecutive ranks, i.e. the GPUs of one node
share the chattiest collectives), then data parallelism, then pipeline stages, as Megatron-LM
and torchtitan order them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh

from crawl2gpt.core.config import ConfigError
from crawl2gpt.training.config import GPTConfig
from crawl2gpt.training.train_config import ParallelConfig

MESH_DIMS = ("pp", "dp", "tp")


def check_layout(parallel: ParallelConfig, world_size: int, gpt: GPTConfig) -> None:
    """Every reason the layout cannot run this model on `world_size` processes, as one error."""
    problems = []
    if parallel.world_size != world_size:
        problems.append(f"dp x tp x pp = {parallel.dp} x {parallel.tp} x {parallel.pp} = "
                        f"{parallel.world_size} but WORLD_SIZE is {world_size}")
    if gpt.n_head % parallel.tp:
        problems.append(f"model.n_head {gpt.n_head} is not divisible by tp {parallel.tp}")
    if gpt.padded_vocab_size % parallel.tp:
        problems.append(f"padded vocabulary {gpt.padded_vocab_size} is not divisible by tp "
                        f"{parallel.tp}")
    stages = parallel.pp * parallel.stages_per_rank
    if parallel.pp > 1 and stages > gpt.n_layer + 2:
        problems.append(f"{stages} pipeline stages need at least {stages - 2} layers, the model "
                        f"has {gpt.n_layer}")
    if problems:
        raise ConfigError("parallel layout: " + "; ".join(problems))


@dataclass(frozen=True)
class Layout:
    """This process's place in the mesh."""

    mesh: DeviceMesh
    rank: int
    device: torch.device

    def size(self, dim: str) -> int:
        return self.mesh[dim].size()

    def coordinate(self, dim: str) -> int:
        return self.mesh[dim].get_local_rank()

    @property
    def dp_rank(self) -> int:
        return self.coordinate("dp")

    @property
    def pp_rank(self) -> int:
        return self.coordinate("pp")


def init_distributed(device: torch.device) -> None:
    """Join torchrun's process group: NCCL on GPUs, gloo on CPU (env:// rendezvous)."""
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, device_id=device if device.type == "cuda" else None)


def build_mesh(parallel: ParallelConfig, gpt: GPTConfig, device: torch.device) -> Layout:
    init_distributed(device)
    check_layout(parallel, dist.get_world_size(), gpt)
    mesh = init_device_mesh(device.type, (parallel.pp, parallel.dp, parallel.tp),
                            mesh_dim_names=MESH_DIMS)
    return Layout(mesh, dist.get_rank(), device)


def local_device(name: str) -> torch.device:
    """`auto`: this process's GPU (LOCAL_RANK) when there is one, else the CPU."""
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
    return torch.device("cpu")
