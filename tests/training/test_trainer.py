"""The trainer end to end on real text: learning, exact resume, checkpoints, bad input."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from crawl2gpt.training.checkpoint import CheckpointError, complete_checkpoints, latest_checkpoint
from crawl2gpt.training.data import DataError
from crawl2gpt.training.train_config import load_train_config
from crawl2gpt.training.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]


def settings(manifest, out_dir, *extra):
    """A tiny banded model on the byte corpus, with dropout (so RNG state matters) and a batch
    ramp (so schedule state matters): 4 to 16 sequences of 64 over the first 20 k tokens."""
    return [f"data.manifest={json.dumps(str(manifest))}", "model.size=tiny",
            "model.vocab_size=257", "model.dropout=0.1", f"out_dir={json.dumps(str(out_dir))}",
            "micro_batch=4", "optim.lr=3e-3", "optim.warmup_tokens=4096",
            "optim.decay_end_tokens=200000", "optim.batch_tokens=1024",
            "optim.batch_start_tokens=256", "optim.batch_ramp_tokens=20000",
            "eval.every_steps=0", "log_every=10", "checkpoint.every_steps=10",
            "checkpoint.keep=2", *extra]


def train(manifest, out_dir, *extra):
    return Trainer(load_train_config(None, settings(manifest, out_dir, *extra))).fit()


@pytest.fixture(scope="module")
def reference(speech_corpus, tmp_path_factory):
    """40 uninterrupted steps."""
    return train(speech_corpus, tmp_path_factory.mktemp("reference"), "max_steps=40")


def test_validation_loss_falls_below_unigram_entropy(speech_corpus, tmp_path):
    tokens = np.concatenate([pq.read_table(p).column("tokens").combine_chunks().values.to_numpy()
                             for p in sorted(speech_corpus.parent.glob("*/*.parquet"))])
    p = np.bincount(tokens) / tokens.size
    p = p[p > 0]
    entropy = float(-(p * np.log(p)).sum())  # nats per byte; about 3.0 for English text
    records_path = tmp_path / "metrics.jsonl"
    # all-dense tiny model (it leaves the unigram plateau sooner than the banded one on bytes),
    # 100 steps of 1,024 tokens at a constant batch
    train(speech_corpus, tmp_path, "model.size=tiny-dense", "model.dropout=0.0", "max_steps=100",
          "eval.every_steps=100", "checkpoint.every_steps=0", "optim.batch_ramp_tokens=0",
          "optim.warmup_tokens=10000", "optim.decay_end_tokens=1000000")
    evals = [r for r in map(json.loads, records_path.read_text().splitlines()) if
             "val_loss/inaugural" in r]
    final = evals[-1]
    print(f"unigram entropy {entropy:.4f} nats; validation {final}")
    assert final["val_loss/inaugural"] < entropy
    assert final["val_loss/state_union"] < entropy


def test_resume_repeats_the_uninterrupted_losses_exactly(speech_corpus, reference, tmp_path):
    first = train(speech_corpus, tmp_path, "max_steps=20")
    assert [r["loss"] for r in first] == [r["loss"] for r in reference[:20]]
    # a save killed mid-write leaves a partial folder: it must be ignored
    ckpt = tmp_path / "checkpoints"
    partial = ckpt / "step_00000030.partial"
    shutil.copytree(ckpt / "step_00000020", partial)
    (partial / "train_state.json").unlink()
    distcp = next(partial.glob("*.distcp"))
    distcp.write_bytes(distcp.read_bytes()[:100])
    second = train(speech_corpus, tmp_path, "max_steps=40")
    assert [r["step"] for r in second] == list(range(21, 41))
    assert [r["loss"] for r in second] == [r["loss"] for r in reference[20:]]
    assert [p.name for p in complete_checkpoints(ckpt)] == ["step_00000030", "step_00000040"]


def _start_training(manifest, out_dir, *extra):
    argv = [sys.executable, "-m", "crawl2gpt.training.train"]
    for s in settings(manifest, out_dir, "max_steps=100000", *extra):
        argv += ["--set", s]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"training exited early: {proc.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("training did not get far enough in time")
        time.sleep(0.02)


def test_sigkill_during_checkpointing_resumes_from_last_complete(speech_corpus, reference,
                                                                  tmp_path):
    # Saving every step, most of the wall time is spent writing checkpoints: SIGKILL lands in
    # the middle of one or between two, and either way resume must take the last whole one.
    proc = _start_training(speech_corpus, tmp_path, "checkpoint.every_steps=1")
    ckpt = tmp_path / "checkpoints"
    _wait_for(lambda: len(complete_checkpoints(ckpt)) >= 2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    last = int(latest_checkpoint(ckpt).name.split("_")[1])
    assert 1 <= last < 40
    resumed = train(speech_corpus, tmp_path, "max_steps=40")
    assert [r["step"] for r in resumed] == list(range(last + 1, 41))
    assert [r["loss"] for r in resumed] == [r["loss"] for r in reference[last:]]


def test_sigterm_saves_the_current_step_and_exits_cleanly(speech_corpus, tmp_path):
    proc = _start_training(speech_corpus, tmp_path, "checkpoint.every_steps=0", "log_every=1")
    _wait_for(lambda: (tmp_path / "metrics.jsonl").exists(), proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    step = int(out.split("trained to step ")[1].split(",")[0])
    assert latest_checkpoint(tmp_path / "checkpoints").name == f"step_{step:08d}"


def test_checkpoint_of_another_shape_is_refused(speech_corpus, reference, tmp_path):
    train(speech_corpus, tmp_path, "max_steps=1")
    with pytest.raises(CheckpointError, match=r"step_00000001: checkpoint is for another model "
                                              r"shape \(n_layer: checkpoint 2 vs model 3"):
        train(speech_corpus, tmp_path, "max_steps=2", "model.n_layer=3")


def test_vocabulary_mismatch_is_refused_before_training(speech_corpus, tmp_path):
    with pytest.raises(DataError, match=r"manifest.json: tokenizer vocab_size 257 != "
                                        r"model.vocab_size 50257"):
        train(speech_corpus, tmp_path, "max_steps=1", "model.vocab_size=50257")
