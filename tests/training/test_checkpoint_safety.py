"""Issue 22, row 1: a checkpoint from elsewhere loads without running code from it."""

from __future__ import annotations

import os
import pickle

import pytest
import torch
import torch.distributed.checkpoint as dcp

from crawl2gpt.training.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from crawl2gpt.training.config import model_config
from crawl2gpt.training.export import main as export_main
from crawl2gpt.training.model import GPT
from crawl2gpt.training.safe_load import safe_dcp_load
from crawl2gpt.training.sample import sample_main
from crawl2gpt.training.schedule import OptimConfig, build_optimizer


class ShellCommand:
    """Unpickles into a call of os.system: what a crafted pickle does."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def small_model() -> tuple[GPT, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = GPT(model_config("tiny", vocab_size=64, n_ctx=16))
    return model, build_optimizer(model, OptimConfig(), lr=1e-3)


@pytest.fixture
def saved(tmp_path):
    model, opt = small_model()
    path = save_checkpoint(tmp_path / "ckpt", 1, model, opt, {}, keep=1)
    return path, model


def test_a_checkpoint_of_ours_loads_through_the_restricted_unpickler(saved):
    path, model = saved
    loaded, _ = load_model(path)
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    other, opt = small_model()
    load_checkpoint(path, other, opt)
    assert opt.param_groups[0]["lr"] == 1e-3


def test_a_crafted_metadata_pickle_runs_nothing(saved, tmp_path, capsys):
    path, _ = saved
    marker = tmp_path / "pwned"
    crafted = pickle.dumps(ShellCommand(f"touch {marker}"))
    pickle.loads(crafted)                       # the payload is live: plain pickle runs it
    assert marker.exists()
    marker.unlink()
    (path / ".metadata").write_bytes(crafted)
    with pytest.raises(CheckpointError, match=r"\.metadata.*os.system|\.metadata.*posix.system"):
        load_model(path)
    with pytest.raises(CheckpointError, match=r"\.metadata"):
        load_checkpoint(path, *small_model())
    assert sample_main(["--checkpoint", str(path), "--tokenizer", "unused"]) == 2
    assert export_main(["--checkpoint", str(path), "--out", str(tmp_path / "hf")]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and all(str(path / ".metadata") in line for line in errors)
    assert not marker.exists()


def test_a_crafted_non_tensor_item_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    dcp.save({"lr": ShellCommand(f"touch {marker}")}, checkpoint_id=tmp_path / "ckpt",
             no_dist=True)
    dcp.load(target := {"lr": None}, checkpoint_id=tmp_path / "ckpt", no_dist=True)
    assert marker.exists() and target["lr"] == 0   # DCP's own load ran the command
    marker.unlink()
    with pytest.raises(CheckpointError, match="'lr' is not plain data"):
        safe_dcp_load({"lr": None}, tmp_path / "ckpt", no_dist=True)
    assert not marker.exists()
