"""Model shapes: `GPTConfig` and the eight sizes of GPT-3's Table 2.1, plus tiny CPU sizes.

Table 2.1 (Brown et al. 2020) has two rows whose numbers contradict each other; we resolve them
so that d_model = n_heads * d_head holds and the parameter count stays within 2 % of the table:

- **GPT-3 XL**: d_model 2048 with 24 heads of 128 (= 3072). 2048 / 24 is not an integer, so we
  keep d_model = 2048 and d_head = 128 and use **16 heads** (as GPT-Neo 1.3B does): 1.32 B
  parameters against the table's 1.3 B.
- **GPT-3 13B**: d_model 5140 is not divisible by 40 heads; 40 x 128 = 5120, so we use
  **d_model = 5120**: 12.85 B parameters against the table's 13.0 B (5140 would give 12.95 B).

Each size also carries the paper's batch size (tokens) and peak learning rate, and our choice of
the batch-size ramp span: the paper says only "the first 4-12 B tokens depending on model size",
so we ramp over 4 B tokens for the 0.5 M-token batches, 8 B for 1-2 M and 12 B for 175B.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

ATTENTION_KINDS = ("global", "local")
VOCAB_MULTIPLE = 128


class ModelConfigError(ValueError):
    """A model shape is inconsistent or unknown; the message names the field."""


@dataclass(frozen=True)
class GPTConfig:
    """Shape of a decoder-only GPT (GPT-2's architecture with GPT-3's alternating attention)."""

    n_layer: int
    d_model: int
    n_head: int
    n_ctx: int = 2048
    """Context length; the paper trains every size on full 2048-token sequences."""
    vocab_size: int = 50257
    """The tokenizer's vocabulary; the embedding is padded up to a multiple of 128."""
    attention: tuple[str, ...] = ("global", "local")
    """Per-layer attention kinds, repeated over the layers: `global` is dense causal, `local`
    is banded (sliding window). ("global",) makes every layer dense."""
    window: int = 256
    """Keys a `local` layer sees: the query's own position and the `window - 1` before it
    (GPT-Neo's definition; the paper gives no band width, GPT-Neo uses 256)."""
    qkv_bias: bool | None = None
    """Bias on the q/k/v projection; None = GPT-2's bias when all-dense, none when any layer is
    banded (GPT-Neo's format, which `export` writes for banded models, has no q/k/v bias)."""
    dropout: float = 0.0
    layer_norm_eps: float = 1e-5
    init_std: float = 0.02

    def __post_init__(self) -> None:
        object.__setattr__(self, "attention", tuple(self.attention))
        for name in ("n_layer", "d_model", "n_head", "n_ctx", "vocab_size", "window"):
            if getattr(self, name) < 1:
                raise ModelConfigError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.n_head:
            raise ModelConfigError(f"model.d_model {self.d_model} is not divisible by "
                                   f"model.n_head {self.n_head}")
        bad = [a for a in self.attention if a not in ATTENTION_KINDS]
        if not self.attention or bad:
            raise ModelConfigError(f"model.attention {list(self.attention)}: each entry must be "
                                   f"one of {ATTENTION_KINDS}")
        if not 0.0 <= self.dropout < 1.0:
            raise ModelConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_head

    @property
    def padded_vocab_size(self) -> int:
        return -(-self.vocab_size // VOCAB_MULTIPLE) * VOCAB_MULTIPLE

    @property
    def layer_kinds(self) -> tuple[str, ...]:
        """Attention kind of each layer (the pattern repeated)."""
        return tuple(self.attention[i % len(self.attention)] for i in range(self.n_layer))

    @property
    def banded(self) -> bool:
        return "local" in self.layer_kinds and self.window < self.n_ctx

    @property
    def use_qkv_bias(self) -> bool:
        return (not self.banded) if self.qkv_bias is None else self.qkv_bias

    def num_params(self) -> int:
        """Parameters, counted as the paper does: tied embedding once, no vocabulary padding."""
        d, L = self.d_model, self.n_layer
        qkv_bias = 3 * d if self.use_qkv_bias else 0
        attn = 3 * d * d + qkv_bias + d * d + d
        mlp = 4 * d * d + 4 * d + 4 * d * d + d
        norms = 2 * 2 * d
        return L * (attn + mlp + norms) + 2 * d + (self.vocab_size + self.n_ctx) * d

    def flops_per_token(self, seq_len: int | None = None) -> int:
        """Training FLOPs per token: 6 N + 6 n_layer d_model seq_len (weights, then attention)."""
        seq_len = seq_len or self.n_ctx
        return 6 * self.num_params() + 6 * self.n_layer * self.d_model * seq_len

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["attention"] = list(self.attention)
        return d


@dataclass(frozen=True)
class ModelSize:
    """A named size: its shape, the paper's batch (tokens) and peak learning rate."""

    config: GPTConfig
    batch_tokens: int
    learning_rate: float
    ramp_tokens: int
    paper_params: float = 0.0
    """The table's parameter count (0 for our own sizes)."""
    notes: str = field(default="", compare=False)


def _paper(n_layer, d_model, n_head, batch_tokens, lr, ramp_tokens, params, notes=""):
    cfg = GPTConfig(n_layer=n_layer, d_model=d_model, n_head=n_head)
    return ModelSize(cfg, batch_tokens, lr, ramp_tokens, params, notes)


# Table 2.1, batch sizes as printed (0.5 M = 2**19, 1 M = 2**20, 2 M = 2**21, 3.2 M).
SIZES: dict[str, ModelSize] = {
    "gpt3-small": _paper(12, 768, 12, 2**19, 6.0e-4, 4_000_000_000, 125e6),
    "gpt3-medium": _paper(24, 1024, 16, 2**19, 3.0e-4, 4_000_000_000, 350e6),
    "gpt3-large": _paper(24, 1536, 16, 2**19, 2.5e-4, 4_000_000_000, 760e6),
    "gpt3-xl": _paper(24, 2048, 16, 2**20, 2.0e-4, 8_000_000_000, 1.3e9,
                      "table: 24 heads of 128; we use 16 x 128 = 2048"),
    "gpt3-2.7b": _paper(32, 2560, 32, 2**20, 1.6e-4, 8_000_000_000, 2.7e9),
    "gpt3-6.7b": _paper(32, 4096, 32, 2**21, 1.2e-4, 8_000_000_000, 6.7e9),
    "gpt3-13b": _paper(40, 5120, 40, 2**21, 1.0e-4, 8_000_000_000, 13.0e9,
                       "table: d_model 5140; we use 40 x 128 = 5120"),
    "gpt3-175b": _paper(96, 12288, 96, 3_200_000, 0.6e-4, 12_000_000_000, 175.0e9),
    # CPU sizes for tests and smoke runs (torchtitan's `debugmodel`); banded with a small window.
    "tiny": ModelSize(GPTConfig(n_layer=2, d_model=64, n_head=4, n_ctx=64, window=16),
                      batch_tokens=4096, learning_rate=1e-3, ramp_tokens=0),
    "tiny-dense": ModelSize(GPTConfig(n_layer=2, d_model=64, n_head=4, n_ctx=64,
                                      attention=("global",)),
                            batch_tokens=4096, learning_rate=1e-3, ramp_tokens=0),
}


def model_config(size: str, **overrides) -> GPTConfig:
    """The named size's shape with field overrides (`n_ctx=512`, `attention=["global"]`)."""
    if size not in SIZES:
        raise ModelConfigError(f"model.size: unknown size {size!r}; known: {sorted(SIZES)}")
    known = {f.name for f in dataclasses.fields(GPTConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ModelConfigError(f"model: unknown field(s) {unknown}; known: {sorted(known)}")
    return dataclasses.replace(SIZES[size].config, **overrides)
