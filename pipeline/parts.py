"""Document parts: one input file's documents, spilled to disk between the build's passes.

The build never moves whole documents through a shuffle. Each input file becomes a `Part`: a
Parquet file of its documents (first its checkpoint, `pipeline.checkpoints`), streamed through
one worker per pass. A pass applies the removals decided by the global step before it
(`PartRemoval`s routed to the part by its key), runs the per-document stages, and spills what is
left for the next pass; the global steps between passes exchange only small keys (text hashes,
ids). The last pass writes the part's document shards. See docs/data-format.md.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, replace
from typing import Iterable, Iterator

from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.core.shards import DOCUMENT_SCHEMA, document_row
from crawl2gpt.pipeline.checkpoints import RowFileWriter, read_rows

PARTS_DIR = "_parts"


@dataclass(frozen=True)
class Part:
    key: str
    """From the source and input path: the same on every run, runner and worker."""
    source: str
    source_file: str
    documents: str
    """Parquet file (document schema) of the part's documents at this point of the funnel."""
    count: int
    rejected: str = ""
    """Parquet file of the read and normalise rejects (first pass only)."""
    rejected_count: int = 0


def part_key(source: str, source_file: str | None) -> str:
    digest = hashlib.sha256(f"{source}\0{source_file or ''}".encode()).hexdigest()
    return digest[:16]


def read_part(part: Part) -> Iterator[Document]:
    """The part's documents, row group by row group (the count is checked)."""
    yield from read_rows(part.documents, "documents", part.count)


def read_part_rejects(part: Part) -> Iterator[Rejected]:
    if part.rejected:
        yield from read_rows(part.rejected, "rejected", part.rejected_count)


def spill_path(work_dir: str, pass_name: str, key: str) -> str:
    return posixpath.join(work_dir, PARTS_DIR, pass_name, f"{key}.parquet")


def spill(part: Part, docs: Iterable[Document], path: str) -> Part:
    """Write `docs` (in the order given) as the part's next spill; returns the new part."""
    writer = RowFileWriter(path, DOCUMENT_SCHEMA)
    for doc in docs:
        writer.add(document_row(doc))
    writer.close()
    return replace(part, documents=path, count=writer.count, rejected="", rejected_count=0)
