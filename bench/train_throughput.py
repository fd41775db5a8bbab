"""Training throughput: our GPT against Hugging Face's at the same shape, and the data loader.

    .venv/bin/python bench/train_throughput.py                 # everything below
    .venv/bin/python bench/train_throughput.py --only model    # or: loader, gpu

- **model**: one training step (forward, `lm_loss`, backward, clip 1.0, our AdamW) on random
  tokens, ours (`training.model.GPT`) against `transformers`' `GPT2LMHeadModel` of the same
  shape: dropout 0, no torch.compile on either (HF with its default attention, SDPA), all-dense
  attention, fp32 on CPU. Median of 3 timed steps after one warm-up step, the two models' steps
  interleaved in one process so both see the same machine load; peak RSS measured for each
  model alone in its own process. `ratio_vs_hf` = our tokens/s over theirs. The banded
  configuration (ours alternating
  dense/local) is reported separately against `GPTNeoForCausalLM` with the same pattern.
- **loader**: `training.data.TokenLoader` alone on one core (sched_setaffinity), sequences of
  2048 + 1, over corpora written by the builder's own shard writer at 1x and 8x size; tokens/s
  delivered and peak RSS of the process.
- **gpu** (only where CUDA is present): MFU of GPT-3 Small/Medium/XL on one GPU, all-dense,
  bf16 autocast, with MFU = tokens/s x (6 N + 6 n_layer d_model seq_len) / bf16 dense peak.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

MODEL_CASES = [  # (label, size, n_ctx, micro-batch, attention)
    ("tiny", "tiny", 128, 16, "dense"),
    ("gpt3-small", "gpt3-small", 128, 4, "dense"),
    ("tiny banded", "tiny", 128, 16, "banded"),
    ("gpt3-small banded", "gpt3-small", 128, 4, "banded"),
]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_model(impl: str, size: str, n_ctx: int, attention: str):
    """Ours or Hugging Face's model of one shape; returns (model, logits function)."""
    from crawl2gpt.training.config import model_config
    banded = attention == "banded"
    ours = model_config(size, n_ctx=n_ctx, dropout=0.0, window=n_ctx // 4,
                        attention=["global", "local"] if banded else ["global"])
    if impl == "ours":
        from crawl2gpt.training.model import GPT
        return GPT(ours), lambda m, x: m(x)
    import transformers
    common = dict(vocab_size=ours.vocab_size, activation_function="gelu_new",
                  layer_norm_epsilon=ours.layer_norm_eps)
    if banded:
        cfg = transformers.GPTNeoConfig(
            max_position_embeddings=n_ctx, hidden_size=ours.d_model, num_layers=ours.n_layer,
            num_heads=ours.n_head, attention_types=[[["global", "local"], ours.n_layer // 2]],
            window_size=ours.window, embed_dropout=0.0, attention_dropout=0.0,
            resid_dropout=0.0, **common)
        model = transformers.GPTNeoForCausalLM(cfg)
    else:
        cfg = transformers.GPT2Config(n_positions=n_ctx, n_embd=ours.d_model,
                                      n_layer=ours.n_layer, n_head=ours.n_head, resid_pdrop=0.0,
                                      embd_pdrop=0.0, attn_pdrop=0.0, **common)
        model = transformers.GPT2LMHeadModel(cfg)
    return model, lambda m, x: m(input_ids=x).logits


def _train_step(model, logits_of, optimizer, x, bf16: bool = False) -> None:
    """Forward, our loss, backward, clip, our AdamW: the same step for both implementations."""
    import torch

    from crawl2gpt.training.model import lm_loss
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
        loss = lm_loss(logits_of(model, x[:, :-1]), x[:, 1:])
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def _setup(impl: str, size: str, n_ctx: int, attention: str):
    import torch

    from crawl2gpt.training.schedule import OptimConfig, build_optimizer
    torch.manual_seed(0)
    model, logits_of = build_model(impl, size, n_ctx, attention)
    model.train()
    return model, logits_of, build_optimizer(model, OptimConfig(), lr=1e-4)


def child_memory(impl: str, size: str, n_ctx: int, batch: int, attention: str) -> dict:
    """Peak RSS of one implementation alone: model, optimiser state and one step."""
    import torch
    base = rss_mb()
    model, logits_of, optimizer = _setup(impl, size, n_ctx, attention)
    _train_step(model, logits_of, optimizer,
                torch.randint(0, model.config.vocab_size, (batch, n_ctx + 1)))
    return {"peak_rss_mb": peak_rss_mb(), "rss_growth_mb": peak_rss_mb() - base}


def child_speed(size: str, n_ctx: int, batch: int, attention: str, repeats: int = 3) -> dict:
    """Tokens/s of both implementations, steps interleaved so both see the same machine load;
    median of `repeats` timed steps after one warm-up step each."""
    import torch
    setups = {impl: _setup(impl, size, n_ctx, attention) for impl in ("ours", "hf")}
    vocab = setups["ours"][0].config.vocab_size
    times: dict[str, list[float]] = {impl: [] for impl in setups}
    for i in range(repeats + 1):
        x = torch.randint(0, vocab, (batch, n_ctx + 1))
        for impl, (model, logits_of, optimizer) in setups.items():
            start = time.perf_counter()
            _train_step(model, logits_of, optimizer, x)
            if i:
                times[impl].append(time.perf_counter() - start)
    return {impl: batch * n_ctx / statistics.median(t) for impl, t in times.items()}


def write_loader_corpus(root: Path, tokens_per_source: int, vocab_size: int = 50257) -> Path:
    """Two sources of random documents (100-3000 tokens) through the builder's shard writer."""
    import numpy as np

    from crawl2gpt.mixing.token_shards import write_source_shards
    rng = np.random.default_rng(0)
    sources = {}
    for name in ("web", "books"):
        docs, total = [], 0
        while total < tokens_per_source:
            n = int(rng.integers(100, 3000))
            docs.append((f"{name}-{len(docs)}", rng.integers(0, vocab_size, n, dtype=np.uint16)))
            total += n
        infos = write_source_shards(docs, root, source=name, seed=1, id_dtype="uint16",
                                    row_group_bytes=8 * 2**20, num_files=2)
        sources[name] = {"weight": 0.5, "epochs": 1.0, "tokens": total, "shards": [
            {"path": str(Path(i.path).relative_to(root)), "rows": i.num_documents,
             "tokens": i.num_tokens, "sha256": i.sha256} for i in infos]}
    manifest = root / "manifest.json"
    manifest.write_text(json.dumps({"tokens": {"seed": 1, "sources": sources, "tokenizer": {
        "kind": "bench", "vocab_size": vocab_size, "eot_id": vocab_size - 1,
        "files_sha256": {}}}}))
    return manifest


def child_loader(manifest: str, tokens: int) -> dict:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from crawl2gpt.training.data import TokenLoader, load_token_manifest
    base = rss_mb()
    loader = TokenLoader(load_token_manifest(manifest), seq_len=2048, micro_batch=8)
    start, served = time.perf_counter(), 0
    while served < tokens:
        served += loader.next_batch()[:, :-1].numel()
    elapsed = time.perf_counter() - start
    loader.close()
    return {"tokens_per_s": served / elapsed, "peak_rss_mb": peak_rss_mb(),
            "rss_growth_mb": peak_rss_mb() - base}


def child_gpu(size: str, batch: int, steps: int = 10) -> dict:
    import torch

    from crawl2gpt.training.config import model_config
    from crawl2gpt.training.metrics import device_peak_flops
    from crawl2gpt.training.model import GPT
    from crawl2gpt.training.schedule import OptimConfig, build_optimizer
    cfg = model_config(size, attention=["global"], dropout=0.0)
    device = torch.device("cuda")
    model = GPT(cfg).to(device)
    optimizer = build_optimizer(model, OptimConfig(), lr=1e-4)
    times = []
    for i in range(steps + 2):
        x = torch.randint(0, cfg.vocab_size, (batch, cfg.n_ctx + 1), device=device)
        torch.cuda.synchronize()
        start = time.perf_counter()
        _train_step(model, lambda m, t: m(t), optimizer, x, bf16=True)
        torch.cuda.synchronize()
        if i >= 2:  # two warm-up steps
            times.append(time.perf_counter() - start)
    tps = batch * cfg.n_ctx / statistics.median(times)
    return {"tokens_per_s": tps, "mfu": tps * cfg.flops_per_token() / device_peak_flops(device),
            "peak_mem_gb": torch.cuda.max_memory_allocated() / 2**30,
            "device": torch.cuda.get_device_name()}


def run_child(kind: str, **kwargs) -> dict:
    cmd = [sys.executable, __file__, "--child", json.dumps({"kind": kind, **kwargs})]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_models() -> None:
    print("| shape | attention | ctx x batch | ours tok/s | HF tok/s | ratio_vs_hf | "
          "ours peak RSS MB | HF peak RSS MB |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for label, size, n_ctx, batch, attention in MODEL_CASES:
        shape = dict(size=size, n_ctx=n_ctx, batch=batch, attention=attention)
        speed = run_child("speed", **shape)
        memory = {impl: run_child("memory", impl=impl, **shape) for impl in ("ours", "hf")}
        peer = "GPT-Neo" if attention == "banded" else "GPT-2"
        print(f"| {label} | {attention} (HF {peer}) | {n_ctx} x {batch} | "
              f"{speed['ours']:,.0f} | {speed['hf']:,.0f} | {speed['ours'] / speed['hf']:.2f} | "
              f"{memory['ours']['peak_rss_mb']:,.0f} | {memory['hf']['peak_rss_mb']:,.0f} |",
              flush=True)


def bench_loader() -> None:
    print("| corpus | tokens | loader tok/s (1 core) | peak RSS MB | RSS growth MB |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for scale in (1, 8):
            root = Path(tmp) / f"x{scale}"
            manifest = write_loader_corpus(root, scale * 16 * 2**20)
            r = run_child("loader", manifest=str(manifest), tokens=32 * 2**20)
            print(f"| {scale}x | {2 * scale * 16 * 2**20:,} | {r['tokens_per_s']:,.0f} | "
                  f"{r['peak_rss_mb']:,.0f} | {r['rss_growth_mb']:,.0f} |", flush=True)


def bench_gpu() -> None:
    import torch
    if not torch.cuda.is_available():
        print("gpu: no CUDA device here; MFU not measured")
        return
    print("| model | micro-batch x 2048 | tok/s | MFU | peak GB |")
    print("|---|---:|---:|---:|---:|")
    for size, batch in (("gpt3-small", 16), ("gpt3-medium", 8), ("gpt3-xl", 4)):
        r = run_child("gpu", size=size, batch=batch)
        print(f"| {size} | {batch} | {r['tokens_per_s']:,.0f} | {100 * r['mfu']:.1f}% | "
              f"{r['peak_mem_gb']:.1f} |  ({r['device']})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["model", "loader", "gpu"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec = json.loads(args.child)
        fn = {"speed": child_speed, "memory": child_memory, "loader": child_loader,
              "gpu": child_gpu}[spec.pop("kind")]
        print(json.dumps(fn(**spec)))
        return
    for name, fn in (("model", bench_models), ("loader", bench_loader), ("gpu", bench_gpu)):
        if args.only in (None, name):
            fn()


if __name__ == "__main__":
    main()
