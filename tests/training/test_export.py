"""Export to Hugging Face: the exported model loads with AutoModelForCausalLM and gives our logits.

Hugging Face's GPT-2 and GPT-Neo implementations are the independent reference here.
"""

import json

import pytest
import torch

from crawl2gpt.training.checkpoint import save_checkpoint
from crawl2gpt.training.config import model_config
from crawl2gpt.training.export import ExportError, export_hf
from crawl2gpt.training.export import main as export_main
from crawl2gpt.training.model import GPT
from crawl2gpt.training.schedule import OptimConfig, build_optimizer

transformers = pytest.importorskip("transformers")


def _trained_a_little(config, seed=0):
    """Random weights moved off their init by a few optimiser steps (biases and norms too)."""
    torch.manual_seed(seed)
    model = GPT(config)
    opt = build_optimizer(model, OptimConfig(), lr=1e-2)
    for _ in range(3):
        idx = torch.randint(0, config.vocab_size, (2, config.n_ctx))
        model(idx).logsumexp(-1).mean().backward()
        opt.step()
        opt.zero_grad()
    return model.eval(), opt


def _hf_logits(path, idx):
    hf, info = transformers.AutoModelForCausalLM.from_pretrained(path, output_loading_info=True)
    assert not info["unexpected_keys"] and not info["mismatched_keys"], info
    assert set(info["missing_keys"]) <= {"lm_head.weight"}, info  # tied to the embedding
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()
    hf.eval()
    with torch.no_grad():
        return hf, hf(idx).logits


@pytest.mark.parametrize("size, architecture", [("tiny-dense", "GPT2LMHeadModel"),
                                                ("tiny", "GPTNeoForCausalLM")])
def test_exported_model_gives_the_same_logits(size, architecture, tmp_path):
    config = model_config(size, vocab_size=300)  # padded to 384 inside our model
    model, _ = _trained_a_little(config)
    export_hf(model, tmp_path, eot_id=299)
    idx = torch.randint(0, 300, (2, config.n_ctx))
    hf, theirs = _hf_logits(tmp_path, idx)
    assert type(hf).__name__ == architecture
    with torch.no_grad():
        ours = model(idx)
    assert theirs.shape == ours.shape == (2, config.n_ctx, 300)
    torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-4)


def test_banded_export_has_global_and_local_layers(tmp_path):
    config = model_config("tiny", vocab_size=300, n_layer=4)
    export_hf(GPT(config), tmp_path)
    hf_config = json.loads((tmp_path / "config.json").read_text())
    assert hf_config["attention_types"] == [[["global", "local", "global", "local"], 1]]
    assert hf_config["window_size"] == 16


def test_banded_model_with_qkv_bias_cannot_become_gpt_neo(tmp_path):
    with pytest.raises(ExportError, match="no q/k/v bias"):
        export_hf(GPT(model_config("tiny", vocab_size=300, qkv_bias=True)), tmp_path)


def test_export_command_reads_a_checkpoint(tmp_path):
    config = model_config("tiny-dense", vocab_size=300)
    model, opt = _trained_a_little(config)
    save_checkpoint(tmp_path / "ckpt", 7, model, opt, {"tokenizer": {"eot_id": 299}}, keep=1)
    assert export_main(["--checkpoint", str(tmp_path / "ckpt"), "--out", str(tmp_path / "hf")]) == 0
    idx = torch.randint(0, 300, (1, 20))
    _, theirs = _hf_logits(tmp_path / "hf", idx)
    with torch.no_grad():
        torch.testing.assert_close(theirs, model(idx), rtol=1e-4, atol=1e-4)
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["eos_token_id"] == 299
