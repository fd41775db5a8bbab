"""Fuzzy dedup of an in-memory list of documents: the single-machine path of the same steps.

The Beam composite (`dedup.transforms.DedupFuzzy`) runs these steps distributed; this driver
chains the same core functions on one machine, for REPL use, tests and the benchmark:
signatures -> band keys -> buckets -> candidate pairs (in scope) -> verification -> connected
components -> keep/remove per cluster.
"""

from __future__ import annotations

import multiprocessing
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from dedup.clusters import Edge, Node, PairSide, Removal, decide_cluster, pair_in_scope, \
    pair_sides, verify_pair
from dedup.components import connected_components
from dedup.config import FuzzyDedupConfig
from dedup.lsh import band_hashes, bucket_pairs
from dedup.minhash import MinHasher, normalise
from pipeline.records import Document


@dataclass
class FuzzyDedupResult:
    removals: list[Removal]
    candidate_pairs: int = 0
    edges: int = 0
    giant_buckets: list[int] = field(default_factory=list)
    """Member counts of the buckets over `max_bucket_size`."""


def source_roles(sources) -> dict[str, str]:
    """Source name -> role (`raw` or `reference`) from `BuildConfig.sources`."""
    return {s.name: s.role for s in sources}


def node_of(doc: Document, roles: dict[str, str]) -> Node:
    try:
        role = roles[doc.source]
    except KeyError:
        raise ValueError(f"document {doc.id} comes from source {doc.source!r}, which the build "
                         f"config does not declare (known: {sorted(roles)})") from None
    return Node(doc.id, doc.source, role, doc.quality_score, len(doc.text))


def hasher_of(config: FuzzyDedupConfig) -> MinHasher:
    return MinHasher(config.ngram, config.num_perm, config.seed, config.hash)


def compared(a: Node, b: Node, config: FuzzyDedupConfig) -> bool:
    """Whether a candidate pair is in the configured scope."""
    if a.source == b.source:
        return True
    return config.cross_source and pair_in_scope(a.source, a.role, b.source, b.role)


def sketch_batch(texts: list[str], config: FuzzyDedupConfig) -> tuple[list[bytes], np.ndarray]:
    """Normalised texts and their (documents, bands) band keys."""
    normalised = [normalise(t) for t in texts]
    sigs = hasher_of(config).signatures_of_normalised(normalised)
    return normalised, band_hashes(sigs, *config.lsh_params())


def sides_batch(batch: tuple[list[Node], list[bytes]], config: FuzzyDedupConfig
                ) -> list[PairSide]:
    """What verification needs of each document of a batch."""
    return pair_sides(*batch, config.verify, hasher_of(config))


def find_near_duplicates(docs: list[Document], config: FuzzyDedupConfig, roles: dict[str, str],
                         workers: int = 1) -> FuzzyDedupResult:
    """The removals fuzzy dedup makes on `docs` (documents not listed are kept).

    With `workers` > 1, signatures and fingerprints are computed by that many forked processes.
    """
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    try:
        run = pool.map if pool else lambda f, xs: list(map(f, xs))
        return _find(docs, config, roles, run)
    finally:
        if pool:
            pool.close()
            pool.join()


def _find(docs: list[Document], config: FuzzyDedupConfig, roles: dict[str, str],
          run: Callable) -> FuzzyDedupResult:
    step = config.signature_batch
    nodes = {d.id: node_of(d, roles) for d in docs}
    normalised: dict[str, bytes] = {}
    buckets: dict[tuple[int, int], list[str]] = defaultdict(list)
    sketched = run(partial(sketch_batch, config=config),
                   [[d.text for d in docs[lo:lo + step]] for lo in range(0, len(docs), step)])
    for lo, (texts, keys) in zip(range(0, len(docs), step), sketched):
        for doc, text, row in zip(docs[lo:lo + step], texts, keys.tolist()):
            normalised[doc.id] = text
            for band, key in enumerate(row):
                buckets[band, key].append(doc.id)
    result = FuzzyDedupResult([])
    pairs = set()
    for members in buckets.values():
        if len(members) < 2:
            continue
        if len(members) > config.max_bucket_size:
            result.giant_buckets.append(len(members))
        pairs.update(p for p in bucket_pairs(members, config.max_bucket_size)
                     if compared(nodes[p[0]], nodes[p[1]], config))
    result.candidate_pairs = len(pairs)
    in_pairs = sorted({i for p in pairs for i in p})
    batches = [in_pairs[lo:lo + step] for lo in range(0, len(in_pairs), step)]
    sided = run(partial(sides_batch, config=config),
                [([nodes[i] for i in ids], [normalised[i] for i in ids]) for ids in batches])
    sides = {i: side for ids, batch in zip(batches, sided) for i, side in zip(ids, batch)}
    edges = [e for a, b in sorted(pairs)
             if (e := verify_pair(sides[a], sides[b], config.verify, config.threshold))]
    result.edges = len(edges)
    labels = connected_components([(e.a.id, e.b.id) for e in edges],
                                  config.union_find_max_nodes, config.max_rounds)
    clusters: dict[str, list[Edge]] = defaultdict(list)
    for e in edges:
        clusters[labels[e.a.id]].append(e)
    result.removals = sorted((r for label, es in clusters.items()
                              for r in decide_cluster(label, es)), key=lambda r: r.doc_id)
    return result
