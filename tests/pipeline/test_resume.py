"""Resumable builds: a SIGKILLed build finishes with --resume, byte for byte as an uninterrupted
one, without reading its committed input files again."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.checkpoints import ResumeError, changed_keys
from crawl2gpt.pipeline.config import load_build_config
from tests.pipeline.test_build import REPO, long_line, shard_hashes, write_config

# Four files of three documents each; every file sleeps 1 s while being read, so a poll sees
# files commit one by one and the build can be killed between two commits.
FILES = {f"{name}.txt": [long_line(10 * i + j) for j in range(3)] + ["SLEEP 1"]
         for i, name in enumerate("abcd")}
FILES["d.txt"].append(long_line(0))  # an exact duplicate across files (a.txt's first line)


@pytest.fixture(autouse=True)
def _run_from_repo_root(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PYTHONPATH", str(REPO))


def committed_markers(out: Path) -> list[Path]:
    return sorted((out / "_checkpoints" / "files").glob("*.json"))


def kill_midway(config_path: Path, out: Path) -> int:
    """Start a multi-processing build, SIGKILL its whole process group once 1-3 files are
    committed; returns how many were."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawl2gpt.cli", "build", "--config", str(config_path),
         "--output", str(out), "--", "--direct_running_mode", "multi_processing",
         "--direct_num_workers", "2"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while not committed_markers(out) and time.monotonic() < deadline:
        assert proc.poll() is None, "the build ended before it could be killed"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return len(committed_markers(out))


def test_killed_build_resumes_to_identical_bytes(tmp_path):
    config_path = write_config(tmp_path, files=FILES)
    out = tmp_path / "out"
    committed = kill_midway(config_path, out)
    assert 1 <= committed <= 3
    assert not (out / "manifest.json").exists()

    # A per-file key changed: refused, naming the key; the checkpoints stay as they were.
    changed = load_build_config(str(config_path), ["normalize.min_chars=50"])
    with pytest.raises(ResumeError, match=r"normalize\.min_chars: 100 → 50"):
        run_build(changed, str(out), resume=True)
    assert len(committed_markers(out)) == committed

    # Resumed on another runner (in memory), with a key of the global stages changed (shard
    # buckets: 3 → 2): only the uncommitted files are read, the global stages rerun.
    config = load_build_config(str(config_path), ["shards.num_buckets=2"])
    resumed = run_build(config, str(out), resume=True)
    assert resumed.metrics["ReadSources.files_from_checkpoint"] == committed
    assert resumed.metrics["ReadSources.files_read"] == 4 - committed
    assert not (out / "_checkpoints").exists()  # removed once the build is committed

    whole = tmp_path / "whole"  # uninterrupted, with the config the resumed run had
    uninterrupted = run_build(config, str(whole))
    assert uninterrupted.metrics["ReadSources.files_read"] == 4
    # Hand count: 4 files x 3 distinct lines + 1 duplicate = 13 read, 12 kept.
    assert resumed.manifest["sources"]["web"]["documents_read"] == 13
    assert resumed.manifest["sources"]["web"]["documents"] == 12
    assert shard_hashes(out) and shard_hashes(out) == shard_hashes(whole)
    assert {p.split("/")[-1][:5] for p in shard_hashes(out) if p.startswith("documents/")} \
        == {"b0000", "b0001"}
    assert (out / "manifest.json").read_bytes() == (whole / "manifest.json").read_bytes()


def test_changed_keys_names_each_leaf():
    old = {"sources": [{"name": "web", "options": {"extract": "full"}}], "read": {"x": 1}}
    new = {"sources": [{"name": "web", "options": {"extract": "main"}}], "read": {"x": 1, "y": 2}}
    assert changed_keys(old, new) == ["read.y: '<absent>' → 2",
                                      "sources.web.options.extract: 'full' → 'main'"]
