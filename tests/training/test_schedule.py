"""Learning-rate and batch-size schedules against GPT-3's stated formulas (§2.3, Appendix B).

Expected values are worked out by hand from the paper's description: linear warm-up over
375 M tokens, cosine to 10 % of the peak ending at 260 B tokens, then flat; batch ramp linear
from 32 k tokens to the full batch.
"""

import math

import pytest
import torch

from crawl2gpt.training.config import SIZES
from crawl2gpt.training.model import GPT
from crawl2gpt.training.schedule import (
    OptimConfig,
    Schedule,
    build_optimizer,
    learning_rate,
    ramped_batch_tokens,
)

PEAK = 6.0e-4  # GPT-3 Small
WARMUP, DECAY_END = 375e6, 260e9


@pytest.mark.parametrize("tokens, expected", [
    (0, 0.0),
    (187.5e6, 3.0e-4),                       # halfway through warm-up: half the peak
    (375e6, 6.0e-4),                         # end of warm-up: the peak
    ((375e6 + 260e9) / 2, 0.55 * 6.0e-4),    # cosine midpoint: (1 + 0.1) / 2 of the peak
    (260e9, 0.6e-4),                         # end of decay: 10 %
    (300e9, 0.6e-4),                         # flat at 10 % to the end of training
])
def test_learning_rate_at_sample_points(tokens, expected):
    got = learning_rate(tokens, PEAK, WARMUP, DECAY_END, 0.1)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_cosine_quarter_point():
    # a quarter into the decay: 0.1 + 0.9 * (1 + cos(pi/4)) / 2 of the peak
    tokens = 375e6 + (260e9 - 375e6) / 4
    expected = PEAK * (0.1 + 0.9 * (1 + math.sqrt(2) / 2) / 2)
    assert learning_rate(tokens, PEAK, WARMUP, DECAY_END, 0.1) == pytest.approx(expected)


def test_batch_ramp_at_sample_points():
    full, start, ramp = 2**19, 32_768, 4e9
    assert ramped_batch_tokens(0, full, start, ramp) == 32_768
    assert ramped_batch_tokens(2e9, full, start, ramp) == (32_768 + 2**19) / 2
    assert ramped_batch_tokens(4e9, full, start, ramp) == 2**19
    assert ramped_batch_tokens(100e9, full, start, ramp) == 2**19


def test_schedule_batches_are_whole_multiples_and_follow_the_ramp():
    # GPT-3 Small: 0.5 M-token batch (256 sequences of 2048), ramp over 4 B tokens; 8 ranks x
    # micro-batch 4 = multiples of 32 sequences (65,536 tokens).
    s = Schedule(PEAK, 2**19, 4_000_000_000, 2048, 32, OptimConfig())
    assert s.batch_sequences() == 32   # 32 k tokens = 16 sequences, rounded up to one multiple
    s.tokens = 2_000_000_000           # ramp midpoint: 278,528 tokens = 136 seq -> 128
    assert s.batch_sequences() == 128
    s.tokens = 4_000_000_000
    assert s.batch_sequences() == 256
    # the step's rate is read where the step ends
    s.tokens = 0
    assert s.lr(32) == pytest.approx(PEAK * 32 * 2048 / 375e6)


def test_paper_sizes_carry_table_2_1_batch_and_learning_rate():
    table = {"gpt3-small": (0.5e6, 6.0e-4), "gpt3-medium": (0.5e6, 3.0e-4),
             "gpt3-large": (0.5e6, 2.5e-4), "gpt3-xl": (1e6, 2.0e-4),
             "gpt3-2.7b": (1e6, 1.6e-4), "gpt3-6.7b": (2e6, 1.2e-4),
             "gpt3-13b": (2e6, 1.0e-4), "gpt3-175b": (3.2e6, 0.6e-4)}
    for name, (batch, lr) in table.items():
        size = SIZES[name]
        assert size.learning_rate == lr
        assert size.batch_tokens == pytest.approx(batch, rel=0.05)  # 0.5 M printed for 2**19
        assert 4e9 <= size.ramp_tokens <= 12e9


def test_weight_decay_on_matrices_only():
    model = GPT(SIZES["tiny"].config)
    opt = build_optimizer(model, OptimConfig(), lr=1e-3)
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] == 0.1 for p in g["params"]}
    for name, p in model.named_parameters():
        assert (id(p) in decayed) == (p.dim() == 2), name
    assert opt.defaults["betas"] == (0.9, 0.95) and opt.defaults["eps"] == 1e-8
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == \
        sum(p.numel() for p in model.parameters())
    assert isinstance(opt, torch.optim.AdamW)
