"""Incremental build: adding a new crawl to a build, against rebuilding everything.

Generates the demo corpus, splits its crawl files into an old part (build A, with the reference
sources) and a new part (the last `--new-fraction` of the files, build B), then times, each in
a fresh `crawl2gpt build` process with fuzzy dedup on:

    A            the existing build (not part of the ratio)
    B --against A     the new crawl only, deduplicated against A's index
    A + B        a full rebuild over every input

    .venv/bin/python bench/incremental.py --scale 3

Prints one line per build and `ratio_vs_full_rebuild` (B's wall time / the full rebuild's), and
checks that A's and B's kept documents add up to the full rebuild's.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

from crawl2gpt.demo.data import demo_build_config, generate_demo_corpus

STAGES = 'stages = ["fuzzy_dedup"]\n'


def config_text(corpus: Path, crawl_files: list[Path], references: bool) -> str:
    """The demo config with the crawl's inputs replaced, optionally without the references."""
    text = demo_build_config(str(corpus.resolve()))
    text = text.replace(json.dumps(f"{corpus.resolve()}/crawl/*.warc.gz"),
                        ", ".join(json.dumps(str(f.resolve())) for f in crawl_files))
    if not references:
        text = text[:text.index("[[sources]]\nname = \"wikipedia\"")]
    return STAGES + text


def timed_build(config: Path, out: Path, against: Path | None = None) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "crawl2gpt.cli", "build", "--config", str(config),
           "--output", str(out)] + (["--against", str(against)] if against else [])
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return seconds, json.loads((out / "manifest.json").read_text())


def input_mb(manifest: dict) -> float:
    return manifest["totals"]["input_bytes"] / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=3.0, help="demo corpus scale")
    parser.add_argument("--new-fraction", type=float, default=0.25,
                        help="share of the crawl files that make the new crawl (build B)")
    parser.add_argument("--work", default="bench/out/incremental")
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    corpus = work / "corpus"
    generate_demo_corpus(str(corpus), scale=args.scale, workers=2)
    crawl = sorted((corpus / "crawl").glob("*.warc.gz"))
    new = max(1, math.ceil(len(crawl) * args.new_fraction))
    configs = {"A": config_text(corpus, crawl[:-new], True),
               "B": config_text(corpus, crawl[-new:], False),
               "A+B": config_text(corpus, crawl, True)}
    for name, text in configs.items():
        (work / f"{name}.toml").write_text(text)
    times, manifests = {}, {}
    for name in ("A", "B", "A+B"):
        against = work / "out-A" if name == "B" else None
        times[name], manifests[name] = timed_build(work / f"{name}.toml", work / f"out-{name}",
                                                   against)
        kept = manifests[name]["totals"]["documents"]
        print(f"{name:<4} {'--against A' if against else '':<12} wall {times[name]:7.1f} s  "
              f"input {input_mb(manifests[name]):7.1f} MB  kept {kept:,}")
    union = manifests["A"]["totals"]["documents"] + manifests["B"]["totals"]["documents"]
    print(f"crawl files: {len(crawl) - new} old + {new} new; kept A + B = {union:,}, "
          f"full rebuild = {manifests['A+B']['totals']['documents']:,}")
    print(f"ratio_vs_full_rebuild {times['B'] / times['A+B']:.3f}")


if __name__ == "__main__":
    main()
