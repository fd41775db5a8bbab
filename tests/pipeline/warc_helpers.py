"""Shared by the WARC reader tests: read a file and tally what came out."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from crawl2gpt.core.records import Document, Rejected, Skipped
from crawl2gpt.pipeline.config import SourceConfig
from crawl2gpt.pipeline.sources import ReadContext
from crawl2gpt.pipeline.sources.warc import read_warc


@dataclass
class Tally:
    docs: list[Document] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    order: list[str] = field(default_factory=list)
    """`doc`, `rejected` or `skipped` per item, in the order the reader yielded them."""

    @property
    def reject_reasons(self) -> Counter:
        return Counter(r.reason.removeprefix("read_") for r in self.rejected)

    @property
    def skip_reasons(self) -> Counter:
        return Counter({k.removeprefix("read_skipped_"): v for k, v in self.skipped.items()})

    def summary(self) -> tuple[int, dict, dict]:
        return len(self.docs), dict(self.reject_reasons), dict(self.skip_reasons)


def context(path: str, fmt: str = "warc", max_record_bytes: int = 64 << 20,
            **options) -> ReadContext:
    return ReadContext(SourceConfig("crawl", "raw", [path], fmt, options), path, max_record_bytes)


def read_bytes(data: bytes, path: str = "mem.warc", fmt: str = "warc", **kwargs) -> Tally:
    """Run the reader over in-memory bytes."""
    return _tally(read_warc(io.BytesIO(data), context(path, fmt, **kwargs)))


def read_file(path: Path, fmt: str = "warc", **kwargs) -> Tally:
    with open(path, "rb") as stream:
        return _tally(read_warc(stream, context(str(path), fmt, **kwargs)))


def _tally(items) -> Tally:
    tally = Tally()
    for item in items:
        if isinstance(item, Document):
            tally.docs.append(item)
            tally.order.append("doc")
        elif isinstance(item, Rejected):
            tally.rejected.append(item)
            tally.order.append("rejected")
        else:
            assert isinstance(item, Skipped), item
            tally.skipped[item.reason] += 1
            tally.order.append("skipped")
    return tally
