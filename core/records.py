"""The records every stage passes on: a kept `Document`, a `Rejected` one, a `Skipped` input record.

These types sit below every stage (readers, filters, dedup, writers) and import nothing from
them. Identity derives from what a record is and where it was read (`make_doc_id`), never from
arrival order, so any runner, worker count or file order yields the same ids.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

# Longest text kept in a rejected row: enough to inspect, bounded so a 1 GB bad record cannot
# blow up the rejected output. Truncation is recorded in the row (`text_truncated`).
REJECTED_TEXT_LIMIT = 20_000


def text_digest(text: str) -> str:
    """Hex sha1 of the UTF-8 text (used for ids and exact dedup)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def make_doc_id(source: str, key: str | None, text: str, origin: str = "") -> str:
    """A stable 32-hex-char document id from source name, URL or record id, content and origin.

    `origin` names where the record was read (input file name and offset): two identical
    records in two files (a crawl file copied under a new name) get two ids, so ids are unique
    per record and every order over them is total. Only the file's name counts, not its
    folder, so the same file read from another place keeps its ids.
    """
    h = hashlib.blake2b(digest_size=16)
    for part in (source, key or "", text_digest(text), origin):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def record_origin(source_file: str | None, source_offset: int | None) -> str:
    """`name@offset` of an input record (empty when the record was not read from a file)."""
    if source_file is None:
        return ""
    return f"{posixpath.basename(source_file)}@{'' if source_offset is None else source_offset}"


def derive_id(parent_id: str, part: str) -> str:
    """Id of a record derived from another (e.g. a piece of a split document)."""
    return hashlib.blake2b(f"{parent_id}/{part}".encode(), digest_size=16).hexdigest()


@dataclass
class Document:
    """One document on its way through the build."""

    id: str
    source: str
    text: str
    url: str | None = None
    crawl_date: str | None = None
    record_id: str | None = None
    source_file: str | None = None
    source_offset: int | None = None
    language: str | None = None
    language_score: float | None = None
    quality_score: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, source: str, text: str, *, url: str | None = None,
               record_id: str | None = None, **kwargs: Any) -> Document:
        """Build a document whose id derives from source, URL (else record id), text and the
        file name and offset it was read at."""
        origin = record_origin(kwargs.get("source_file"), kwargs.get("source_offset"))
        doc_id = make_doc_id(source, url or record_id, text, origin)
        return cls(id=doc_id, source=source, text=text, url=url, record_id=record_id, **kwargs)

    def replace(self, **changes: Any) -> Document:
        return dataclasses.replace(self, **changes)


@dataclass
class Rejected:
    """A record that left the build, with the stage and reason that removed it.

    Input-level rejects (a corrupt gzip member, a missing header) have no `doc_id`; documents
    removed by a later stage carry their id and text so that nothing is lost silently.
    """

    source: str
    stage: str
    reason: str
    source_file: str | None = None
    source_offset: int | None = None
    record_id: str | None = None
    doc_id: str | None = None
    url: str | None = None
    text: str | None = None
    text_truncated: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_document(cls, doc: Document, stage: str, reason: str, **detail: Any) -> Rejected:
        """The rejected row for a whole document removed by `stage`."""
        text = doc.text
        truncated = len(text) > REJECTED_TEXT_LIMIT
        return cls(source=doc.source, stage=stage, reason=reason, source_file=doc.source_file,
                   source_offset=doc.source_offset, record_id=doc.record_id, doc_id=doc.id,
                   url=doc.url, text=text[:REJECTED_TEXT_LIMIT] if truncated else text,
                   text_truncated=truncated, detail=detail)

    def detail_json(self) -> str:
        return json.dumps(self.detail, sort_keys=True, default=str)


@dataclass(frozen=True)
class Skipped:
    """An input record that is not a document by design (WARC request, WAT metadata, ...).

    Counted per reason, never written as a rejected row.
    """

    source: str
    reason: str


@dataclass(frozen=True)
class PartRemoval:
    """A global step's decision: document `doc_id` of input part `part` leaves the funnel
    (the build's passes apply it, `pipeline.passes`)."""

    part: str
    doc_id: str
    stage: str
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)

    def reject(self, doc: Document) -> Rejected:
        return Rejected.of_document(doc, self.stage, self.reason, **self.detail)


@dataclass(frozen=True)
class PartRequest:
    """A global step asks input part `part` for more about document `doc_id` (what, is up to
    the stage: `payload` goes to its emitter in the next pass)."""

    part: str
    doc_id: str
    payload: Any = None
