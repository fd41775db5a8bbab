"""The build at several input sizes: wall, input MB/s, documents/s and peak RSS of the whole
process tree, per runner, each build in a fresh process (issue #20's targets).

    .venv/bin/python bench/build_scale.py --sizes 200,800,3200          # demo corpus, MB
    .venv/bin/python bench/build_scale.py --sizes 25,100 --corpus c4    # text-only JSONL

`demo`: the generated demo corpus (WARC/WET crawl + reference text) with the demo's config (all
stages). `c4`: unique documents of 8-30 real C4 sentences as JSONL, stages `language_id`,
`rules`, `fuzzy_dedup` (`--stages`), in files of `--file-mb`. Prints one JSON line per (size,
runner) and `rss_growth` (peak RSS at the largest size over the smallest) and
`ratio_dask_vs_direct` (MB/s) per size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from build_throughput import corpus_for, measured_build

from crawl2gpt.demo.data import demo_build_config
from crawl2gpt.demo.sentences import write_sentence_corpus

C4 = (Path(__file__).resolve().parents[2] / "shared" / "data" / "commoncrawl" / "c4"
      / "c4-sample.00000-of-00001.json.gz")
C4_CONFIG = """stages = {stages}
[[sources]]
name = "c4"
role = "raw"
inputs = ["{inputs}"]
format = "jsonl"
"""


def config_for(corpus: str, size_mb: float, work: Path, file_mb: float, stages: list[str]
               ) -> Path:
    config = work / "build.toml"
    if corpus == "demo":
        data, _ = corpus_for(size_mb, work)
        config.write_text(demo_build_config(os.path.relpath(data, work)))
    else:
        write_sentence_corpus(C4, size_mb, work / "corpus", file_mb)
        config.write_text(C4_CONFIG.format(inputs="corpus/*.jsonl", stages=json.dumps(stages)))
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,800,3200", help="input MB, comma-separated")
    parser.add_argument("--corpus", choices=["demo", "c4"], default="demo")
    parser.add_argument("--runners", default="in-memory,dask-2")
    parser.add_argument("--stages", default="language_id,rules,fuzzy_dedup",
                        help="stages of the c4 corpus's build (comma-separated)")
    parser.add_argument("--file-mb", type=float, default=25,
                        help="c4 corpus: MB per input file (a worker holds about one file's "
                             "row groups, so compare sizes at equal file size)")
    parser.add_argument("--work", default="bench/out/build_scale")
    args = parser.parse_args()
    results = []
    for size in [float(s) for s in args.sizes.split(",")]:
        work = Path(args.work) / f"{args.corpus}-{size:g}"
        config = config_for(args.corpus, size, work, args.file_mb, args.stages.split(","))
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
