"""Beam composites of the contamination stage (GPT-3 Appendix C); the logic is in
`dedup/contamination.py` (training side) and `dedup/clean_dirty.py` (evaluation side).

`RemoveContamination(config, build_config)`: PCollection[Document] -> (kept, rejected).
  kept: untouched documents plus the surviving pieces of cut ones; rejected: one row per cut
  or dropped document (`contamination_split`, `contamination_too_many_pieces`,
  `contamination_no_piece_left`). After expansion `.report` holds a PCollection of dicts,
  one per benchmark and per source: docs_touched, docs_dropped, chars_removed, pieces_kept.
  Two ways to find collisions, chosen by `config.mode`:
  - `side_input`: the benchmark n-gram index (12 bytes an n-gram) is a side input, each worker
    looks documents up locally; a small shuffle counts documents per colliding n-gram.
  - `keyed_join`: benchmark and training n-grams are keyed by hash and co-grouped, so no
    worker holds the whole set; costs a shuffle of every training n-gram and of the documents.

`SplitCleanDirty(config)`: PCollection[Document] -> one clean/dirty record (a dict) per
  benchmark. The build writes them through its sink; `dedup.clean_dirty.write_splits` writes
  them as `<benchmark>.json` files.

A step with several outputs yields `(tag, value)` pairs that `SplitByTag` separates: Beam's
Dask runner does not split tagged outputs (docs/scaling.md).
"""

from __future__ import annotations

import itertools

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from crawl2gpt.core.beam_utils import SplitByTag
from crawl2gpt.core.config import ConfigError
from crawl2gpt.dedup.benchmarks import benchmark_files, load_benchmark
from crawl2gpt.dedup.clean_dirty import EvalIndex, match_document, split_record
from crawl2gpt.dedup.contamination import (
    STAGE,
    NgramIndex,
    benchmark_ngrams,
    collisions,
    document_ngrams,
    process_touched,
    report_dict,
    sum_counts,
)
from crawl2gpt.dedup.contamination_config import ContaminationConfig


def _open_raw(path: str):
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


class ReadBenchmarksFn(beam.DoFn):
    """Benchmark file path -> Benchmark (one file is one benchmark)."""

    def __init__(self, config: ContaminationConfig):
        self.config = config
        self.skipped = Metrics.counter(STAGE, "benchmark_lines_skipped")

    def process(self, path):
        benchmark = load_benchmark(path, self.config, opener=_open_raw)
        self.skipped.inc(benchmark.skipped_lines)
        yield benchmark


class ReadBenchmarks(beam.PTransform):
    def __init__(self, config: ContaminationConfig):
        super().__init__()
        self.config = config

    def expand(self, pbegin):
        return (pbegin
                | "ListFiles" >> beam.Create(benchmark_files(self.config.benchmarks))
                | "Load" >> beam.ParDo(ReadBenchmarksFn(self.config)))


def build_ngram_index(named_hashes) -> NgramIndex:
    return NgramIndex.from_arrays(sorted(named_hashes, key=lambda item: item[0]))


class FindCollisionsFn(beam.DoFn):
    """Document -> ("untouched", document) or ("touched", (document, hits))."""

    def __init__(self, config: ContaminationConfig):
        self.config = config

    def process(self, doc, index):
        hits = collisions(doc.text, index, self.config)
        yield ("touched", (doc, hits)) if hits else ("untouched", doc)


def hit_hashes(touched):
    return [(h, 1) for h, _ in touched[1]]


def is_frequent(hash_count, max_docs: int) -> bool:
    return hash_count[1] > max_docs


class DropIgnoredFn(beam.DoFn):
    """Leaves out n-grams found in too many documents; a document left with none is untouched."""

    def __init__(self):
        self.ignored = Metrics.counter(STAGE, "frequent_ngram_hits_ignored")

    def process(self, touched, frequent):
        doc, hits = touched
        kept = [(h, names) for h, names in hits if h not in frequent]
        self.ignored.inc(len(hits) - len(kept))
        yield ("touched", (doc, kept)) if kept else ("untouched", doc)


class MatchBySideInput(beam.PTransform):
    """Documents -> (untouched, touched) with the whole benchmark index as a side input."""

    def __init__(self, config: ContaminationConfig, benchmark_ngrams):
        super().__init__()
        self.config, self.benchmark_ngrams = config, benchmark_ngrams

    def expand(self, docs):
        index = (self.benchmark_ngrams | "AllBenchmarks" >> beam.combiners.ToList()
                 | "BuildIndex" >> beam.Map(build_ngram_index))
        untouched, colliding = (
            docs | "FindCollisions" >> beam.ParDo(FindCollisionsFn(self.config),
                                                  beam.pvalue.AsSingleton(index))
            | "SplitFound" >> SplitByTag("untouched", "touched"))
        frequent = (colliding | "HitHashes" >> beam.FlatMap(hit_hashes)
                    | "DocsPerNgram" >> beam.CombinePerKey(sum)
                    | "Frequent" >> beam.Filter(is_frequent, self.config.max_ngram_docs))
        only_frequent, touched = (
            colliding | "DropIgnored" >> beam.ParDo(DropIgnoredFn(), beam.pvalue.AsDict(frequent))
            | "SplitKept" >> SplitByTag("untouched", "touched"))
        return (untouched, only_frequent) | "Untouched" >> beam.Flatten(), touched


def benchmark_ngram_pairs(named_hashes):
    """(hash, benchmark name) for each distinct n-gram of a benchmark."""
    name, hashes = named_hashes
    return [(h, name) for h in hashes.tolist()]


def document_ngram_pairs(doc, config: ContaminationConfig):
    """(hash, document id) for each distinct n-gram of a document."""
    _, hashes = document_ngrams(doc.text, config)
    return [(h, doc.id) for h in np.unique(hashes).tolist()]


class NgramDocHitsFn(beam.DoFn):
    """(hash, {bench, docs}) -> (doc id, (hash, benchmarks)) unless the n-gram is frequent."""

    def __init__(self, max_docs: int):
        self.max_docs = max_docs
        self.ignored = Metrics.counter(STAGE, "frequent_ngrams_ignored")

    def process(self, element):
        h, groups = element
        names = tuple(sorted(set(groups["bench"])))
        if not names:
            return
        doc_ids = sorted(set(itertools.islice(groups["docs"], self.max_docs + 1)))
        if len(doc_ids) > self.max_docs:
            self.ignored.inc()
            return
        for doc_id in doc_ids:
            yield doc_id, (h, names)


def attach_hits(element):
    """(doc id, {doc, hits}) -> ("untouched", document) or ("touched", (document, hits))."""
    _, groups = element
    hits = sorted(groups["hits"])
    for doc in groups["doc"]:
        yield ("touched", (doc, hits)) if hits else ("untouched", doc)


def keyed_by_id(doc):
    return doc.id, doc


class MatchByKeyedJoin(beam.PTransform):
    """Documents -> (untouched, touched) by co-grouping n-gram hashes; no worker holds the set."""

    def __init__(self, config: ContaminationConfig, benchmark_ngrams):
        super().__init__()
        self.config, self.benchmark_ngrams = config, benchmark_ngrams

    def expand(self, docs):
        bench = self.benchmark_ngrams | "NgramPairs" >> beam.FlatMap(benchmark_ngram_pairs)
        train = docs | "DocumentNgrams" >> beam.FlatMap(document_ngram_pairs, self.config)
        hits = ({"bench": bench, "docs": train} | "JoinNgrams" >> beam.CoGroupByKey()
                | "DocHits" >> beam.ParDo(NgramDocHitsFn(self.config.max_ngram_docs)))
        keyed = docs | "KeyById" >> beam.Map(keyed_by_id)
        return ({"doc": keyed, "hits": hits} | "JoinDocuments" >> beam.CoGroupByKey()
                | "AttachHits" >> beam.FlatMap(attach_hits)
                | "SplitTouched" >> SplitByTag("untouched", "touched"))


class CutDocumentFn(beam.DoFn):
    """(document, hits) -> ("piece", document) per piece, ("rejected", row), ("report", row)s."""

    def __init__(self, config: ContaminationConfig):
        self.config = config

    def process(self, touched):
        doc, hits = touched
        pieces, rejected, rows = process_touched(doc, hits, self.config)
        Metrics.counter(STAGE, rejected.reason).inc()
        for piece in pieces:
            yield "piece", piece
        yield "rejected", rejected
        for row in rows:
            yield "report", row


class RemoveContamination(beam.PTransform):
    """GPT-3's 13-gram contamination removal; see the module docstring."""

    def __init__(self, config: ContaminationConfig, build_config=None):
        super().__init__()
        if not config.benchmarks:
            raise ConfigError("contamination.benchmarks: no benchmark file or folder given")
        self.config = config
        self.report = None  # PCollection[dict], set by expand

    def expand(self, docs):
        ngrams = (docs.pipeline | "ReadBenchmarks" >> ReadBenchmarks(self.config)
                  | "BenchmarkNgrams" >> beam.Map(benchmark_ngrams, self.config.ngram))
        match = MatchBySideInput if self.config.mode == "side_input" else MatchByKeyedJoin
        untouched, touched = docs | "Match" >> match(self.config, ngrams)
        pieces, rejected, report = (
            touched | "CutDocuments" >> beam.ParDo(CutDocumentFn(self.config))
            | "SplitCut" >> SplitByTag("piece", "rejected", "report"))
        kept = (untouched, pieces) | "Kept" >> beam.Flatten()
        self.report = (report | "SumReport" >> beam.CombinePerKey(sum_counts)
                       | "ReportRows" >> beam.Map(report_dict))
        return kept, rejected


def build_eval_index(benchmarks, config: ContaminationConfig) -> EvalIndex:
    return EvalIndex.build(sorted(benchmarks, key=lambda b: b.name), config)


class MatchEvalFn(beam.DoFn):
    """Document -> ((benchmark, example id), (doc id, n-gram)) for each dirty example it shows."""

    def __init__(self, config: ContaminationConfig):
        self.config = config

    def process(self, doc, index):
        for ref, gram in match_document(doc.text, index, self.config.punctuation).items():
            yield ref, (doc.id, gram)


def by_benchmark(ref_found):
    (name, example), found = ref_found
    return name, (example, found)


def keyed_by_name(benchmark):
    return benchmark.name, benchmark


def assemble_split(element, config: ContaminationConfig):
    _, groups = element
    dirty = dict(groups["dirty"])
    for benchmark in groups["benchmark"]:
        yield split_record(benchmark, dirty, config)


class SplitCleanDirty(beam.PTransform):
    """Training documents -> per-benchmark clean/dirty records (GPT-3 Appendix C, eval side)."""

    def __init__(self, config: ContaminationConfig):
        super().__init__()
        self.config = config

    def expand(self, docs):
        benchmarks = docs.pipeline | "ReadBenchmarks" >> ReadBenchmarks(self.config)
        index = (benchmarks | "AllBenchmarks" >> beam.combiners.ToList()
                 | "BuildIndex" >> beam.Map(build_eval_index, self.config))
        dirty = (docs | "MatchExamples" >> beam.ParDo(MatchEvalFn(self.config),
                                                      beam.pvalue.AsSingleton(index))
                 | "FirstMatch" >> beam.CombinePerKey(min)
                 | "ByBenchmark" >> beam.Map(by_benchmark))
        return ({"benchmark": benchmarks | "KeyByName" >> beam.Map(keyed_by_name),
                 "dirty": dirty} | "JoinBenchmarks" >> beam.CoGroupByKey()
                | "Assemble" >> beam.FlatMap(assemble_split, self.config))

