"""Build throughput: input MB/s and documents/s of `crawl2gpt build` on a generated corpus.

Generates the demo corpus at a scale giving at least `--min-mb` of input (WARC/WET crawl plus
reference text), then runs the same build config with each runner in a fresh process and
samples the resident memory of the whole process tree (driver + workers):

    .venv/bin/python bench/build_throughput.py --min-mb 200

Prints one line per runner and the ratios `ratio_multi_vs_inmemory` and `ratio_dask_vs_direct`
(Dask with 2 workers vs DirectRunner multi-processing with 2 workers).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from crawl2gpt.demo.data import demo_build_config, generate_demo_corpus

RUNNERS = {
    "in-memory": [],
    "multi-processing-2": ["--", "--direct_running_mode", "multi_processing",
                           "--direct_num_workers", "2"],
    "dask-2": ["--runner", "dask", "--dask-workers", "2"],
}


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_measured(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak process-tree RSS of a command."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            try:
                peak[0] = max(peak[0], tree_rss(ps))
            except psutil.Error:
                pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err.decode()[-3000:]}")
    return time.monotonic() - start, peak[0]


def measured_build(exe: list[str], out: Path, runner: str) -> dict[str, float]:
    """Run one build into `out` in a fresh process on `runner`: its speed and peak RSS."""
    seconds, peak = run_measured(exe + ["--output", str(out)] + RUNNERS[runner])
    manifest = json.loads((out / "manifest.json").read_text())
    read = sum(s["documents_read"] for s in manifest["sources"].values())
    input_mb = manifest["totals"]["input_bytes"] / 1e6
    return {"seconds": seconds, "input_mb": input_mb, "mb_per_s": input_mb / seconds,
            "docs_per_s": read / seconds, "documents_read": read,
            "documents_kept": manifest["totals"]["documents"], "peak_rss_mb": peak / 1e6}


def folder_mb(path: Path) -> float:
    """MB of the files the demo build reads (the WET copy of one WARC is not read)."""
    return sum(f.stat().st_size for f in path.rglob("*")
               if f.is_file() and ".wet" not in f.name and f.suffix != ".json") / 1e6


def corpus_for(min_mb: float, work: Path, scale: float | None = None) -> tuple[Path, float]:
    """Generate the demo corpus, scaled until its input files reach `min_mb` (or at `scale`)."""
    corpus = work / "corpus"
    if scale is not None:
        shutil.rmtree(corpus, ignore_errors=True)
        generate_demo_corpus(str(corpus), scale=scale)
        return corpus, folder_mb(corpus)
    generate_demo_corpus(str(work / "probe"), scale=1.0)
    scale = max(1.0, min_mb / folder_mb(work / "probe") * 1.05)
    while not (corpus / "demo_corpus.json").exists() or folder_mb(corpus) < min_mb:
        shutil.rmtree(corpus, ignore_errors=True)
        generate_demo_corpus(str(corpus), scale=scale, workers=os.cpu_count() or 1)
        scale *= 1.1
    return corpus, folder_mb(corpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-mb", type=float, default=200.0)
    parser.add_argument("--scale", type=float, help="demo corpus scale instead of --min-mb "
                        "(below 1 for quick runs; the measured figures use --min-mb)")
    parser.add_argument("--work", default="bench/out/build_throughput")
    parser.add_argument("--runners", default=",".join(RUNNERS))
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    corpus, corpus_mb = corpus_for(args.min_mb, work, args.scale)
    config = work / "build.toml"
    config.write_text(demo_build_config(os.path.relpath(corpus, work)))
    exe = [sys.executable, "-m", "crawl2gpt.cli", "build", "--config", str(config)]
    results = {}
    for name in args.runners.split(","):
        results[name] = r = measured_build(exe, work / f"out-{name}", name)
        print(f"{name:<20} {r['seconds']:7.1f} s  {r['input_mb']:7.1f} MB in  "
              f"{r['mb_per_s']:6.2f} MB/s  {r['docs_per_s']:8.1f} docs/s  "
              f"peak RSS {r['peak_rss_mb']:7.0f} MB", flush=True)
    print(f"corpus_mb {corpus_mb:.1f}")
    if {"in-memory", "multi-processing-2"} <= results.keys():
        print(f"ratio_multi_vs_inmemory "
              f"{results['multi-processing-2']['mb_per_s'] / results['in-memory']['mb_per_s']:.2f}")
    if {"dask-2", "multi-processing-2"} <= results.keys():
        print(f"ratio_dask_vs_direct "
              f"{results['dask-2']['mb_per_s'] / results['multi-processing-2']['mb_per_s']:.2f}")
    (work / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
