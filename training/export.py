"""`crawl2gpt export`: a checkpoint as a Hugging Face `transformers` model (safetensors + config).

    crawl2gpt export --checkpoint runs/train/checkpoints --out hf-model
    # then: AutoModelForCausalLM.from_pretrained("hf-model")

- **All-dense models** become GPT-2 (`GPT2LMHeadModel`): same blocks; GPT-2 stores its linear
  layers as `Conv1D` (weight shape in x out), so weights are transposed; a model trained without
  q/k/v bias gets a zero bias.
- **Banded models** become GPT-Neo (`GPTNeoForCausalLM`), whose `attention_types` describe
  alternating global/local layers and whose `window_size` is the band. GPT-Neo has no q/k/v
  bias and does not scale attention scores by 1/sqrt(d_head), so the scale is folded into the
  query weights (q' = W_q x / sqrt(d_head)), and banded models are trained without q/k/v bias.
  GPT-Neo's local mask (key j visible from query i iff i - window < j <= i) is ours.

The embedding is written without its padding rows, so the Hugging Face vocabulary is the
tokenizer's; the output projection is tied to it, as in training. The config is written as
plain JSON, so export needs `safetensors` but not `transformers`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from crawl2gpt.training.checkpoint import CheckpointError, load_model
from crawl2gpt.training.model import GPT


class ExportError(ValueError):
    """The model cannot be written in the requested format."""


def _common_config(model: GPT) -> dict:
    c = model.config
    return {"vocab_size": c.vocab_size, "layer_norm_epsilon": c.layer_norm_eps,
            "activation_function": "gelu_new", "initializer_range": c.init_std,
            "tie_word_embeddings": True, "torch_dtype": "float32", "use_cache": True}


def _state_and_shared_tensors(model: GPT) -> tuple[dict[str, torch.Tensor], dict]:
    """Our state dict (fp32), and the embedding and final-norm tensors both formats share."""
    c = model.config
    sd = {k: v.detach().float() for k, v in model.state_dict().items()}
    out = {"transformer.wte.weight": sd["wte.weight"][:c.vocab_size],
           "transformer.wpe.weight": sd["wpe.weight"],
           "transformer.ln_f.weight": sd["ln_f.weight"], "transformer.ln_f.bias": sd["ln_f.bias"]}
    return sd, out


def gpt2_tensors(model: GPT) -> tuple[dict[str, torch.Tensor], dict]:
    """GPT-2 state dict and config of an all-dense model."""
    c = model.config
    sd, out = _state_and_shared_tensors(model)
    for i in range(c.n_layer):
        ours, theirs = f"h.{i}.", f"transformer.h.{i}."
        for norm in ("ln_1", "ln_2"):
            for p in ("weight", "bias"):
                out[f"{theirs}{norm}.{p}"] = sd[f"{ours}{norm}.{p}"]
        for linear in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
            weight = sd[f"{ours}{linear}.weight"]
            out[f"{theirs}{linear}.weight"] = weight.t()  # Conv1D: (in, out)
            bias = sd.get(f"{ours}{linear}.bias")
            out[f"{theirs}{linear}.bias"] = bias if bias is not None else weight.new_zeros(
                weight.shape[0])
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
              "n_positions": c.n_ctx, "n_embd": c.d_model, "n_layer": c.n_layer,
              "n_head": c.n_head, "n_inner": None, "resid_pdrop": 0.0, "embd_pdrop": 0.0,
              "attn_pdrop": 0.0, "scale_attn_weights": True, **_common_config(model)}
    return out, config


def gpt_neo_tensors(model: GPT) -> tuple[dict[str, torch.Tensor], dict]:
    """GPT-Neo state dict and config of a banded model (query weights pre-scaled)."""
    c = model.config
    if c.use_qkv_bias:
        raise ExportError("GPT-Neo has no q/k/v bias: a banded model must be trained with "
                          "model.qkv_bias unset or false")
    sd, out = _state_and_shared_tensors(model)
    for i in range(c.n_layer):
        ours, theirs = f"h.{i}.", f"transformer.h.{i}."
        for name in ("ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight",
                     "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"):
            out[theirs + name] = sd[ours + name]  # both nn.Linear: (out, in)
        q, k, v = sd[f"{ours}attn.c_attn.weight"].split(c.d_model, dim=0)
        attn = f"{theirs}attn.attention."
        out[attn + "q_proj.weight"] = q / math.sqrt(c.d_head)  # GPT-Neo does not scale scores
        out[attn + "k_proj.weight"] = k
        out[attn + "v_proj.weight"] = v
        out[attn + "out_proj.weight"] = sd[f"{ours}attn.c_proj.weight"]
        out[attn + "out_proj.bias"] = sd[f"{ours}attn.c_proj.bias"]
    config = {"model_type": "gpt_neo", "architectures": ["GPTNeoForCausalLM"],
              "max_position_embeddings": c.n_ctx, "hidden_size": c.d_model,
              "num_layers": c.n_layer, "num_heads": c.n_head, "intermediate_size": None,
              "attention_types": [[list(c.layer_kinds), 1]], "window_size": c.window,
              "embed_dropout": 0.0, "attention_dropout": 0.0, "resid_dropout": 0.0,
              **_common_config(model)}
    return out, config


def export_hf(model: GPT, out_dir: str | Path, eot_id: int | None = None) -> Path:
    """Write `model.safetensors` and `config.json` (GPT-2 if all-dense, else GPT-Neo)."""
    from safetensors.torch import save_file
    tensors, config = (gpt_neo_tensors if model.config.banded else gpt2_tensors)(model)
    config.update(bos_token_id=eot_id, eos_token_id=eot_id)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out_dir / "model.safetensors"),
              metadata={"format": "pt"})
    (out_dir / "config.json").write_text(json.dumps(config, indent=1))
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crawl2gpt export", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True,
                        help="a checkpoint folder, or a run's checkpoint folder (newest is used)")
    parser.add_argument("--out", required=True, help="folder for the Hugging Face model")
    args = parser.parse_args(argv)
    try:
        model, state = load_model(args.checkpoint)
        out = export_hf(model, args.out, state.get("tokenizer", {}).get("eot_id"))
    except (CheckpointError, ExportError) as e:
        print(f"crawl2gpt export: {e}", file=sys.stderr)
        return 2
    kind = "GPT-Neo" if model.config.banded else "GPT-2"
    print(f"wrote {kind} model ({model.num_params():,} parameters) to {out}")
    return 0


export_main = main

if __name__ == "__main__":
    sys.exit(main())
