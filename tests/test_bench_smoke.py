"""Every script in bench/ runs at tiny sizes and prints its figures (issue 19).

The figures at these sizes mean nothing; the point is that a benchmark which no longer runs
against the code (as bench/tokenize_throughput.py once did) fails here, not on the day someone
needs its numbers. Each script runs as docs/benchmarks.md runs it (a subprocess from the
repository root), offline, on CPU, with its output and temporary files under tmp_path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from tests.conftest import REPO_ROOT

BENCH = REPO_ROOT / "bench"
TIMEOUT_S = 300


@dataclass(frozen=True)
class Smoke:
    args: list[str]
    """Command-line arguments; `{tmp}` is the test's tmp_path, `{data}` ../shared/data."""
    expect: list[str]
    """Regular expressions (multi-line) that the script's stdout must match."""
    files: list[str] = field(default_factory=list)
    """Files the script must have written under tmp_path."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment that the script's documented command sets."""


SMOKE = {
    "build_scale": Smoke(
        ["--sizes", "0.5,1", "--corpus", "c4", "--runners", "in-memory", "--work", "{tmp}"],
        [r'^\{"corpus": "c4", "size": 1\.0, "runner": "in-memory", .*"peak_rss_mb": \d+\}$',
         r'^\{"runner": "in-memory", "rss_growth": \d+\.\d+\}$'],
        files=["results-c4.json"]),
    "build_throughput": Smoke(
        ["--scale", "0.05", "--work", "{tmp}"],
        [r"^dask-2 +[\d.]+ s .* peak RSS +\d+ MB$", r"^ratio_multi_vs_inmemory \d+\.\d\d$",
         r"^ratio_dask_vs_direct \d+\.\d\d$"],
        files=["results.json", "out-dask-2/manifest.json"]),
    "contamination": Smoke(  # the small LAMBADA file holds the passages planted at 0 and 100
        ["--repeat", "1", "--docs", "200", "--benchmarks",
         "{data}/benchmarks/icl/language_understanding/lambada_openai_small.jsonl"],
        [r'^\{"run": "side_input", "docs": 200, .*"rejected": 2\b',
         r'^\{"run": "keyed_join", "docs": 200, .*"rejected": 2\b',
         r"^\| core \| 200 \| [\d.]+ \| [\d.]+ \|"]),
    "dedup_quality": Smoke(
        ["--variants", "10", "--repeats", "1", "--base-docs", "150"],
        [r"^corpus: 160 documents", r"^recall: [01]\.\d{4}$",
         r"^ratio_vs_datasketch: \d+\.\d\d$"]),
    "eval_throughput": Smoke(
        ["--limit", "6", "--repeats", "1", "--batch-size", "4"],
        [r"^examples 6$", r"^ratio_vs_lm_eval \d+\.\d+$", r"^differ_acc 0$"]),
    "extraction_quality": Smoke(
        ["--limit", "20", "--passes", "1", "--report-only"],
        [r"^readability: 20 pages", r"^snippets: 20 pages",
         r"^snippets: F1 ours 0\.\d{4} vs best trafilatura 0\.\d{4}; empty \d+ vs \d+; "
         r"MB per CPU-second \d+\.\d\dx"]),
    "heuristics": Smoke(
        ["--docs", "50", "--passes", "1"],
        [r"^50 documents", r"^agreement per group: gopher_repetition [01]\.\d{3}",
         r"^ratio_vs_datatrove \d+\.\d\d$", r"^pii_ratio_vs_datatrove \d+\.\d\d$"]),
    "icl_sanity": Smoke(  # K = 10 needs more than 10 held-out problems per operation
        ["--out", "{tmp}", "--docs", "50", "--pairs", "12", "--steps", "2", "--report-only"],
        [r"^choice_accuracy_k10: [01]\.\d{4} \+- [\d.]+ \(n=24\)$",
         r"^sanity_check: (PASS|FAIL)$"],
        files=["eval/examples/hidden_plus_choice/k10.jsonl"]),
    "incremental": Smoke(
        ["--scale", "0.05", "--work", "{tmp}"],
        [r"^B +--against A +wall", r"kept A \+ B = ([\d,]+), full rebuild = \1$",
         r"^ratio_vs_full_rebuild \d+\.\d{3}$"],
        files=["out-B/manifest.json"]),
    "langid_quality": Smoke(  # already small: 97 lines and 16 pages
        ["--passes", "1"],
        [r"^hplt: 97 lines", r"^lid\.176\S*.* +\d+/97 +\d+/16 ", r"^py3langid\S*.* +\d+/97 "]),
    "parallel_scaling": Smoke(  # imports bench.train_throughput: run as documented
        ["--layouts", "pp2 1F1B", "--steps", "1", "--batch", "4", "--tokens", "20000"],
        [r"^\| pp2 1F1B \| 0 \(0\) \| [\d,]+ \|", r"^\| pp2 1F1B \| 1 \(1\) \| [\d,]+ \|"],
        env={"PYTHONPATH": str(REPO_ROOT)}),
    "quality_ratio": Smoke(
        ["--reference", "40", "--backends", "hashing-lr", "--work", "{tmp}", "--data", "{data}"],
        [r'^\{"reference_in_A": \d+, "raw_in_A": \d+, "backend": "hashing-lr", '
         r'"heldout_by_file_auc": [01]\.\d+, .*"half_B_auc": [01]\.\d+']),
    "quality_filter_speed": Smoke(
        ["--docs", "100"],
        [r"^100 documents", r"^\| fasttext \| stage \(FilterQuality\) \| [\d,]+ \|",
         r"^\| hashing-lr \| library batched \| [\d,]+ \|"]),
    "tokenize_throughput": Smoke(
        ["--docs", "300"],
        [r'^\{"text_bytes": \d+, .*"documents": 300,',
         r'^\{"kind": "hf-json", .*"ratio_vs_tiktoken": \d', r'^\{"peer": "tokenizers']),
    "train_throughput": Smoke(
        ["--cases", "tiny banded", "--batch", "1", "--repeats", "1", "--loader-tokens", "20000"],
        [r"^\| tiny banded \| banded \(HF GPT-Neo\) \| 128 x 1 \| [\d,]+ \| [\d,]+ \| \d",
         r"^\| 8x \| 320,000 \| [\d,]+ \|", r"^gpu: no CUDA device here"]),
}


def test_every_bench_script_has_a_smoke_entry():
    """A new benchmark must get tiny arguments here, or it goes unrun until someone needs it."""
    assert sorted(p.stem for p in BENCH.glob("*.py")) == sorted(SMOKE)


def repo_writes() -> tuple[set[str], bytes]:
    """New paths in the working tree (untracked or ignored, such as bench/out/), and
    docs/benchmarks.md; edits to other tracked files meanwhile are someone else's."""
    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True).stdout
    new = {line for line in status.splitlines()
           if line[:2] in ("??", "!!") and "__pycache__" not in line}
    return new, (REPO_ROOT / "docs" / "benchmarks.md").read_bytes()


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_bench_script_runs_small(name, tmp_path, shared_data):
    """Offline (no hub downloads) and on CPU even where a GPU is, as in CI, so that a pass here
    means the same on every machine."""
    smoke = SMOKE[name]
    work = tmp_path / "work"
    (tmp_path / "tmp").mkdir()
    args = [a.format(tmp=work, data=shared_data) for a in smoke.args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "",
           "TMPDIR": str(tmp_path / "tmp"), **smoke.env}
    before = repo_writes()
    done = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), *args], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stderr[-4000:]}"
    missing = [p for p in smoke.expect if not re.search(p, done.stdout, re.M)]
    assert not missing, f"{name} printed no line matching {missing}:\n{done.stdout[-4000:]}"
    for path in smoke.files:
        assert (work / path).stat().st_size > 0, path
    assert repo_writes() == before, f"{name} wrote into the repository"
