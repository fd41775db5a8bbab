"""The build at several input sizes: wall, input MB/s, documents/s and peak RSS of the whole
process tree, per runner, each build in a fresh process (issue #20's targets).

    .venv/bin/python bench/build_scale.py --sizes 200,800,3200          # demo corpus, MB
    .venv/bin/python bench/build_scale.py --sizes 25,100 --corpus c4    # text-only JSONL

`demo`: the generated demo corpus (WARC/WET crawl + reference text) with the demo's config (all
stages). `c4`: unique documents of 8-30 real C4 sentences as JSONL, stages `language_id`,
`rules`, `fuzzy_dedup`. Prints one JSON line per (size, runner) and `rss_growth` (peak RSS at
the largest size over the smallest) and `ratio_dask_vs_direct` (MB/s) per size.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import sys
from pathlib import Path

from build_throughput import corpus_for, measured_build

from crawl2gpt.demo.data import demo_build_config

C4 = (Path(__file__).resolve().parents[2] / "shared" / "data" / "commoncrawl" / "c4"
      / "c4-sample.00000-of-00001.json.gz")
C4_CONFIG = """stages = ["language_id", "rules", "fuzzy_dedup"]
[[sources]]
name = "c4"
role = "raw"
inputs = ["{inputs}"]
format = "jsonl"
"""


def c4_corpus(mb: float, folder: Path) -> Path:
    """Unique documents of real C4 sentences, `mb` MB of text, in files of about 25 MB."""
    sentences = []
    with gzip.open(C4, "rt", encoding="utf-8") as f:
        for line in f:
            sentences += [s for s in re.split(r"(?<=[.!?])\s+", json.loads(line)["text"])
                          if len(s) > 20]
    rng = random.Random(0)
    folder.mkdir(parents=True, exist_ok=True)
    written, part, out = 0, 0, None
    while written < mb * 1e6:
        if out is None or out.tell() > 25e6:
            out = open(folder / f"part-{part:04d}.jsonl", "w", encoding="utf-8")
            part += 1
        text = " ".join(rng.choice(sentences) for _ in range(rng.randint(8, 30)))
        out.write(json.dumps({"id": f"d{written}", "text": text}) + "\n")
        written += len(text.encode())
    out.close()
    return folder


def config_for(corpus: str, size_mb: float, work: Path) -> Path:
    config = work / "build.toml"
    if corpus == "demo":
        data, _ = corpus_for(size_mb, work)
        config.write_text(demo_build_config(os.path.relpath(data, work)))
    else:
        c4_corpus(size_mb, work / "corpus")
        config.write_text(C4_CONFIG.format(inputs="corpus/*.jsonl"))
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,800,3200", help="input MB, comma-separated")
    parser.add_argument("--corpus", choices=["demo", "c4"], default="demo")
    parser.add_argument("--runners", default="in-memory,dask-2")
    parser.add_argument("--work", default="bench/out/build_scale")
    args = parser.parse_args()
    results = []
    for size in [float(s) for s in args.sizes.split(",")]:
        work = Path(args.work) / f"{args.corpus}-{size:g}"
        config = config_for(args.corpus, size, work)
        exe = [sys.executable, "-m", "crawl2gpt.cli", "build", "--config", str(config)]
        for runner in args.runners.split(","):
            m = measured_build(exe, work / f"out-{runner}", runner)
            row = {"corpus": args.corpus, "size": size, "runner": runner,
                   "input_mb": round(m["input_mb"], 1), "seconds": round(m["seconds"], 1),
                   "mb_per_s": round(m["mb_per_s"], 3), "docs_per_s": round(m["docs_per_s"], 1),
                   "peak_rss_mb": round(m["peak_rss_mb"])}
            results.append(row)
            print(json.dumps(row), flush=True)
    for runner in args.runners.split(","):
        rows = [r for r in results if r["runner"] == runner]
        if len(rows) > 1:
            print(json.dumps({"runner": runner, "rss_growth": round(
                rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"], 2)}))
    for size in sorted({r["size"] for r in results}):
        by = {r["runner"]: r for r in results if r["size"] == size}
        if {"in-memory", "dask-2"} <= by.keys():
            print(json.dumps({"size": size, "ratio_dask_vs_direct": round(
                by["dask-2"]["mb_per_s"] / by["in-memory"]["mb_per_s"], 2)}))
    (Path(args.work) / f"results-{args.corpus}.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
