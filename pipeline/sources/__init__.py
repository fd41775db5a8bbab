"""Input readers: one function per format, turning a byte stream into records.

A reader is `read(stream, ctx) -> Iterator[Document | Rejected | Skipped]`: plain Python, no
Beam. It never raises on bad input: a broken record becomes a `Rejected` (stage `read`) naming
the file and offset, and reading goes on with the next good record.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator, Union

from crawl2gpt.core.records import Document, Rejected, Skipped
from crawl2gpt.pipeline.config import SourceConfig

ReadItem = Union[Document, Rejected, Skipped]
Reader = Callable[[BinaryIO, "ReadContext"], Iterator[ReadItem]]

# format name -> "module:function"; imported lazily so a worker loads only what it reads.
READERS: dict[str, str] = {
    "warc": "crawl2gpt.pipeline.sources.warc:read_warc",
    "arc": "crawl2gpt.pipeline.sources.warc:read_warc",
    "wet": "crawl2gpt.pipeline.sources.warc:read_warc",
    "jsonl": "crawl2gpt.pipeline.sources.text_formats:read_jsonl",
    "parquet": "crawl2gpt.pipeline.sources.text_formats:read_parquet",
    "text": "crawl2gpt.pipeline.sources.text_formats:read_text",
    "zip": "crawl2gpt.pipeline.sources.text_formats:read_zip",
    "wikiextractor": "crawl2gpt.pipeline.sources.wikipedia:read_wikiextractor",
    "wikipedia-xml": "crawl2gpt.pipeline.sources.wikipedia:read_wikipedia_xml",
}


@dataclass(frozen=True)
class ReadContext:
    """What a reader knows besides the bytes: which source, which file, which limits."""

    source: SourceConfig
    path: str
    max_record_bytes: int = 64 * 1024 * 1024

    def option(self, name: str, default=None):
        return self.source.options.get(name, default)

    def reject(self, reason: str, offset: int | None = None, record_id: str | None = None,
               **detail) -> Rejected:
        """An input-level reject (stage `read`) naming this file and the offset."""
        return Rejected(source=self.source.name, stage="read", reason=f"read_{reason}",
                        source_file=self.path, source_offset=offset, record_id=record_id,
                        detail=detail)

    def skip(self, reason: str) -> Skipped:
        return Skipped(source=self.source.name, reason=f"read_skipped_{reason}")


def get_reader(fmt: str) -> Reader:
    """The reader for a format name, or for a "module:function" path (a user's own reader)."""
    target = READERS.get(fmt) or (fmt if ":" in fmt else None)
    if target is None:
        raise ValueError(f"unknown source format {fmt!r}; known: {sorted(READERS)} "
                         f"or a 'module:function' reader")
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)
