"""Checkpoints: `torch.distributed.checkpoint` (DCP) folders, written atomically, last K kept.

Layout under the run's checkpoint folder:

    step_00001000/            a complete checkpoint (renamed into place only once whole)
        .metadata, __0_0.distcp   DCP: {"model": ..., "optim": ...} (tensors, by parameter name)
        train_state.json      step, schedule, data position, RNG, model shape, run config
    step_00002000.partial/    a save in progress, or one killed mid-write: never loaded

DCP needs no process group in one process and re-shards on load, so a checkpoint written by
one layout can be read by another. Under data/tensor/pipeline parallelism every rank writes its
shards into the same folder and rank 0 writes the JSON and renames; `model` is then the rank's
part of the GPT under the original names (training/parallel). Two things are stored in one
layout-free form: the tied embedding's optimiser state always under `wte.weight` (a pipeline's
last stage holds it as `lm_head.weight`), and tensors split in a strided way (the fused q/k/v
under tensor parallelism), which DCP's chunk index cannot describe, as whole tensors.
Everything that is not a tensor is JSON (no pickle of ours; DCP's own `.metadata` is its format).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import warnings
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import (
    get_model_state_dict,
    get_state_dict,
    set_state_dict,
)
from torch.distributed.tensor import DTensor, distribute_tensor
from torch.distributed.tensor.placement_types import _StridedShard

from crawl2gpt.training.config import GPTConfig
from crawl2gpt.training.model import GPT

FORMAT = "crawl2gpt-checkpoint/1"
STATE_FILE = "train_state.json"
_STEP_DIR = re.compile(r"^step_(\d{8})$")
# Fields that may differ between a checkpoint and the model it is loaded into.
_FREE_FIELDS = {"dropout", "init_std"}


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete or does not fit the model; names the folder."""


def _no_dist() -> bool:
    return not (dist.is_available() and dist.is_initialized())


def _is_main() -> bool:
    return _no_dist() or dist.get_rank() == 0


def _barrier() -> None:
    if not _no_dist():
        dist.barrier()


def _portable(state: dict) -> dict:
    """Strided DTensors as whole tensors; nested dicts/lists kept, everything else as is."""
    if isinstance(state, dict):
        return {k: _portable(v) for k, v in state.items()}
    if isinstance(state, list):
        return [_portable(v) for v in state]
    if isinstance(state, DTensor) and any(isinstance(p, _StridedShard) for p in state.placements):
        return state.full_tensor()
    return state


def _restore(loaded, template):
    """What DCP loaded into a `_portable` copy, with whole tensors put back into `template`'s
    strided DTensors."""
    if isinstance(template, dict):
        return {k: _restore(loaded[k], v) for k, v in template.items()}
    if isinstance(template, list):
        return [_restore(a, b) for a, b in zip(loaded, template)]
    if isinstance(template, DTensor) and not isinstance(loaded, DTensor):
        shard = distribute_tensor(loaded, template.device_mesh, template.placements)
        template._local_tensor.copy_(shard._local_tensor)
        return template
    return loaded


def _rename_param(optim_state: dict, old: str, new: str) -> dict:
    """The optimiser state dict with parameter `old` called `new` (state and param groups)."""
    state = dict(optim_state["state"])
    if old in state:
        state[new] = state.pop(old)
    groups = [{**g, "params": [new if p == old else p for p in g["params"]]}
              for g in optim_state["param_groups"]]
    return {"state": state, "param_groups": groups}


def _untied_head(model: torch.nn.Module) -> bool:
    """True on a pipeline's last stage: it holds the tied embedding as `lm_head.weight`."""
    return getattr(model, "lm_head", None) is not None and getattr(model, "wte", None) is None


def _layout_free(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """{"model": ..., "optim": ...} as stored: see the module docstring."""
    model_sd, optim_sd = get_state_dict(model, optimizer)
    if _untied_head(model):
        optim_sd = _rename_param(optim_sd, "lm_head.weight", "wte.weight")
    return {"model": model_sd, "optim": optim_sd}


@contextlib.contextmanager
def _quiet_single_process():
    """DCP warns on every single-process save/load that it assumes one process; we mean it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*assuming the intent is to")
        yield


def complete_checkpoints(root: str | Path) -> list[Path]:
    """Complete checkpoint folders under `root`, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if _STEP_DIR.match(p.name) and (p / STATE_FILE).is_file()]
    return sorted(found)


def latest_checkpoint(root: str | Path) -> Path | None:
    found = complete_checkpoints(root)
    return found[-1] if found else None


def rng_state() -> dict:
    state = {"torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode()}
    if torch.cuda.is_available():
        state["cuda"] = [base64.b64encode(s.numpy().tobytes()).decode()
                         for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict) -> None:
    def tensor(b64: str) -> torch.Tensor:
        return torch.frombuffer(bytearray(base64.b64decode(b64)), dtype=torch.uint8)
    torch.set_rng_state(tensor(state["torch"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensor(s) for s in state["cuda"]])


def save_checkpoint(root: str | Path, step: int, model: GPT, optimizer: torch.optim.Optimizer,
                    train_state: dict, keep: int) -> Path:
    """Write step `step` into `root/step_<step>.partial`, rename it into place, prune to `keep`."""
    root = Path(root)
    final = root / f"step_{step:08d}"
    tmp = root / f"{final.name}.partial"
    if _is_main():
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    _barrier()
    with _quiet_single_process():
        dcp.save(_portable(_layout_free(model, optimizer)), checkpoint_id=tmp,
                 no_dist=_no_dist())
    if _is_main():
        _finish_save(root, tmp, final, step, model.config, train_state, keep)
    _barrier()
    return final


def _finish_save(root: Path, tmp: Path, final: Path, step: int, config: GPTConfig,
                 train_state: dict, keep: int) -> None:
    state = {"format": FORMAT, "step": step, "model": config.to_dict(), **train_state}
    with open(tmp / STATE_FILE, "w") as f:
        json.dump(state, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    if final.exists():  # the same step saved again (e.g. a signal right after a periodic save)
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(root)
    _prune(root, keep)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(root: Path, keep: int) -> None:
    """Drop all but the newest `keep` complete checkpoints, and leftover partial folders."""
    complete = complete_checkpoints(root)
    for old in complete[:max(len(complete) - keep, 0)]:
        shutil.rmtree(old)
    for partial in root.glob("step_*.partial"):
        shutil.rmtree(partial, ignore_errors=True)


def read_train_state(path: str | Path) -> dict:
    path = Path(path)
    try:
        state = json.loads((path / STATE_FILE).read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: not a complete checkpoint (no {STATE_FILE})") from None
    if state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {state.get('format')!r} is not {FORMAT!r}")
    return state


def check_model_fits(path: Path, state: dict, config: GPTConfig) -> None:
    """Name every shape field on which the checkpoint and the model disagree."""
    mine = config.to_dict()
    diff = {k: (state["model"].get(k), v) for k, v in mine.items()
            if k not in _FREE_FIELDS and state["model"].get(k) != v}
    if diff:
        detail = ", ".join(f"{k}: checkpoint {a!r} vs model {b!r}" for k, (a, b) in diff.items())
        raise CheckpointError(f"{path}: checkpoint is for another model shape ({detail})")


def load_checkpoint(path: str | Path, model: GPT, optimizer: torch.optim.Optimizer) -> dict:
    """Restore model and optimiser in place; returns the train state (schedule, data, RNG)."""
    path = Path(path)
    state = read_train_state(path)
    check_model_fits(path, state, model.config)
    template = _layout_free(model, optimizer)
    loaded = _portable(template)
    with _quiet_single_process():
        dcp.load(loaded, checkpoint_id=path, no_dist=_no_dist())
    restored = _restore(loaded, template)
    optim_sd = restored["optim"]
    if _untied_head(model):
        optim_sd = _rename_param(optim_sd, "wte.weight", "lm_head.weight")
    set_state_dict(model, optimizer, model_state_dict=restored["model"],
                   optim_state_dict=optim_sd)
    return state


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder itself, or the newest complete one under a run's checkpoint folder."""
    path = Path(path)
    if (path / STATE_FILE).is_file():
        return path
    latest = latest_checkpoint(path)
    if latest is None:
        raise CheckpointError(f"{path}: no complete checkpoint there")
    return latest


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[GPT, dict]:
    """The model of a checkpoint (weights only) and its train state, for sampling and export."""
    path = resolve_checkpoint(path)
    state = read_train_state(path)
    model = GPT(GPTConfig(**state["model"])).to(device)
    model_sd = get_model_state_dict(model)
    loaded = {"model": model_sd}
    with _quiet_single_process():
        dcp.load(loaded, checkpoint_id=path, no_dist=_no_dist())
    model.load_state_dict(loaded["model"])
    model.eval()
    return model, state
