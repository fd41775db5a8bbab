"""Speed per core of the heuristic stages' cores, against datatrove's filters on the same text.

Documents: the real crawl text of `../shared/data/commoncrawl` (C4 sample 1,000, CC-MAIN-2019-30
page text 697, cc_net 70), normalised as the build does, optionally repeated (`--repeat`).

- rules: ours = `quality_filter.rules.judge` with the defaults (Gopher quality + repetition,
  C4, FineWeb; the first failure decides). datatrove = its FineWeb chain on a copy of each
  document: GopherRepetitionFilter → GopherQualityFilter → C4QualityFilter (with C4's
  reference constants, 5 words per line and 3 sentences, like ours) → FineWebQualityFilter,
  stopping at the first filter that drops it, with datatrove's default English word
  tokenizer (spaCy `blank("en")`). Agreement = share of documents both keep or both drop,
  plus per rule group (each group alone on the original text, untimed).
- pii: ours = `quality_filter.pii.scrub` (e-mail, IP, phone); datatrove = `PIIFormatter`
  (e-mail and IP only).
- ours alone (no offline datatrove equivalent: its LanguageFilter downloads a fastText
  model): language identification and line cleanup.

Speeds are per CPU-second of this process (`time.process_time`): documents/s and MB/s of
UTF-8 text per core, best of `--passes`. Prints `ratio_vs_datatrove` (ours / datatrove MB/s).

    .venv/bin/python bench/heuristics.py            # --docs N: only the first N, for quick runs
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import time
from pathlib import Path
from typing import Callable

from crawl2gpt.pipeline.normalize import normalize_text
from crawl2gpt.quality_filter.heuristics_config import LineCleanupConfig, PiiConfig, RulesConfig
from crawl2gpt.quality_filter.langid import LanguageIdentifier
from crawl2gpt.quality_filter.line_cleanup import clean_text
from crawl2gpt.quality_filter.pii import scrub
from crawl2gpt.quality_filter.rules import judge

ROOT = Path(__file__).resolve().parents[1]

CC = ROOT.parent / "shared" / "data" / "commoncrawl"
FILES = [("c4/c4-sample.00000-of-00001.json.gz", "text"),
         ("cc_text/CC-MAIN-20190717121559-20190717143559-00140.dolma.jsonl.gz", "text"),
         ("ccnet/redpajama-v2-ccnet-CC-MAIN-2023-06-sample50.jsonl", "raw_content"),
         ("ccnet/dolma-cc_en_head-0091.jsonl.gz", "text"),
         ("ccnet/dolma-cc_en_head-0174.jsonl.gz", "text")]


def crawl_texts() -> list[str]:
    texts = []
    for name, field in FILES:
        path = CC / name
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            texts += [normalize_text(json.loads(line)[field]) for line in f if line.strip()]
    return [t for t in texts if t]


def best_cpu_seconds(run: Callable[[], object], passes: int) -> float:
    best = float("inf")
    for _ in range(passes):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def speed(name: str, seconds: float, texts: list[str]) -> dict:
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    row = {"name": name, "docs_per_s": len(texts) / seconds, "mb_per_s": mb / seconds}
    print(f"{name:42s} {row['docs_per_s']:9.1f} docs/s  {row['mb_per_s']:7.3f} MB/s per core")
    return row


# ----------------------------------------------------------------------------- datatrove
def datatrove_rule_chain():
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    return {"gopher_repetition": GopherRepetitionFilter(),
            "gopher_quality": GopherQualityFilter(),
            "c4": C4QualityFilter(min_num_sentences=3, min_words_per_line=5),
            "fineweb": FineWebQualityFilter()}


def datatrove_keeps(filters: list, text: str) -> bool:
    from datatrove.data import Document
    doc = Document(text=text, id="0")
    for f in filters:
        verdict = f.filter(doc)
        if verdict is not True and not (isinstance(verdict, tuple) and verdict[0]):
            return False
    return True


def only_group(group: str) -> RulesConfig:
    config = RulesConfig()
    for name in ("gopher_quality", "gopher_repetition", "c4", "fineweb"):
        getattr(config, name).enabled = name == group
    return config


def agreement(texts: list[str], chain: dict) -> dict[str, float]:
    """Share of documents on which ours and datatrove agree, per group (untimed)."""
    shares = {}
    for group, dt_filter in chain.items():
        ours = only_group(group)
        same = sum(judge(t, ours).keep == datatrove_keeps([dt_filter], t) for t in texts)
        shares[group] = same / len(texts)
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="repeat the documents n times")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--docs", type=int, help="only the first N documents (default all)")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    from loguru import logger
    logger.remove()  # datatrove logs through loguru

    texts = crawl_texts()[:args.docs] * args.repeat
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"{len(texts)} documents, {mb:.2f} MB of UTF-8 text")

    config = RulesConfig()
    chain = datatrove_rule_chain()
    filters = list(chain.values())
    datatrove_keeps(filters, texts[0])  # load spaCy before timing
    ours_kept = [judge(t, config).keep for t in texts]
    theirs_kept = [datatrove_keeps(filters, t) for t in texts]
    rules_ours = speed("rules: ours (judge)",
                       best_cpu_seconds(lambda: [judge(t, config) for t in texts], args.passes),
                       texts)
    rules_theirs = speed("rules: datatrove (FineWeb chain)",
                         best_cpu_seconds(lambda: [datatrove_keeps(filters, t) for t in texts],
                                          args.passes), texts)
    print(f"kept: ours {sum(ours_kept)}, datatrove {sum(theirs_kept)} of {len(texts)}; "
          f"agreement {sum(a == b for a, b in zip(ours_kept, theirs_kept)) / len(texts):.3f}")
    print("agreement per group: " + ", ".join(
        f"{g} {share:.3f}" for g, share in agreement(texts, chain).items()))
    print(f"ratio_vs_datatrove {rules_ours['mb_per_s'] / rules_theirs['mb_per_s']:.2f}")

    from datatrove.pipeline.formatters import PIIFormatter
    formatter = PIIFormatter()
    pii_config = PiiConfig()
    pii_ours = speed("pii: ours (scrub: e-mail, IP, phone)",
                     best_cpu_seconds(lambda: [scrub(t, pii_config) for t in texts], args.passes),
                     texts)
    pii_theirs = speed("pii: datatrove PIIFormatter (e-mail, IP)",
                       best_cpu_seconds(lambda: [formatter.format(t)
                                                 for t in texts], args.passes), texts)
    print(f"pii_ratio_vs_datatrove {pii_ours['mb_per_s'] / pii_theirs['mb_per_s']:.2f}")

    identifier = LanguageIdentifier()
    speed("language id: ours (fastText lid.176, first 10 kB)",
          best_cpu_seconds(lambda: [identifier.identify(t) for t in texts], args.passes), texts)
    cleanup = LineCleanupConfig()
    speed("line cleanup: ours (patterns, no host pass)",
          best_cpu_seconds(lambda: [clean_text(t, cleanup) for t in texts], args.passes), texts)


if __name__ == "__main__":
    main()
