"""The memory planner and layout checks, in one process: formulas against measured tensors."""

import pytest
import torch

from crawl2gpt.core.config import ConfigError
from crawl2gpt.training.config import model_config
from crawl2gpt.training.model import GPT, lm_loss
from crawl2gpt.training.parallel.activation_checkpoint import apply_activation_checkpointing
from crawl2gpt.training.parallel.mesh import check_layout
from crawl2gpt.training.parallel.pipeline_parallel import check_microbatches, split_layers
from crawl2gpt.training.parallel.plan import (
    head_activation_bytes,
    layer_activation_bytes,
    main,
    plan,
    rank_plan,
)
from crawl2gpt.training.schedule import OptimConfig, build_optimizer
from crawl2gpt.training.train_config import ParallelConfig, load_train_config


def saved_activation_bytes(model: GPT, batch: torch.Tensor) -> int:
    """Bytes of every distinct storage autograd saves for backward in one forward + loss,
    parameters excluded: the activation memory of a micro-batch, measured."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        lm_loss(model(batch[:, :-1]), batch[:, 1:])
    return sum(seen.values())


@pytest.mark.parametrize("attention", [["global"], ["global", "local"]])
@pytest.mark.parametrize("seq_len", [32, 64])
def test_activation_formula_matches_saved_tensors(attention, seq_len):
    """Within 1 %: the formula leaves out the banded layers' (T, T) boolean mask and the
    position ids (T² + 8 T bytes per micro-batch), everything else is counted exactly."""
    c = model_config("tiny", vocab_size=257, n_ctx=seq_len, window=seq_len // 4,
                     attention=attention)
    torch.manual_seed(0)
    batch = torch.randint(0, 257, (4, seq_len + 1))
    measured = saved_activation_bytes(GPT(c), batch)
    formula = (8 + c.n_layer * layer_activation_bytes(c, 1, 4)
               + head_activation_bytes(c, 4)) * 4 * seq_len
    assert formula == rank_plan(c, ParallelConfig(), 0, 4, seq_len, "fp32").activations
    assert abs(measured - formula) / measured < 0.01, (measured, formula)


def test_activation_checkpointing_keeps_only_block_inputs():
    """With recomputation the forward saves each block's fp32 input (4 d_model bytes a token)
    instead of its activations; the plan adds one block's full set for the recompute."""
    c = model_config("tiny", vocab_size=257, n_ctx=32, attention=["global"])
    model = GPT(c)
    apply_activation_checkpointing(model)
    batch = torch.randint(0, 257, (4, 33))
    measured = saved_activation_bytes(model, batch)
    tokens = 4 * 32
    forward = (8 + c.n_layer * 4 * c.d_model + head_activation_bytes(c, 4)) * tokens
    assert abs(measured - forward) / measured < 0.01, (measured, forward)
    planned = rank_plan(c, ParallelConfig(activation_checkpointing=True), 0, 4, 32, "fp32")
    assert planned.activations == forward + layer_activation_bytes(c, 1, 4) * tokens


def test_model_state_formula_matches_the_tensors_of_a_step():
    c = model_config("tiny", vocab_size=257, qkv_bias=True)
    model = GPT(c)
    optimizer = build_optimizer(model, OptimConfig(), 1e-3)
    batch = torch.randint(0, 257, (2, 65))
    lm_loss(model(batch[:, :-1]), batch[:, 1:]).backward()
    optimizer.step()

    def nbytes(tensors):
        return sum(t.numel() * t.element_size() for t in tensors)
    params = list(model.parameters())
    moments = [v for s in optimizer.state.values() for k, v in s.items() if k != "step"]
    p = plan(c, ParallelConfig(), 2, 64, "fp32")
    assert (p.params, p.grads, p.optimizer) == (nbytes(params), nbytes(p_.grad for p_ in params),
                                                nbytes(moments))


def test_stages_of_gpt3_175b_hold_the_whole_model_once_plus_the_head_copy():
    """Summed over pipeline ranks (tp = dp = 1), parameters = the paper-style count (Table 2.1:
    174.6 B with our shape) + vocabulary padding rows + the last stage's untied head copy."""
    c = model_config("gpt3-175b")
    parallel = ParallelConfig(pp=16)
    total = sum(rank_plan(c, parallel, r, 16, 2048).params for r in range(16)) / 4
    padding = (c.padded_vocab_size - c.vocab_size) * c.d_model
    assert total == c.num_params() + padding + c.padded_vocab_size * c.d_model


def test_split_layers_balances_blocks_and_the_output_layer():
    # 175B: head = 50304 / (12 * 12288) = 0.34 blocks, so 96 layers split 6 per stage
    assert [len(r) for r in split_layers(model_config("gpt3-175b"), 16)] == [6] * 16
    # d_model 64, padded vocabulary 384: head 0.5 blocks; [3 | 2 + 0.5] beats [2 | 3 + 0.5]
    assert split_layers(model_config("tiny", n_layer=5, vocab_size=257), 2) == [range(3),
                                                                               range(3, 5)]
    # vocabulary 50 257 on d_model 64: the head costs 65.5 blocks, so it gets a stage alone
    assert split_layers(model_config("tiny", n_layer=4), 2) == [range(4), range(4, 4)]


def test_layout_errors_name_every_problem():
    with pytest.raises(ConfigError, match=r"dp x tp x pp = 2 x 5 x 1 = 10 but WORLD_SIZE is 8"
                                          r".*n_head 96 is not divisible by tp 5"):
        check_layout(ParallelConfig(dp=2, tp=5), 8, model_config("gpt3-175b"))
    with pytest.raises(ConfigError, match="padded vocabulary 384 is not divisible by tp 256"):
        check_layout(ParallelConfig(tp=256), 256, model_config("tiny", vocab_size=257,
                                                                n_head=256, d_model=256))
    with pytest.raises(ConfigError, match="8 pipeline stages need at least 6 layers"):
        check_layout(ParallelConfig(pp=8), 8, model_config("tiny"))
    with pytest.raises(ConfigError, match="pp_microbatches 2 < pp 4: 1f1b"):
        check_microbatches(ParallelConfig(pp=4, pp_microbatches=2))
    with pytest.raises(ConfigError, match="pp_microbatches 6 is not a multiple of pp 4"):
        check_microbatches(ParallelConfig(pp=4, pp_microbatches=6,
                                          pp_schedule="interleaved1f1b"))
    with pytest.raises(ConfigError, match="micro_batch 6 is not divisible by "
                                          "parallel.pp_microbatches 4"):
        load_train_config(None, ["parallel.pp=4", "micro_batch=6"])
    with pytest.raises(ConfigError, match="parallel.tp must be >= 1"):
        load_train_config(None, ["parallel.tp=0"])


def test_plan_command_flags_layouts_that_do_not_fit(capsys):
    assert main(["--model", "gpt3-175b", "--tp", "8", "--micro-batch", "1",
                 "--gpu-memory", "80GB"]) == 1
    out = capsys.readouterr().out
    assert "DOES NOT FIT" in out and "optimizer (AdamW m, v)" in out
    # 16 bytes of model state per parameter over 128 GPUs: 175e9 * 16 / 128 = 21.8 GB
    assert main(["--model", "gpt3-175b", "--tp", "8", "--pp", "16", "--micro-batch", "16",
                 "--gpu-memory", "80GB"]) == 0
    out = capsys.readouterr().out
    assert "fits" in out
    params = float(next(line for line in out.splitlines() if "parameters (fp32)" in line)
                   .split()[-2])
    assert 175e9 * 4 / 128 / 2**30 * 0.95 < params < 175e9 * 4 / 128 / 2**30 * 1.1
    assert main(["--model", "gpt3-175b", "--tp", "5"]) == 2
    assert "n_head 96 is not divisible by tp 5" in capsys.readouterr().err


def test_train_refuses_a_layout_that_is_not_the_world_size(capsys, monkeypatch):
    from crawl2gpt.training.train import main as train_main
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert train_main(["--model", "tiny", "--dp", "2", "--tp", "2"]) == 2
    assert "dp x tp x pp = 4 but WORLD_SIZE is 1 (start it with torchrun --nproc_per_node 4)" \
        in capsys.readouterr().err
