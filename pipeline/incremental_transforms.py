"""Beam composites that remove a build's copies of documents already in previous builds.

`ExactAgainstPrevious` (after exact dedup): a document whose exact-dedup key is in a previous
build's exact index goes. `FuzzyAgainstPrevious` (after fuzzy dedup):

    band rows of the kept documents --JoinBuckets with the previous band index--> candidate
      (new id, previous build, previous id, its source, its role), in scope
      --sides: the new text (join) and the previous text (read from that build's bucket
      shards)--> verified match --ApplyPreviousMatches--> kept | Rejected (naming the match)

Only the candidates' previous texts are read (to verify with the same Jaccard as within a
build); no previous signature is recomputed for the lookup and no previous document is scored.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from dedup.clusters import Node, may_remove, pair_sides, verify_pair
from dedup.config import FuzzyDedupConfig
from dedup.fuzzy import compared, hasher_of, source_roles
from dedup.minhash import normalise
from dedup.transforms import PairSidesFn, key_by_id
from pipeline.beam_utils import SplitByTag
from pipeline.config import BuildConfig, ExactDedupConfig
from pipeline.incremental import PreviousBuild, read_documents_by_id, read_index_rows
from pipeline.records import Rejected
from pipeline.shards import bucket_of
from pipeline.transforms import REJECTED, key_by_text

EXACT_REASON = "exact_dedup_previous_build"
FUZZY_REASON = "fuzzy_dedup_previous_build"


class ReadPreviousIndex(beam.PTransform):
    """The rows of one index kind (`exact`, `bands`) of every previous build."""

    def __init__(self, previous: list[PreviousBuild], kind: str):
        super().__init__()
        self._files = [(i, kind, path) for i, prev in enumerate(previous)
                       for path in prev.index_files(kind)]

    def expand(self, pbegin):
        return (pbegin
                | "ListIndexFiles" >> beam.Create(self._files)
                | "ReadIndexFile" >> beam.FlatMap(read_index_rows))


def key_row_by(row: dict, field: str) -> tuple:
    return row[field], row


def key_row_by_band(row: dict) -> tuple:
    return (row["band"], row["band_hash"]), row


class DropPreviousCopiesFn(beam.DoFn):
    """(exact key, {docs, previous}) → kept documents, or rejects naming the previous copy."""

    def __init__(self, names: list[str]):
        self._names = names

    def process(self, item):
        _, joined = item
        previous = min(joined["previous"], key=lambda r: (r["build"], r["doc_id"]), default=None)
        for doc in joined["docs"]:
            if previous is None:
                yield "kept", doc
            else:
                yield REJECTED, Rejected.of_document(
                    doc, "exact_dedup", EXACT_REASON, previous_id=previous["doc_id"],
                    previous_build=self._names[previous["build"]])


class ExactAgainstPrevious(beam.PTransform):
    """Documents → (documents not in a previous build's exact index, Rejected copies)."""

    def __init__(self, config: ExactDedupConfig, previous: list[PreviousBuild]):
        super().__init__()
        self._config, self._previous = config, previous

    def expand(self, docs):
        keyed = docs | "KeyByTextHash" >> beam.Map(key_by_text, self._config.scope)
        old = (docs.pipeline | "ReadExactIndex" >> ReadPreviousIndex(self._previous, "exact")
               | "KeyIndexByText" >> beam.Map(key_row_by, "key"))
        return ({"docs": keyed, "previous": old}
                | "JoinPrevious" >> beam.CoGroupByKey()
                | "DropPreviousCopies" >> beam.ParDo(DropPreviousCopiesFn(
                    [p.manifest_path for p in self._previous]))
                | "SplitPreviousCopies" >> SplitByTag("kept", REJECTED))


def node_of_row(row: dict) -> Node:
    return Node(row["doc_id"], row["source"], row["role"], None, 0)


def previous_candidates(item, config: FuzzyDedupConfig):
    """One bucket's (new, previous) pairs in scope: (new id, build, previous id, source, role)."""
    _, joined = item
    old = sorted(joined["old"], key=lambda r: (r["build"], r["doc_id"]))
    if len(old) > config.max_bucket_size:
        Metrics.counter("fuzzy_dedup", "previous_giant_buckets").inc()
        old = old[:config.max_bucket_size]
    for new in joined["new"]:
        b = node_of_row(new)
        for row in old:
            a = node_of_row(row)
            if compared(b, a, config) and may_remove(b, a):
                yield new["doc_id"], (row["build"], row["doc_id"], row["source"], row["role"])


def pair_of(candidate) -> tuple:
    new_id, (build, old_id, source, role) = candidate
    return new_id, build, old_id, source, role


def key_pair_by_previous_bucket(pair: tuple, num_buckets: list[int]) -> tuple:
    _, build, old_id, source, _ = pair
    return (build, source, bucket_of(old_id, num_buckets[build])), pair


def tag_side(item, tag: str) -> tuple:
    pair, side = item
    return pair, (tag, side)


class PreviousSidesFn(beam.DoFn):
    """((build, source, bucket), pairs) → (pair, ("old", PairSide)) from the previous text."""

    def __init__(self, config: FuzzyDedupConfig, previous: list[PreviousBuild]):
        self.config, self.previous = config, previous
        self.missing = Metrics.counter("fuzzy_dedup", "previous_text_missing")

    def setup(self):
        self.hasher = hasher_of(self.config)

    def process(self, item):
        (build, source, bucket), pairs = item
        pairs = sorted(set(pairs))
        wanted = {p[2] for p in pairs}
        docs = read_documents_by_id(self.previous[build].document_files(source, bucket), wanted)
        self.missing.inc(len(wanted) - len(docs))
        roles = {p[2]: p[4] for p in pairs}
        nodes = [Node(d.id, d.source, roles[d.id], d.quality_score, len(d.text)) for d in docs]
        sides = dict(zip((d.id for d in docs), pair_sides(
            nodes, [normalise(d.text) for d in docs], self.config.verify, self.hasher)))
        for pair in pairs:
            if pair[2] in sides:
                yield pair, ("old", sides[pair[2]])


class VerifyPreviousFn(beam.DoFn):
    """(pair, sides) → (new id, match) when the two texts are near-duplicates."""

    def __init__(self, config: FuzzyDedupConfig):
        self.config = config

    def process(self, item):
        (new_id, build, old_id, _, _), tagged = item
        sides = dict(tagged)
        # Without an "old" side the previous text was not found (counted by PreviousSidesFn).
        edge = verify_pair(sides["new"], sides["old"], self.config.verify,
                           self.config.threshold) if len(sides) == 2 else None
        if edge is not None:
            yield new_id, {"build": build, "previous_id": old_id, "jaccard": edge.jaccard}


def unverified_match(pair: tuple) -> tuple:
    new_id, build, old_id, _, _ = pair
    return new_id, {"build": build, "previous_id": old_id, "jaccard": None}


def key_pair_by_new(pair: tuple) -> tuple:
    return pair[0], pair


def band_row_of(item) -> dict:
    return item[1]


class ApplyPreviousMatchesFn(beam.DoFn):
    """(doc id, {docs, matches, bands}) → ("kept", doc) and its band rows, or a reject."""

    def __init__(self, names: list[str]):
        self._names = names

    def process(self, item):
        _, joined = item
        best = min(joined["matches"], default=None,
                   key=lambda m: (-(m["jaccard"] or 0.0), m["build"], m["previous_id"]))
        for doc in joined["docs"]:
            if best is None:
                yield "kept", doc
                for row in sorted(joined["bands"], key=lambda r: r["band"]):
                    yield "index", ("index_bands", row)
            else:
                yield REJECTED, Rejected.of_document(
                    doc, "fuzzy_dedup", FUZZY_REASON, previous_id=best["previous_id"],
                    previous_build=self._names[best["build"]], jaccard=best["jaccard"])


class FuzzyAgainstPrevious(beam.PTransform):
    """(fuzzy_dedup's kept documents, their ("index_bands", row)s) → (kept, Rejected
    near-duplicates of previous builds' documents, the kept documents' band rows)."""

    def __init__(self, config: FuzzyDedupConfig, build_config: BuildConfig,
                 previous: list[PreviousBuild]):
        super().__init__()
        self.config, self.previous = config, previous
        self.roles = source_roles(build_config.sources)

    def expand(self, inputs):
        docs, index = inputs
        keyed = docs | "KeyById" >> beam.Map(key_by_id)
        rows = index | "BandRows" >> beam.Map(band_row_of)
        new = rows | "KeyNewByBand" >> beam.Map(key_row_by_band)
        old = (docs.pipeline | "ReadBandIndex" >> ReadPreviousIndex(self.previous, "bands")
               | "KeyOldByBand" >> beam.Map(key_row_by_band))
        pairs = ({"new": new, "old": old}
                 | "JoinBuckets" >> beam.CoGroupByKey()
                 | "PreviousCandidates" >> beam.FlatMap(previous_candidates, self.config)
                 | "Pairs" >> beam.Map(pair_of)
                 | "DistinctPairs" >> beam.Distinct())
        matches = self._verified(pairs, keyed)
        return ({"docs": keyed, "matches": matches,
                 "bands": rows | "KeyBandsById" >> beam.Map(key_row_by, "doc_id")}
                | "JoinMatches" >> beam.CoGroupByKey()
                | "ApplyPreviousMatches" >> beam.ParDo(ApplyPreviousMatchesFn(
                    [p.manifest_path for p in self.previous]))
                | "SplitPreviousMatches" >> SplitByTag("kept", REJECTED, "index"))

    def _verified(self, pairs, keyed):
        if self.config.verify == "off":
            return pairs | "Unverified" >> beam.Map(unverified_match)
        new_sides = ({"pairs": pairs | "KeyPairByNew" >> beam.Map(key_pair_by_new),
                      "docs": keyed}
                     | "JoinNewDocs" >> beam.CoGroupByKey()
                     | "NewSides" >> beam.ParDo(PairSidesFn(self.config, self.roles))
                     | "TagNew" >> beam.Map(tag_side, "new"))
        old_sides = (pairs
                     | "KeyByPreviousBucket" >> beam.Map(key_pair_by_previous_bucket,
                                                        [p.num_buckets for p in self.previous])
                     | "GroupByPreviousBucket" >> beam.GroupByKey()
                     | "PreviousSides" >> beam.ParDo(PreviousSidesFn(self.config, self.previous)))
        return ((new_sides, old_sides)
                | "MergeSides" >> beam.Flatten()
                | "GroupSides" >> beam.GroupByKey()
                | "VerifyPrevious" >> beam.ParDo(VerifyPreviousFn(self.config)))
