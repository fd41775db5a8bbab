"""The GPT model: Table 2.1's sizes, banded attention, vocabulary padding, init, design rules."""

import ast
import math
from pathlib import Path

import pytest
import torch

from crawl2gpt.training.config import SIZES, GPTConfig, model_config
from crawl2gpt.training.model import GPT, band_mask, lm_loss

# Table 2.1's "n_params" column (Brown et al. 2020).
TABLE_2_1_PARAMS = {"gpt3-small": 125e6, "gpt3-medium": 350e6, "gpt3-large": 760e6,
                    "gpt3-xl": 1.3e9, "gpt3-2.7b": 2.7e9, "gpt3-6.7b": 6.7e9,
                    "gpt3-13b": 13.0e9, "gpt3-175b": 175.0e9}


@pytest.mark.parametrize("name", sorted(TABLE_2_1_PARAMS))
def test_parameter_count_within_2_percent_of_table(name):
    with torch.device("meta"):  # shapes only: no memory for 175 B parameters
        model = GPT(SIZES[name].config)
    count = model.num_params()
    print(f"{name}: {count:,} parameters")
    assert abs(count / TABLE_2_1_PARAMS[name] - 1) < 0.02
    assert count == SIZES[name].config.num_params()  # the closed form agrees with the module


def test_inconsistent_rows_are_resolved_with_whole_heads():
    xl, b13 = SIZES["gpt3-xl"].config, SIZES["gpt3-13b"].config
    assert (xl.d_model, xl.n_head, xl.d_head) == (2048, 16, 128)
    assert (b13.d_model, b13.n_head, b13.d_head) == (5120, 40, 128)


def test_band_mask_against_brute_force():
    T, w = 9, 3
    mask = band_mask(T, w)
    for i in range(T):
        for j in range(T):
            assert bool(mask[i, j]) == (i - w < j <= i), (i, j)


def test_local_layer_sees_only_its_window():
    # One banded layer, window 4: position 10 sees keys 7..10 only. Changing token 6 must leave
    # its output unchanged; changing token 7 must change it.
    cfg = GPTConfig(n_layer=1, d_model=32, n_head=2, n_ctx=16, vocab_size=50,
                    attention=("local",), window=4)
    torch.manual_seed(0)
    model = GPT(cfg).eval()
    base = torch.randint(0, 50, (1, 16))
    out = model(base)[0, 10]
    for pos, should_change in ((6, False), (7, True)):
        changed = base.clone()
        changed[0, pos] = (changed[0, pos] + 1) % 50
        diff = (model(changed)[0, 10] - out).abs().max().item()
        assert (diff > 1e-6) == should_change, (pos, diff)


def test_alternating_pattern_and_qkv_bias_default():
    cfg = SIZES["gpt3-small"].config
    assert cfg.layer_kinds[:4] == ("global", "local", "global", "local")
    assert cfg.banded and not cfg.use_qkv_bias  # GPT-Neo's bias-free q/k/v when banded
    dense = model_config("gpt3-small", attention=["global"])
    assert not dense.banded and dense.use_qkv_bias


def test_vocab_padding_is_outside_logits_and_loss():
    cfg = model_config("tiny", vocab_size=300)
    model = GPT(cfg)
    assert model.wte.weight.shape[0] == 384  # next multiple of 128
    assert model.lm_head.weight is model.wte.weight
    idx = torch.randint(0, 300, (2, 16))
    logits = model(idx)
    assert logits.shape == (2, 16, 300)
    lm_loss(logits[:, :-1], idx[:, 1:]).backward()
    assert model.wte.weight.grad[300:].abs().max().item() == 0.0
    assert model.wte.weight[300:].abs().max().item() == 0.0


def test_gpt2_scaled_residual_init():
    cfg = GPTConfig(n_layer=8, d_model=256, n_head=4, n_ctx=32, vocab_size=256)
    torch.manual_seed(0)
    model = GPT(cfg)
    scaled = 0.02 / math.sqrt(2 * 8)
    assert model.h[3].attn.c_proj.weight.std().item() == pytest.approx(scaled, rel=0.03)
    assert model.h[3].mlp.c_proj.weight.std().item() == pytest.approx(scaled, rel=0.03)
    assert model.h[3].mlp.c_fc.weight.std().item() == pytest.approx(0.02, rel=0.03)


def test_model_module_does_not_import_torch_distributed():
    source = Path(__file__).resolve().parents[2] / "training" / "model.py"
    names = []
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    assert names and not any(n.startswith("torch.distributed") for n in names), names
