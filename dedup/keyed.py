"""Fuzzy dedup inside the build's passes: documents stay in their input parts, and only band
keys, candidate pairs, pair sides and removals cross shuffles (`pipeline.passes`).

    pass: document --BandKeyEmitter--> band rows, into key files by range of (band, hash)
      --BandPairsFn, one range at a time--> candidate pair --RequestSides--> PartRequest to
      each end's part
    pass: requested document --PairSideEmitter--> (pair, PairSide)
      --Verify--> Edge --ConnectedComponents, DecideClusters--> PartRemoval
      (and BandIndexFn: the band rows of the kept documents, range by range, as the band index)
    pass: the removals are applied

With `verify = "off"` the second pass is skipped (every candidate pair is an edge). The steps
are the same cores and DoFns as `DedupFuzzy` (`dedup.transforms`), which runs the stage on a
collection of whole documents (the comparison with previous builds still needs that).
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from typing import Any, Callable, Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from crawl2gpt.core.beam_utils import ForEachRange, staged_file
from crawl2gpt.core.config import BuildView
from crawl2gpt.core.key_files import BAND_KEY_SCHEMA, KeyFiles
from crawl2gpt.core.records import Document, PartRemoval, PartRequest
from crawl2gpt.core.shards import ShardConfig, ShardWriter, ShardWriters
from crawl2gpt.dedup.clusters import Node, decide_cluster, pair_sides
from crawl2gpt.dedup.config import FuzzyDedupConfig
from crawl2gpt.dedup.fuzzy import hasher_of, node_of, source_roles
from crawl2gpt.dedup.lsh import band_hashes
from crawl2gpt.dedup.minhash import normalise
from crawl2gpt.dedup.transforms import (
    STAGE,
    BucketPairsFn,
    ConnectedComponents,
    VerifyFn,
    edge_ids,
    edges_by_cluster,
    first_value,
    key_edge_by_a,
    unverified_edge,
)

# Input bytes per range of the band key files: a range holds about 18 band rows per document
# of its share of the input (about 10 MB of rows per 32 MB of crawl input).
BAND_BYTES_PER_RANGE = 32 * 1024 * 1024


class BandKeyEmitter:
    """A document → ("keys", band row) for every band of its signature (`BAND_KEY_SCHEMA`)."""

    def __init__(self, config: FuzzyDedupConfig, roles: dict[str, str]):
        self.config, self.roles = config, roles

    def setup(self) -> None:
        self.hasher = hasher_of(self.config)
        self.bands, self.rows = self.config.lsh_params()

    def __call__(self, doc: Document, part: str, _requests: list) -> Iterable[tuple[str, Any]]:
        [row] = band_hashes(self.hasher.signatures([doc.text]), self.bands, self.rows).tolist()
        node = node_of(doc, self.roles, part)
        for band, key in enumerate(row):
            yield "keys", {"band": band, "band_hash": key, "doc_id": node.id,
                           "source": node.source, "role": node.role,
                           "quality_score": node.quality_score, "length": node.length,
                           "part": part}


def node_of_band_row(row: dict) -> Node:
    return Node(row["doc_id"], row["source"], row["role"], row["quality_score"], row["length"],
                row["part"])


class BandPairsFn(beam.DoFn):
    """One range of the band key files → its buckets' in-scope candidate pairs."""

    def __init__(self, files: KeyFiles, config: FuzzyDedupConfig):
        self.files = files
        self.pairs = BucketPairsFn(config)

    def process(self, r: int):
        buckets: dict[tuple[int, int], list[Node]] = defaultdict(list)
        for row in self.files.read_range(r):
            buckets[row["band"], row["band_hash"]].append(node_of_band_row(row))
        for bucket in sorted(buckets):
            yield from self.pairs.process((bucket, buckets[bucket]))


class BandIndexFn(beam.DoFn):
    """One range of the band key files → the band index shards of the documents fuzzy dedup
    kept (`index/bands/<source>/r<range>-<n>.parquet`), as shard reports."""

    def __init__(self, files: KeyFiles, shards: ShardConfig):
        self.files, self.shards = files, shards

    def process(self, item: tuple[int, list[str]]):
        r, removed = item[0], frozenset(item[1])
        index = ShardWriters(lambda source: ShardWriter(
            kind="index_bands", source=source, stage=None,
            relative_dir=posixpath.join("index", "bands", source), basename=f"r{r:05d}",
            config=self.shards, open_file=staged_file(self.files.staging_dir)))
        for row in self.files.read_range(r):
            if row["doc_id"] not in removed:
                index.add(row["source"], {k: row[k] for k in INDEX_FIELDS})
        for report in index.close():
            yield report.to_dict()


INDEX_FIELDS = ("band", "band_hash", "doc_id", "source", "role")


class PairSideEmitter:
    """A document that candidate pairs asked about → ("keys", (pair, PairSide)) per pair."""

    def __init__(self, config: FuzzyDedupConfig, roles: dict[str, str]):
        self.config, self.roles = config, roles

    def setup(self) -> None:
        self.hasher = hasher_of(self.config)

    def __call__(self, doc: Document, part: str, pairs: list) -> Iterable[tuple[str, Any]]:
        if not pairs:
            return
        [side] = pair_sides([node_of(doc, self.roles, part)], [normalise(doc.text)],
                            self.config.verify, self.hasher)
        for pair in sorted(set(pairs)):
            yield "keys", (pair, side)


def request_sides(item) -> Iterable[PartRequest]:
    pair, (a, b) = item
    yield PartRequest(a.part, a.id, pair)
    yield PartRequest(b.part, b.id, pair)


def decide_in_parts(item) -> Iterable[PartRemoval]:
    """One cluster's edges → a removal per removed document, addressed to its part."""
    cluster_id, edges = item
    edges = sorted(edges, key=edge_ids)
    parts = {node.id: node.part for e in edges for node in (e.a, e.b)}
    for r in decide_cluster(cluster_id, edges):
        Metrics.counter(STAGE, r.reason).inc()
        yield PartRemoval(parts[r.doc_id], r.doc_id, STAGE, r.reason,
                          {"cluster_id": r.cluster_id, "kept_id": r.kept_id,
                           "jaccard": r.jaccard})


def removed_id(removal: PartRemoval) -> str:
    return removal.doc_id


def with_ranges(removed: list[str], ranges: int) -> Iterable[tuple[int, list[str]]]:
    for r in range(ranges):
        yield r, removed


class CandidatePairsFromFiles(beam.PTransform):
    """Parts done writing their band rows → distinct in-scope candidate pairs, keyed by
    (a id, b id), the band key files read one range at a time."""

    def __init__(self, stage: KeyedFuzzyDedup):
        super().__init__()
        self.stage = stage

    def expand(self, written):
        return (written
                | "BucketsPerRange" >> ForEachRange(self.stage.bands, BandPairsFn(
                    self.stage.bands, self.stage.config))
                | "DistinctPairs" >> beam.CombinePerKey(first_value))


class RequestSides(beam.PTransform):
    """Parts done writing their band rows → a `PartRequest` to each end of every candidate
    pair (its pair side, for verification)."""

    def __init__(self, stage: KeyedFuzzyDedup):
        super().__init__()
        self.stage = stage

    def expand(self, written):
        return (written | "CandidatePairs" >> CandidatePairsFromFiles(self.stage)
                | "RequestSides" >> beam.FlatMap(request_sides))


class DecideRemovals(beam.PTransform):
    """Keys of the last round (pair sides, or with `verify = "off"` the parts done writing
    their band rows) → the stage's `PartRemoval`s; sets `shards` on the stage (the band index
    of the documents it kept)."""

    def __init__(self, stage: KeyedFuzzyDedup):
        super().__init__()
        self.stage = stage

    def expand(self, keys):
        stage = self.stage
        if stage.config.verify == "off":
            edges = (keys | "CandidatePairs" >> CandidatePairsFromFiles(stage)
                     | "Unverified" >> beam.Map(unverified_edge))
        else:
            edges = (keys | "GroupPairs" >> beam.GroupByKey()
                     | "Verify" >> beam.ParDo(VerifyFn(stage.config)))
        labels = edges | "ConnectedComponents" >> ConnectedComponents(stage.config)
        removals = ({"edges": edges | "KeyEdgeByA" >> beam.Map(key_edge_by_a), "labels": labels}
                    | "JoinLabels" >> beam.CoGroupByKey()
                    | "KeyByCluster" >> beam.FlatMap(edges_by_cluster)
                    | "GroupClusters" >> beam.GroupByKey()
                    | "DecideClusters" >> beam.FlatMap(decide_in_parts))
        # The band index, range by range, once the removals are known (they are downstream
        # of every band row, so this runs after the band key files are complete).
        stage.shards = (removals | "RemovedIds" >> beam.Map(removed_id)
                        | "AllRemovedIds" >> beam.combiners.ToList()
                        | "IndexRanges" >> beam.FlatMap(with_ranges, stage.bands.ranges)
                        | "BandIndex" >> beam.ParDo(BandIndexFn(stage.bands, stage.shard_config)))
        return removals


class KeyedFuzzyDedup:
    """Stage `fuzzy_dedup` as rounds of the build's passes: `rounds()` lists (emitter, key
    files or None, global step) triples; each global step turns its pass's keys (or the parts
    done writing them to the key files) into decisions for the next pass. After the last
    round, `shards` holds the reports of the band index shards."""

    def __init__(self, config: FuzzyDedupConfig, build_config: BuildView):
        self.config, self.roles = config, source_roles(build_config.sources)
        self.bands: KeyFiles | None = None
        self.shard_config: ShardConfig | None = None
        self.shards = None

    def rounds(self, key_files: Callable[..., KeyFiles], shards: ShardConfig
               ) -> list[tuple[Any, KeyFiles | None, beam.PTransform]]:
        """`key_files(step, schema, range_fields, bytes_per_range)` makes the key files."""
        self.bands = key_files("fuzzy_bands", BAND_KEY_SCHEMA, ("band", "band_hash"),
                               BAND_BYTES_PER_RANGE)
        self.shard_config = shards
        bands = BandKeyEmitter(self.config, self.roles)
        if self.config.verify == "off":
            return [(bands, self.bands, DecideRemovals(self))]
        return [(bands, self.bands, RequestSides(self)),
                (PairSideEmitter(self.config, self.roles), None, DecideRemovals(self))]
