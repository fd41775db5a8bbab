"""A GPT-3 decoder as one plain `nn.Module` (GPT-3 §2.1: GPT-2's model, alternating attention).

- Pre-LayerNorm blocks (LayerNorm at the input of each sub-block, one more after the last),
  learned position embeddings, GELU MLP of width 4 d_model (tanh form, as GPT-2), embeddings
  tied to the output projection.
- Layers follow `config.attention` (GPT-3: dense and locally banded alternately, as in the
  Sparse Transformer); a banded layer is SDPA with a boolean band mask.
- The vocabulary is padded to a multiple of 128 (faster matrix multiplies); `forward` returns
  logits over the real vocabulary only, so padding never enters the loss or a sample.
- GPT-2's initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer).

Knows nothing of parallelism (no torch.distributed): tensor/pipeline/data parallelism is applied
from outside (torchtitan's way), so submodules keep GPT-2's names (`h.3.attn.c_attn`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from crawl2gpt.training.config import GPTConfig


def band_mask(seq_len: int, window: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(T, T) bool, True where query i may attend key j: i - window < j <= i."""
    i = torch.arange(seq_len, device=device)[:, None]
    j = torch.arange(seq_len, device=device)[None, :]
    return (j <= i) & (j > i - window)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig, kind: str):
        super().__init__()
        self.n_head = config.n_head
        self.d_model = config.d_model
        self.kind = kind
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.d_model, 3 * config.d_model, bias=config.use_qkv_bias)
        self.c_proj = nn.Linear(config.d_model, config.d_model)

    def forward(self, x: torch.Tensor, band: torch.Tensor | None) -> torch.Tensor:
        B, T, C = x.shape
        hs = C // self.n_head
        # Head counts come from the tensors, so a tensor-parallel shard (heads / tp) runs as is.
        q, k, v = self.c_attn(x).chunk(3, dim=2)
        q = q.view(B, T, -1, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, -1, hs).transpose(1, 2)
        v = v.view(B, T, -1, hs).transpose(1, 2)
        dropout = self.dropout if self.training else 0.0
        if self.kind == "local" and band is not None:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=band, dropout_p=dropout)
        else:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout)
        y = y.transpose(1, 2).contiguous().view(B, T, -1)  # (B, T, C)
        return F.dropout(self.c_proj(y), dropout, self.training)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.c_proj = nn.Linear(4 * config.d_model, config.d_model)
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.c_fc(x), approximate="tanh")  # GPT-2's "gelu_new"
        return F.dropout(self.c_proj(x), self.dropout, self.training)


class Block(nn.Module):
    def __init__(self, config: GPTConfig, kind: str):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.attn = CausalSelfAttention(config, kind)
        self.ln_2 = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, band: torch.Tensor | None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), band)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.padded_vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.n_ctx, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList(Block(config, kind) for kind in config.layer_kinds)
        self.ln_f = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.lm_head = nn.Linear(config.d_model, config.padded_vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied (GPT-2)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self) -> None:
        """GPT-2's init; callable again after building on the meta device and `to_empty`."""
        std = self.config.init_std
        residual_std = std / math.sqrt(2 * self.config.n_layer)  # GPT-2: 1/sqrt(N residuals)
        for name, module in self.named_modules():
            if module is self.lm_head:
                continue  # tied to wte
            if isinstance(module, nn.Linear):
                scaled = name.endswith("c_proj")
                nn.init.normal_(module.weight, 0.0, residual_std if scaled else std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, 0.0, std)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        self.wte.weight[self.config.vocab_size:].zero_()  # padding rows: never used

    def num_params(self) -> int:
        """Unique parameters without the vocabulary padding (the paper's count)."""
        c = self.config
        total = sum(p.numel() for p in self.parameters())
        return total - (c.padded_vocab_size - c.vocab_size) * c.d_model

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) -> logits (B, T, vocab_size), padding columns cut off."""
        B, T = idx.shape
        if T > self.config.n_ctx:
            raise ValueError(f"sequence of {T} tokens exceeds the context of {self.config.n_ctx}")
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        band = band_mask(T, self.config.window, idx.device) if self.config.banded else None
        for block in self.h:
            x = block(x, band)
        logits = self.lm_head(self.ln_f(x))  # (B, T, padded vocab)
        return logits[..., :self.config.vocab_size]


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy (in float32) of logits (B, T, V) against targets (B, T)."""
    return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())


@torch.no_grad()
def generate(model: GPT, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sample `max_new_tokens` after the prompt ids (B, T); the context is cropped to n_ctx."""
    for _ in range(max_new_tokens):
        context = idx[:, -model.config.n_ctx:]
        logits = model(context)[:, -1, :].float()
        if temperature <= 0:
            next_id = logits.argmax(dim=-1, keepdim=True)
        else:
            logits = logits / temperature
            if top_k is not None:
                kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = F.softmax(logits, dim=-1)
            next_id = torch.multinomial(probs, num_samples=1, generator=generator)
        idx = torch.cat((idx, next_id), dim=1)
    return idx
