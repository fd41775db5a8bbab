"""Fuzzy dedup against previous builds (`crawl2gpt build --against`), after this build's own.

    band rows of the kept documents --JoinBuckets with the previous band index--> candidate
      (new id, previous build, previous id, its source, its role), in scope
      --sides: the new text (join) and the previous text (read from that build's bucket
      shards)--> verified match --ApplyPreviousMatches--> kept | Rejected (naming the match)

Only the candidates' previous texts are read (to verify with the same Jaccard as within a
build); no previous signature is recomputed for the lookup and no previous document is scored.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from crawl2gpt.core.beam_utils import ReadPreviousIndex, SplitByTag, key_row_by, key_row_by_band
from crawl2gpt.core.config import BuildView
from crawl2gpt.core.manifest import OpenedBuild, read_documents_by_id
from crawl2gpt.core.records import Rejected
from crawl2gpt.core.shards import bucket_of
from crawl2gpt.dedup.clusters import Node, may_remove, pair_sides, verify_pair
from crawl2gpt.dedup.config import FuzzyDedupConfig
from crawl2gpt.dedup.fuzzy import compared, hasher_of, source_roles
from crawl2gpt.dedup.minhash import normalise
from crawl2gpt.dedup.transforms import PairSidesFn, key_by_id

FUZZY_REASON = "fuzzy_dedup_previous_build"
# The MinHash settings a band hash depends on.
BAND_KEYS = ("ngram", "num_perm", "seed", "hash", "bands", "rows")


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

    def __init__(self, config: FuzzyDedupConfig, previous: list[OpenedBuild]):
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
                yield "rejected", Rejected.of_document(
                    doc, "fuzzy_dedup", FUZZY_REASON, previous_id=best["previous_id"],
                    previous_build=self._names[best["build"]], jaccard=best["jaccard"])


class FuzzyAgainstPrevious(beam.PTransform):
    """(fuzzy_dedup's kept documents, their ("index_bands", row)s) → (kept, Rejected
    near-duplicates of previous builds' documents, the kept documents' band rows).

    The stage registry names it as fuzzy dedup's `against_previous`; the build records
    `index_params` in its manifest's index under `INDEX_KEY` and refuses previous builds for
    which `previous_problems` says anything.
    """

    INDEX_KEY = "band_params"

    @staticmethod
    def index_params(config: FuzzyDedupConfig) -> dict[str, Any]:
        """What a band hash depends on: two builds' band indexes meet only if these are equal."""
        bands, rows = config.lsh_params()
        return {**{k: getattr(config, k) for k in BAND_KEYS[:4]}, "bands": bands, "rows": rows}

    @classmethod
    def previous_problems(cls, index: dict[str, Any], config: FuzzyDedupConfig) -> list[str]:
        """Why a previous build's band index cannot meet this build's (nothing when it can)."""
        theirs = index.get(cls.INDEX_KEY)
        if theirs is None:
            return ["the build ran no fuzzy_dedup, so it has no band index to deduplicate "
                    "against"]
        ours = cls.index_params(config)
        changed = [f"fuzzy_dedup.{k}: {theirs[k]!r} there, {ours[k]!r} here"
                   for k in BAND_KEYS if theirs[k] != ours[k]]
        return ["band hashes are not comparable; " + "; ".join(changed)] if changed else []

    def __init__(self, config: FuzzyDedupConfig, build_config: BuildView,
                 previous: list[OpenedBuild]):
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
                | "SplitPreviousMatches" >> SplitByTag("kept", "rejected", "index"))

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
