"""Exact dedup on the hash of the normalised text: one copy survives, chosen deterministically.

Among identical texts the survivor is the earliest crawl date, then the smallest document id
(ids are unique per input record, so this order is total), so the same copy survives on any
runner, worker count or input order. Only a key row per document travels to the global step
(`key_row`, through key files read one range at a time); its decisions go back to the
documents' parts as `PartRemoval`s (`pipeline.passes`).
"""

from __future__ import annotations

from typing import Any, Iterable

from crawl2gpt.core.records import Document, PartRemoval, text_digest

STAGE = "exact_dedup"
PREVIOUS_REASON = "exact_dedup_previous_build"


def dedup_key(doc: Document, scope: str) -> str:
    """Documents with equal keys are exact duplicates (within a source, or globally)."""
    digest = text_digest(doc.text)
    return f"{doc.source}/{digest}" if scope == "source" else digest


def key_row(doc: Document, part: str, scope: str) -> dict[str, Any]:
    """What exact dedup needs of a document (`core.key_files.EXACT_KEY_SCHEMA`)."""
    return {"key": dedup_key(doc, scope), "crawl_date": doc.crawl_date or "", "doc_id": doc.id,
            "source_file": doc.source_file or "",
            "source_offset": -1 if doc.source_offset is None else doc.source_offset,
            "source": doc.source, "part": part, "build": -1}


def previous_key_row(row: dict[str, Any], build: int) -> dict[str, Any]:
    """A previous build's exact index row, as a key row of that build."""
    return {"key": row["key"], "crawl_date": "", "doc_id": row["doc_id"], "source_file": "",
            "source_offset": -1, "source": row["source"], "part": "", "build": build}


def survivor_order(row: dict[str, Any]) -> tuple[str, str, str, int]:
    """Earliest crawl date, then smallest id; the input path and offset break the one tie
    left (identical files of the same name in two folders)."""
    return row["crawl_date"], row["doc_id"], row["source_file"], row["source_offset"]


def decide(rows: Iterable[dict[str, Any]], previous_names: list[str] = ()
           ) -> tuple[list[PartRemoval], dict[str, str] | None]:
    """The key rows of one text (this build's copies and previous builds' index rows) → the
    removals: every copy but the survivor, each naming it, and the survivor too when a
    previous build already holds the text (naming the previous copy: smallest build number,
    then id); and the survivor's row of this build's exact index (None when removed)."""
    rows = list(rows)
    copies = sorted((r for r in rows if r["build"] < 0), key=survivor_order)
    if not copies:
        return [], None
    kept = copies[0]
    out = [PartRemoval(r["part"], r["doc_id"], STAGE, f"{STAGE}_duplicate",
                       {"kept_id": kept["doc_id"]}) for r in copies[1:]]
    old = min((r for r in rows if r["build"] >= 0), key=lambda r: (r["build"], r["doc_id"]),
              default=None)
    if old is not None:
        out.append(PartRemoval(kept["part"], kept["doc_id"], STAGE, PREVIOUS_REASON,
                               {"previous_id": old["doc_id"],
                                "previous_build": previous_names[old["build"]]}))
        return out, None
    return out, {"key": kept["key"], "doc_id": kept["doc_id"], "source": kept["source"]}
