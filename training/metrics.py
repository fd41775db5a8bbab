"""Training metrics: one JSON line per record, TensorBoard when installed, a progress line.

MFU (model FLOPs utilisation) = tokens/s x FLOPs per token / device peak, with FLOPs per token
= 6 N + 6 n_layer d_model seq_len (N parameters: forward and backward of the weights, then the
attention scores; PaLM's appendix B estimate with causal attention counted once).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

# Dense bf16 peak FLOP/s by device-name fragment (vendor data sheets, SXM parts).
PEAK_BF16_FLOPS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12,
                   "A10G": 70e12, "L4": 121e12}


def device_peak_flops(device: torch.device) -> float:
    """The bf16 dense peak of a known GPU, else 0 (no MFU shown)."""
    if device.type != "cuda":
        return 0.0
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_FLOPS.items() if k in name), 0.0)


def format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}"


def progress_line(record: dict, max_steps: int) -> str:
    parts = [f"step {record['step']}" + (f"/{max_steps}" if max_steps else ""),
             f"loss {record['loss']:.4f}", f"lr {record['lr']:.2e}",
             f"batch {record['batch_tokens']:,} tok", f"{record['tokens_per_s']:,.0f} tok/s"]
    if record.get("mfu") is not None:
        parts.append(f"MFU {100 * record['mfu']:.1f}%")
    if record.get("eta_s") is not None:
        parts.append(f"ETA {format_duration(record['eta_s'])}")
    return " | ".join(parts)


class MetricsLogger:
    """Appends records to `metrics.jsonl` and TensorBoard scalars (`tensorboard/`) in the run
    folder; a resumed run continues both."""

    def __init__(self, out_dir: str | Path, enabled: bool = True):
        self.enabled = enabled
        self.path = Path(out_dir) / "metrics.jsonl"
        self._tensorboard = None
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            from torch.utils.tensorboard import SummaryWriter
            self._tensorboard = SummaryWriter(str(Path(out_dir) / "tensorboard"))

    def log(self, record: dict) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps({"time": time.time(), **record}) + "\n")
        if self._tensorboard is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)):
                    self._tensorboard.add_scalar(key, value, record["step"])

    def progress(self, line: str) -> None:
        if self.enabled:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.close()
