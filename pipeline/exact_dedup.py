"""Exact dedup on the hash of the normalised text: one copy survives, chosen deterministically.

Among identical texts the survivor is the earliest crawl date, then the smallest document id
(ids are unique per input record, so this order is total), so the same copy survives on any
runner, worker count or input order.
"""

from __future__ import annotations

from typing import Iterable

from crawl2gpt.core.records import Document, Rejected, text_digest

STAGE = "exact_dedup"


def dedup_key(doc: Document, scope: str) -> str:
    """Documents with equal keys are exact duplicates (within a source, or globally)."""
    digest = text_digest(doc.text)
    return f"{doc.source}/{digest}" if scope == "source" else digest


def survivor_order(doc: Document) -> tuple[str, str, str, int]:
    """Earliest crawl date, then smallest id; the input path and offset break the one tie
    left (identical files of the same name in two folders)."""
    return (doc.crawl_date or "", doc.id, doc.source_file or "", doc.source_offset or -1)


def choose_survivor(docs: Iterable[Document]) -> tuple[Document, list[Rejected]]:
    """The copy to keep and the rejects for all others (each naming the kept id)."""
    ordered = sorted(docs, key=survivor_order)
    kept = ordered[0]
    return kept, [Rejected.of_document(d, STAGE, f"{STAGE}_duplicate", kept_id=kept.id)
                  for d in ordered[1:]]
