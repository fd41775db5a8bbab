"""Which documents of a near-duplicate cluster to keep, and which pairs may remove each other.

Scopes (the paper, Appendix A: fuzzy dedup within each dataset, and WebText removed from Common
Crawl): two documents of the same source are compared; a raw (crawl) document is also compared
with reference documents, and only the raw one can be removed. Raw documents of different raw
sources, and reference documents of different reference sources, are left alone.

Within a cluster, documents are visited in priority order (reference before raw, then highest
quality score, then longest text, then smallest id); a document is removed only when it is a
near-duplicate (a verified edge) of a document already kept, so a chain A~B~C with A!~C keeps
A and C.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from crawl2gpt.dedup.minhash import MinHasher, estimated_jaccard, exact_jaccard, fingerprints

VERIFY_MODES = ("off", "estimate", "exact")
REASON_NEAR_DUPLICATE = "fuzzy_dedup_near_duplicate"
REASON_CROSS_SOURCE = "fuzzy_dedup_cross_source"


@dataclass(frozen=True)
class Node:
    """What the cluster decision needs to know about one document."""

    id: str
    source: str
    role: str
    quality_score: float | None
    length: int
    part: str = ""
    """The build's input part holding the document (`pipeline.parts`), where decisions go."""

    def priority(self) -> tuple:
        """Sort key: the first node of a cluster in this order is kept first."""
        quality = self.quality_score if self.quality_score is not None else float("-inf")
        return (self.role != "reference", -quality, -self.length, self.id)


@dataclass(frozen=True)
class Edge:
    """A verified near-duplicate pair (`a.id < b.id`); `jaccard` is None when not verified."""

    a: Node
    b: Node
    jaccard: float | None


@dataclass(frozen=True)
class Removal:
    """A document removed as a near-duplicate of a kept one."""

    doc_id: str
    reason: str
    cluster_id: str
    kept_id: str
    jaccard: float | None


def pair_in_scope(source_a: str, role_a: str, source_b: str, role_b: str) -> bool:
    """Whether two documents are compared at all: same source, or raw against reference."""
    return source_a == source_b or {role_a, role_b} == {"raw", "reference"}


def may_remove(doc: Node, kept: Node) -> bool:
    """`kept` can remove `doc`: same source, or `doc` is raw and `kept` is reference."""
    return doc.source == kept.source or (doc.role == "raw" and kept.role == "reference")


@dataclass(frozen=True)
class PairSide:
    """One document's data for verifying its pairs: its node, signature or fingerprints."""

    node: Node
    signature: np.ndarray | None
    fingerprints: np.ndarray | None


def pair_sides(nodes: list[Node], normalised: list[bytes], verify: str,
               hasher: MinHasher) -> list[PairSide]:
    """What the verification mode needs, for a batch of `normalise`d documents."""
    none = [None] * len(nodes)
    sigs = hasher.signatures_of_normalised(normalised) if verify == "estimate" else none
    fps = fingerprints(normalised, hasher.ngram) if verify == "exact" else none
    return [PairSide(n, s, f) for n, s, f in zip(nodes, sigs, fps)]


def verify_pair(a: PairSide, b: PairSide, verify: str, threshold: float) -> Edge | None:
    """The edge if the pair passes verification (every candidate does when `verify` is off)."""
    if a.node.id > b.node.id:
        a, b = b, a
    if verify == "off":
        return Edge(a.node, b.node, None)
    if verify == "estimate":
        jaccard = estimated_jaccard(a.signature, b.signature)
    elif verify == "exact":
        jaccard = exact_jaccard(a.fingerprints, b.fingerprints)
    else:
        raise ValueError(f"unknown verify mode {verify!r}; expected one of {VERIFY_MODES}")
    return Edge(a.node, b.node, round(jaccard, 6)) if jaccard >= threshold else None


def decide_cluster(cluster_id: str, edges: Iterable[Edge]) -> list[Removal]:
    """Keep or remove each document of one connected component (see the module docstring)."""
    nodes: dict[str, Node] = {}
    similar: dict[str, dict[str, float | None]] = {}
    for e in edges:
        nodes[e.a.id], nodes[e.b.id] = e.a, e.b
        similar.setdefault(e.a.id, {})[e.b.id] = e.jaccard
        similar.setdefault(e.b.id, {})[e.a.id] = e.jaccard
    kept: list[Node] = []
    removals: list[Removal] = []
    for node in sorted(nodes.values(), key=Node.priority):
        matches = [k for k in kept if k.id in similar[node.id] and may_remove(node, k)]
        if not matches:
            kept.append(node)
            continue
        # Cross-source matches first (the paper's rule), then the most similar, then priority.
        best = min(matches, key=lambda k: (k.source == node.source,
                                           -(similar[node.id][k.id] or 0.0), k.priority()))
        reason = REASON_NEAR_DUPLICATE if best.source == node.source else REASON_CROSS_SOURCE
        removals.append(Removal(node.id, reason, cluster_id, best.id, similar[node.id][best.id]))
    return removals
