"""Beam composites of the dedup package.

`DedupFuzzy` (stage `fuzzy_dedup`): `PCollection[Document]` -> `(kept, rejected)`. The data path:

    Document --BandKeys--> ((band, band hash), Node) --GroupBuckets/BucketPairs--> candidate pair
      --VerifyPairs (joins the two texts)--> Edge --ConnectedComponents--> (node, cluster id)
      --DecideClusters--> Removal --ApplyRemovals--> kept Document | Rejected

The steps are the core functions of `dedup.minhash`, `dedup.lsh`, `dedup.components` and
`dedup.clusters`; `dedup.fuzzy.find_near_duplicates` chains them in one process.
"""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.metrics import Metrics

from crawl2gpt.core.beam_utils import SplitByTag
from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.dedup import components
from crawl2gpt.dedup.clusters import Edge, Removal, decide_cluster, pair_sides, verify_pair
from crawl2gpt.dedup.config import FuzzyDedupConfig
from crawl2gpt.dedup.fuzzy import compared, hasher_of, node_of, source_roles
from crawl2gpt.dedup.lsh import band_hashes, bucket_pairs, format_s_curve
from crawl2gpt.dedup.minhash import normalise

STAGE = "fuzzy_dedup"
_log = logging.getLogger(__name__)


# ---------------------------------------------------------------- fuzzy dedup: module functions

def key_by_id(doc: Document) -> tuple[str, Document]:
    return doc.id, doc


def first_value(values):
    """Combiner keeping one of several equal values (a pair found in several bands)."""
    return next(iter(values))


def pair_ends(item):
    (a_id, b_id), _ = item
    yield a_id, (a_id, b_id)
    yield b_id, (a_id, b_id)


def unverified_edge(item) -> Edge:
    _, (a, b) = item
    return Edge(a, b, None)


def edge_ids(edge: Edge) -> tuple[str, str]:
    return edge.a.id, edge.b.id


def nodes_of_edge(edge: tuple[str, str]):
    yield from edge


def graph_is_small(_edge, node_count: int, bound: int) -> bool:
    return node_count <= bound


def graph_is_large(_edge, node_count: int, bound: int) -> bool:
    return node_count > bound


def key_all(edge: tuple[str, str]):
    return None, edge


def union_find_labels(item):
    _, edges = item
    yield from sorted(components.union_find_components(edges).items())


def star_violations_of(item):
    node, roles = item
    yield from components.star_violations(node, roles)


def fail_if_not_converged(problems: list[str], max_rounds: int) -> list:
    """Raises on problems; outputs nothing, but is flattened into the labels so that every
    runner runs it (the Dask runner runs only the ancestors of the pipeline's last step)."""
    if problems:
        raise components.ComponentsNotConverged(
            components.not_converged_message(max_rounds, sorted(problems)))
    return []


def key_edge_by_a(edge: Edge):
    return edge.a.id, edge


def edges_by_cluster(item):
    _, joined = item
    for label in joined["labels"]:
        for edge in joined["edges"]:
            yield label, edge


def decide(item):
    cluster_id, edges = item
    yield from decide_cluster(cluster_id, sorted(edges, key=edge_ids))


def key_removal(removal: Removal):
    return removal.doc_id, removal


def band_row_by_id(item) -> tuple[str, dict]:
    """((band, band hash), Node) -> (doc id, band index row) (see `core.shards`)."""
    (band, key), node = item
    return node.id, {"band": band, "band_hash": key, "doc_id": node.id, "source": node.source,
                     "role": node.role}


# ---------------------------------------------------------------------- fuzzy dedup: DoFns

class BandKeysFn(beam.DoFn):
    """A document -> ((band, band hash), Node) for every band of its signature.

    One document per call (no `BatchElements`, whose last batch the Dask runner loses):
    grouping documents first to sign them in batches saved ~15% of the stage's CPU on the
    direct runner and nothing measurable on Dask, at the cost of a shuffle of every text.
    """

    def __init__(self, config: FuzzyDedupConfig, roles: dict[str, str]):
        self.config, self.roles = config, roles

    def setup(self):
        self.hasher = hasher_of(self.config)
        self.bands, self.rows = self.config.lsh_params()

    def process(self, doc: Document):
        [row] = band_hashes(self.hasher.signatures([doc.text]), self.bands, self.rows).tolist()
        node = node_of(doc, self.roles)
        for band, key in enumerate(row):
            yield (band, key), node


class BucketPairsFn(beam.DoFn):
    """One bucket -> its in-scope candidate pairs ((a id, b id), (Node a, Node b))."""

    def __init__(self, config: FuzzyDedupConfig):
        self.config = config
        self.giant = Metrics.counter(STAGE, "giant_buckets")
        self.candidates = Metrics.counter(STAGE, "bucket_pairs")

    def process(self, item):
        (band, key), members = item
        nodes = {n.id: n for n in members}
        if len(nodes) < 2:
            return
        if len(nodes) > self.config.max_bucket_size:
            self.giant.inc()
            _log.warning("fuzzy_dedup: giant bucket (band %d, hash %x) with %d documents; "
                         "pairing each with its next %d only", band, key, len(nodes),
                         self.config.max_bucket_size - 1)
        for a, b in bucket_pairs(list(nodes), self.config.max_bucket_size):
            if compared(nodes[a], nodes[b], self.config):
                self.candidates.inc()
                yield (a, b), (nodes[a], nodes[b])


class PairSidesFn(beam.DoFn):
    """(doc id, {pairs, docs}) -> (pair, PairSide) once per pair the document is in."""

    def __init__(self, config: FuzzyDedupConfig, roles: dict[str, str]):
        self.config, self.roles = config, roles

    def setup(self):
        self.hasher = hasher_of(self.config)

    def process(self, item):
        _, joined = item
        pairs, docs = joined["pairs"], joined["docs"]
        if not pairs or not docs:
            return
        doc = docs[0]
        [side] = pair_sides([node_of(doc, self.roles)], [normalise(doc.text)],
                            self.config.verify, self.hasher)
        for pair in sorted(set(pairs)):
            yield pair, side


class VerifyFn(beam.DoFn):
    def __init__(self, config: FuzzyDedupConfig):
        self.config = config
        self.failed = Metrics.counter(STAGE, "pairs_below_threshold")

    def process(self, item):
        _, sides = item
        a, b = list(sides)
        edge = verify_pair(a, b, self.config.verify, self.config.threshold)
        if edge is None:
            self.failed.inc()
        else:
            yield edge


class ApplyRemovalsFn(beam.DoFn):
    """(doc id, {docs, removals, bands}) -> ("kept", document) and its ("index", band row)s,
    or ("rejected", its Rejected row)."""

    def process(self, item):
        _, joined = item
        removals = sorted(joined["removals"], key=lambda r: r.kept_id)
        for doc in joined["docs"]:
            if not removals:
                yield "kept", doc
                for row in sorted(joined["bands"], key=lambda r: r["band"]):
                    yield "index", ("index_bands", row)
                continue
            r = removals[0]
            Metrics.counter(STAGE, r.reason).inc()
            yield "rejected", Rejected.of_document(
                doc, STAGE, r.reason, cluster_id=r.cluster_id, kept_id=r.kept_id,
                jaccard=r.jaccard)


# ---------------------------------------------------------------- fuzzy dedup: composites

class CandidatePairs(beam.PTransform):
    """((band, band hash), Node) band keys -> distinct in-scope candidate pairs keyed by
    (a id, b id)."""

    def __init__(self, config: FuzzyDedupConfig):
        super().__init__()
        self.config = config

    def expand(self, band_keys):
        return (band_keys
                | "GroupBuckets" >> beam.GroupByKey()
                | "BucketPairs" >> beam.ParDo(BucketPairsFn(self.config))
                | "DistinctPairs" >> beam.CombinePerKey(first_value))


class VerifyPairs(beam.PTransform):
    """(candidate pairs, docs keyed by id) -> Edge for each pair that passes verification."""

    def __init__(self, config: FuzzyDedupConfig, roles: dict[str, str]):
        super().__init__()
        self.config, self.roles = config, roles

    def expand(self, inputs):
        pairs, keyed_docs = inputs
        if self.config.verify == "off":
            return pairs | "Unverified" >> beam.Map(unverified_edge)
        ends = pairs | "PairEnds" >> beam.FlatMap(pair_ends)
        return ({"pairs": ends, "docs": keyed_docs}
                | "JoinDocs" >> beam.CoGroupByKey()
                | "PairSides" >> beam.ParDo(PairSidesFn(self.config, self.roles))
                | "GroupPairs" >> beam.GroupByKey()
                | "Verify" >> beam.ParDo(VerifyFn(self.config)))


class StarRounds(beam.PTransform):
    """Id edges -> (node, smallest node id of its component) by unrolled large/small-star rounds.

    Fails the pipeline (ComponentsNotConverged) when `max_rounds` rounds were not enough.
    """

    def __init__(self, max_rounds: int):
        super().__init__()
        self.max_rounds = max_rounds

    def expand(self, edges):
        edges = edges | "Orient" >> beam.Map(components.toward_larger)
        for i in range(self.max_rounds):
            edges = (edges
                     | f"LargeStarMap{i}" >> beam.FlatMap(components.both_directions)
                     | f"LargeStarGroup{i}" >> beam.GroupByKey()
                     | f"LargeStar{i}" >> beam.FlatMapTuple(components.large_star)
                     | f"SmallStarMap{i}" >> beam.Map(components.toward_larger)
                     | f"SmallStarGroup{i}" >> beam.GroupByKey()
                     | f"SmallStar{i}" >> beam.FlatMapTuple(components.small_star))
        checked = (edges
                   | "StarRoles" >> beam.FlatMap(components.star_roles)
                   | "GroupRoles" >> beam.GroupByKey()
                   | "CheckStars" >> beam.FlatMap(star_violations_of)
                   | "SampleProblems" >> beam.combiners.Sample.FixedSizeGlobally(5)
                   | "FailIfNotConverged" >> beam.FlatMap(fail_if_not_converged,
                                                          self.max_rounds))
        labels = (edges
                  | "StarLabels" >> beam.FlatMap(components.star_labels)
                  | "DistinctLabels" >> beam.Distinct())
        return (labels, checked) | "CheckedLabels" >> beam.Flatten()


class ConnectedComponents(beam.PTransform):
    """Edges -> (node id, cluster id): union-find on one worker below the bound, else stars."""

    def __init__(self, config: FuzzyDedupConfig):
        super().__init__()
        self.config = config

    def expand(self, edges):
        ids = edges | "EdgeIds" >> beam.Map(edge_ids)
        node_count = beam.pvalue.AsSingleton(
            ids | "Nodes" >> beam.FlatMap(nodes_of_edge) | "DistinctNodes" >> beam.Distinct()
            | "CountNodes" >> beam.combiners.Count.Globally())
        bound = self.config.union_find_max_nodes
        small = (ids | "SmallGraph" >> beam.Filter(graph_is_small, node_count, bound)
                 | "OneGroup" >> beam.Map(key_all) | "GroupAll" >> beam.GroupByKey()
                 | "UnionFind" >> beam.FlatMap(union_find_labels))
        large = (ids | "LargeGraph" >> beam.Filter(graph_is_large, node_count, bound)
                 | "StarRounds" >> StarRounds(self.config.max_rounds))
        return (small, large) | "Labels" >> beam.Flatten()


class DedupFuzzy(beam.PTransform):
    """Stage `fuzzy_dedup`: Documents -> (kept Documents, Rejected near-duplicates).

    After expansion, `index` holds ("index_bands", band row) for every band of every kept
    document: the build's band index, which later builds deduplicate against.
    """

    def __init__(self, config: FuzzyDedupConfig, build_config):
        super().__init__()
        self.config, self.roles = config, source_roles(build_config.sources)
        self.index = None
        _log.info("fuzzy_dedup: %s", format_s_curve(*config.lsh_params()))

    def expand(self, docs):
        keyed = docs | "KeyById" >> beam.Map(key_by_id)
        band_keys = docs | "BandKeys" >> beam.ParDo(BandKeysFn(self.config, self.roles))
        pairs = band_keys | "CandidatePairs" >> CandidatePairs(self.config)
        edges = (pairs, keyed) | "VerifyPairs" >> VerifyPairs(self.config, self.roles)
        labels = edges | "ConnectedComponents" >> ConnectedComponents(self.config)
        removals = ({"edges": edges | "KeyEdgeByA" >> beam.Map(key_edge_by_a), "labels": labels}
                    | "JoinLabels" >> beam.CoGroupByKey()
                    | "KeyByCluster" >> beam.FlatMap(edges_by_cluster)
                    | "GroupClusters" >> beam.GroupByKey()
                    | "DecideClusters" >> beam.FlatMap(decide)
                    | "KeyRemovals" >> beam.Map(key_removal))
        bands = band_keys | "BandRowsById" >> beam.Map(band_row_by_id)
        kept, rejected, self.index = (
            {"docs": keyed, "removals": removals, "bands": bands}
            | "JoinRemovals" >> beam.CoGroupByKey()
            | "ApplyRemovals" >> beam.ParDo(ApplyRemovalsFn())
            | "SplitKeptRejected" >> SplitByTag("kept", "rejected", "index"))
        return kept, rejected
