"""Evaluation side of GPT-3 Appendix C: split each benchmark into clean and dirty examples.

For each benchmark, N is the 5th-percentile example length in words (nearest rank; an
example's length is that of its shortest sequence, e.g. query + shortest choice), clamped to
[8, 13], or to [1, 13] for synthetic tasks, whose N the paper also set lower (Table C.1); with
the files in `shared/data/benchmarks` this gives N = 2 for the word-scrambling tasks and
sum-of-digits, 4 for arithmetic, 7 for random insertion. `eval_n` overrides N per benchmark.

An example is dirty if any of its N-grams occurs in any training document; a sequence shorter
than N is dirty if it occurs whole (paper §4). Unlike the training side, frequent n-grams are
not ignored here. For each dirty example the smallest (training document id, n-gram) found is
kept, so the result does not depend on document order.

Output, one JSON object per benchmark (`<clean_dirty_dir>/<benchmark>.json`): benchmark, path,
n, examples, clean_ids and dirty (id, ngram, doc_id) in file order, clean_share, settings.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from crawl2gpt.core.records import Document
from crawl2gpt.dedup.benchmarks import Benchmark
from crawl2gpt.dedup.contamination_config import ContaminationConfig
from crawl2gpt.dedup.ngrams import (
    find_in_sorted,
    ngram_hashes,
    normalize,
    sequence_ngrams,
    word_hashes,
)

Ref = tuple[str, str]  # (benchmark name, example id)


def eval_n(benchmark: Benchmark, config: ContaminationConfig) -> int:
    """N for one benchmark: the configured override, else the clamped percentile length."""
    if benchmark.name in config.eval_n:
        return config.eval_n[benchmark.name]
    lengths = sorted(e.min_length() for e in benchmark.examples)
    floor = config.synthetic_min_n if benchmark.synthetic else config.eval_min_n
    if not lengths:
        return config.eval_max_n
    rank = max(math.ceil(config.eval_percentile / 100 * len(lengths)), 1)
    return min(max(lengths[rank - 1], floor), config.eval_max_n)


@dataclass(frozen=True)
class EvalIndex:
    """Per gram length: sorted hashes (repeated when several examples share a gram) and refs."""

    tables: dict[int, tuple[np.ndarray, np.ndarray]]  # length -> (hashes, ref ids)
    refs: tuple[Ref, ...]

    @classmethod
    def build(cls, benchmarks: Iterable[Benchmark], config: ContaminationConfig) -> EvalIndex:
        refs: list[Ref] = []
        by_length: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
        for b in benchmarks:
            n = eval_n(b, config)
            for e in b.examples:
                ref = len(refs)
                refs.append((b.name, e.id))
                for seq in e.sequences:
                    if seq:
                        seqs, owners = by_length[min(n, len(seq))]
                        seqs.append(seq)
                        owners.append(ref)
        tables = {}
        for length, (seqs, owners) in sorted(by_length.items()):
            hashes, seq_index = sequence_ngrams(seqs, length)
            ref_ids = np.asarray(owners, dtype=np.int64)[seq_index]
            order = np.argsort(hashes, kind="stable")
            tables[length] = (hashes[order], ref_ids[order])
        return cls(tables, tuple(refs))


def match_document(text: str, index: EvalIndex, punctuation: str) -> dict[Ref, str]:
    """Examples with a gram in `text`, each with the smallest matching gram (normalised)."""
    words = normalize(text, punctuation).words
    hashes = word_hashes(words)
    found: dict[Ref, str] = {}
    for length, (table, ref_ids) in index.tables.items():
        lo, hi = find_in_sorted(table, ngram_hashes(hashes, length))
        for pos in np.nonzero(hi > lo)[0].tolist():
            gram = " ".join(words[pos:pos + length])
            for ref_id in ref_ids[lo[pos]:hi[pos]].tolist():
                ref = index.refs[ref_id]
                if ref not in found or gram < found[ref]:
                    found[ref] = gram
    return found


def split_record(benchmark: Benchmark, dirty: dict[str, tuple[str, str]],
                 config: ContaminationConfig) -> dict:
    """The clean/dirty JSON record of one benchmark; `dirty`: example id -> (doc id, gram)."""
    clean_ids = [e.id for e in benchmark.examples if e.id not in dirty]
    total = len(benchmark.examples)
    return {
        "benchmark": benchmark.name, "path": benchmark.path, "n": eval_n(benchmark, config),
        "examples": total, "clean": len(clean_ids), "dirty_count": total - len(clean_ids),
        "clean_share": len(clean_ids) / total if total else 1.0,
        "clean_ids": clean_ids,
        "dirty": [{"id": e.id, "ngram": dirty[e.id][1], "doc_id": dirty[e.id][0]}
                  for e in benchmark.examples if e.id in dirty],
        "settings": {"punctuation": config.punctuation, "percentile": config.eval_percentile,
                     "synthetic": benchmark.synthetic, "scaffolding": benchmark.scaffolding},
    }


def split_clean_dirty(benchmarks: list[Benchmark], docs: Iterable[Document],
                      config: ContaminationConfig) -> list[dict]:
    """Clean/dirty records of every benchmark against an iterable of training documents."""
    index = EvalIndex.build(benchmarks, config)
    best: dict[Ref, tuple[str, str]] = {}
    for doc in docs:
        for ref, gram in match_document(doc.text, index, config.punctuation).items():
            candidate = (doc.id, gram)
            if ref not in best or candidate < best[ref]:
                best[ref] = candidate
    per_benchmark: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for (name, example), found in best.items():
        per_benchmark[name][example] = found
    return [split_record(b, per_benchmark[b.name], config) for b in benchmarks]


def split_json(record: dict) -> str:
    return json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_splits(records: Iterable[dict], out_dir: str) -> list[str]:
    """Write `<out_dir>/<benchmark>.json` per record; returns the paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for record in records:
        path = os.path.join(out_dir, f"{record['benchmark']}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(split_json(record))
        paths.append(path)
    return paths


def contamination_section(config: ContaminationConfig, rows: list[dict[str, Any]],
                          staging_dir: str) -> tuple[dict[str, Any], list[str]]:
    """The manifest's `contamination` section (the removal counts and, per benchmark, its
    clean/dirty file) and those files, written under `staging_dir`."""
    def plain(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k not in ("stage", "part")}

    splits = sorted((plain(r) for r in rows if r["part"] == "corpus"),
                    key=lambda r: r["benchmark"])
    paths = write_splits(splits, posixpath.join(staging_dir, config.clean_dirty_dir))
    relative = [posixpath.relpath(p, staging_dir) for p in paths]
    removal = sorted((plain(r) for r in rows if r["part"] == "stage"),
                     key=lambda r: (r["kind"], r["name"]))
    benchmarks = {r["benchmark"]: {"file": path, "n": r["n"], "examples": r["examples"],
                                   "dirty": r["dirty_count"], "clean_share": r["clean_share"]}
                  for r, path in zip(splits, relative)}
    return {"removal": removal, "clean_dirty": benchmarks}, relative
