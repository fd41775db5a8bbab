"""Throughput of the training-side contamination stage with every benchmark loaded.

Indexes all 31 benchmark files in `../shared/data/benchmarks` (13-grams), then runs
`RemoveContamination` on the DirectRunner (in-memory) over real Common Crawl text: the C4
sample and the CC-MAIN-2019-30 page text (1,697 documents, 4.7 MB), repeated `--repeat` times
under new ids, with a LAMBADA passage (a different one each time) pasted into every 100th
document so that the cutting path runs too. Each mode runs in a fresh process; peak memory is
that process's max RSS (the in-memory runner keeps its workers in the process). The core
(`dedup.contamination.remove_contamination`) is measured the same way for reference.

    .venv/bin/python bench/contamination.py [--repeat 2]

Prints one JSON line per run and a Markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SHARED = (REPO / ".." / "shared" / "data").resolve()
RUNS = ["side_input", "keyed_join", "core"]


def corpus(repeat: int):
    from crawl2gpt.core.records import Document
    cc = SHARED / "commoncrawl"
    with gzip.open(cc / "c4" / "c4-sample.00000-of-00001.json.gz", "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    with gzip.open(cc / "cc_text" / "CC-MAIN-20190717121559-20190717143559-00140.dolma.jsonl.gz",
                   "rt", encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f]
    lambada = SHARED / "benchmarks" / "icl" / "language_understanding" / "lambada_openai.jsonl"
    with open(lambada, encoding="utf-8") as f:
        passages = [r["context"] + " " + r["continuation"] for r in map(json.loads, f)]
    docs = []
    for r in range(repeat):
        for i, text in enumerate(texts):
            if i % 100 == 0:  # a different passage each time: one in 10 docs would be ignored
                passage = passages[(r * len(texts) + i) // 100]
                text = text[: len(text) // 2] + " " + passage + " " + text[len(text) // 2:]
            docs.append(Document.create("bench", text, url=f"bench://{r}/{i}"))
    return docs


def run_one(name: str, repeat: int) -> dict:
    import apache_beam as beam

    from crawl2gpt.dedup.benchmarks import load_benchmarks
    from crawl2gpt.dedup.contamination import NgramIndex, remove_contamination
    from crawl2gpt.dedup.contamination_config import ContaminationConfig
    from crawl2gpt.dedup.contamination_transforms import RemoveContamination

    docs = corpus(repeat)
    mb = sum(len(d.text.encode("utf-8")) for d in docs) / 1e6
    cfg = ContaminationConfig(benchmarks=[str(SHARED / "benchmarks")],
                              mode="keyed_join" if name == "keyed_join" else "side_input")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    phases = {}
    if name == "core":  # the fixed cost (load + index) apart from the per-document work
        benchmarks = load_benchmarks(cfg)
        phases["load_s"] = round(time.perf_counter() - start, 1)
        index = NgramIndex.build(benchmarks, cfg.ngram)
        phases["index_s"] = round(time.perf_counter() - start - phases["load_s"], 1)
        filter_start = time.perf_counter()
        result = remove_contamination(docs, index, cfg)
        phases["filter_docs_per_s"] = round(len(docs) / (time.perf_counter() - filter_start), 1)
        kept, rejected = len(result.kept), len(result.rejected)
    else:
        out = tempfile.mkdtemp(prefix="bench_contamination_")
        with beam.Pipeline() as p:  # DirectRunner, in memory
            stage = RemoveContamination(cfg, None)
            kept_pc, rejected_pc = p | beam.Create(docs) | "Contamination" >> stage
            for label, pc in (("kept", kept_pc), ("rejected", rejected_pc)):
                _ = (pc | f"Count{label}" >> beam.combiners.Count.Globally()
                     | f"Write{label}" >> beam.io.WriteToText(os.path.join(out, label),
                                                              shard_name_template=""))
        kept, rejected = (int(Path(out, label).read_text()) for label in ("kept", "rejected"))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    index = NgramIndex.build(load_benchmarks(cfg), cfg.ngram)  # after the peak was read
    return {"run": name, "docs": len(docs), "mb": round(mb, 1), "seconds": round(seconds, 1),
            "docs_per_s": round(len(docs) / seconds, 1), "mb_per_s": round(mb / seconds, 2),
            "peak_rss_mb": round(peak), "rss_before_mb": round(rss_before),
            "ngrams_indexed": len(index), "index_mb": round(
                (index.hashes.nbytes + index.owners.nbytes) / 1e6, 1),
            "kept": kept, "rejected": rejected, **phases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--one", choices=RUNS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.repeat)))
        return
    rows = []
    for name in RUNS:
        out = subprocess.run([sys.executable, __file__, "--one", name, "--repeat",
                              str(args.repeat)], check=True, capture_output=True, text=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    print("\n| run | docs | MB | seconds | docs/s | MB/s | peak RSS MB | kept | rejected |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['run']} | {r['docs']} | {r['mb']} | {r['seconds']} | {r['docs_per_s']} | "
              f"{r['mb_per_s']} | {r['peak_rss_mb']} | {r['kept']} | {r['rejected']} |")


if __name__ == "__main__":
    main()
