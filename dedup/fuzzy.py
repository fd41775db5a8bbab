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

from crawl2gpt.core.records import Document
from crawl2gpt.dedup.clusters import (
    Edge,
    Node,
    PairSide,
    Removal,
    decide_cluster,
    pair_in_scope,
    pair_sides,
    verify_pair,
)
from crawl2gpt.dedup.components import connected_components
from crawl2gpt.dedup.config import FuzzyDedupConfig
from crawl2gpt.dedup.lsh import band_hashes, bucket_pairs
from crawl2gpt.dedup.minhash import MinHasher, normalise_batch


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


def node_of(doc: Document, roles: dict[str, str], part: str = "") -> Node:
    try:
        role = roles[doc.source]
    except KeyError:
        raise ValueError(f"document {doc.id} comes from source {doc.source!r}, which the build "
                         f"config does not declare (known: {sorted(roles)})") from None
    return Node(doc.id, doc.source, role, doc.quality_score, len(doc.text), part)


def hasher_of(config: FuzzyDedupConfig) -> MinHasher:
    return MinHasher(config.ngram, config.num_perm, config.seed, config.hash)


def compared(a: Node, b: Node, config: FuzzyDedupConfig) -> bool:
    """Whether a candidate pair is in the configured scope."""
    if a.source == b.source:
        return True
    return config.cross_source and pair_in_scope(a.source, a.role, b.source, b.role)


# The texts of the running `find_near_duplicates`, set in each forked worker by `_share` (a fork
# inherits them, so batches travel as index ranges instead of pickled texts).
_TEXTS: list[str] = []


def _share(texts: list[str]) -> None:
    global _TEXTS
    _TEXTS = texts


def band_keys_of(span: tuple[int, int], config: FuzzyDedupConfig) -> np.ndarray:
    """The (documents, bands) band keys of the shared texts `span[0]:span[1]`."""
    sigs = hasher_of(config).signatures(_TEXTS[span[0]:span[1]])
    return band_hashes(sigs, *config.lsh_params())


def sides_of(batch: tuple[list[int], list[Node]], config: FuzzyDedupConfig) -> list[PairSide]:
    """What verification needs of each shared text of a batch (its index, its node)."""
    indices, nodes = batch
    return pair_sides(nodes, normalise_batch([_TEXTS[i] for i in indices]), config.verify,
                      hasher_of(config))


def find_near_duplicates(docs: list[Document], config: FuzzyDedupConfig, roles: dict[str, str],
                         workers: int = 1) -> FuzzyDedupResult:
    """The removals fuzzy dedup makes on `docs` (documents not listed are kept).

    With `workers` > 1, signatures and fingerprints are computed by that many forked processes.
    Documents are handled by their rank in id order, so the input order does not matter.
    """
    docs = sorted(docs, key=lambda d: d.id)
    texts = [d.text for d in docs]
    if workers <= 1:
        _share(texts)
        try:
            return _find(docs, config, roles, lambda f, xs: list(map(f, xs)))
        finally:
            _share([])
    with multiprocessing.get_context("fork").Pool(workers, _share, (texts,)) as pool:
        return _find(docs, config, roles, pool.map)


def _find(docs: list[Document], config: FuzzyDedupConfig, roles: dict[str, str],
          run: Callable) -> FuzzyDedupResult:
    step = config.signature_batch
    nodes = [node_of(d, roles) for d in docs]
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    spans = [(lo, min(lo + step, len(docs))) for lo in range(0, len(docs), step)]
    for (lo, _), keys in zip(spans, run(partial(band_keys_of, config=config), spans)):
        for i, row in enumerate(keys.tolist(), lo):
            for band, key in enumerate(row):
                buckets[band, key].append(i)
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
    sided = run(partial(sides_of, config=config),
                [(ids, [nodes[i] for i in ids]) for ids in batches])
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
