"""Decoded archive bytes → framed WARC or ARC records, recovering from wrong lengths and damage.

`frame_records(pieces, ...)` yields a `RawRecord` (header fields and block bytes) per record,
or a `Broken` for what could not be framed: a record cut by a gzip gap or by the end of the
file, a record larger than the limit, bytes that belong to no record. Framing trusts a
declared length only when it lands on a record boundary; otherwise the record ends where the
next record header starts. The format (WARC or ARC) is taken from the first record header.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Iterator, Union

from crawl2gpt.pipeline.sources.gzip_members import Decoded, Gap

HEADER_LIMIT = 1 << 20
"""A header block longer than this is not a header (the record is rejected)."""
SCAN_STEP = 1 << 20
"""Bytes searched at a time when skipping unrecognised bytes."""
_WARC_VERSION = re.compile(rb"WARC/\d+\.\d+[ \t]*\r*\n")
# URL IP-address Archive-date Content-type [v2: 5 more fields] Archive-length
_ARC_FIELDS = (rb"[A-Za-z][A-Za-z0-9+.\-]*:[^ \r\n]* [^ \r\n]+ \d{12,18} [^ \r\n]* [^ \r\n]+"
               rb"(?: [^ \r\n]+){0,5}\r?\n")
_ARC_HEADER = re.compile(_ARC_FIELDS)
_ARC_HEADER_AFTER_NL = re.compile(rb"\n(?=" + _ARC_FIELDS + rb")")
_NON_BLANK = re.compile(rb"[^ \t\r\n]")
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")
_SEPARATORS = (b"\r\n\r\n", b"\n\n", b"\r\n", b"\n")


@dataclass
class RawRecord:
    """One framed record: its header and its block (the bytes after the header)."""

    kind: str
    """`warc` or `arc`."""
    offset: int
    """Raw offset of the record, or of the gzip member it starts in."""
    first_line: str
    """WARC version line, or the ARC record header line."""
    headers: dict[str, str]
    """WARC named fields, lower-cased names, first value kept; empty for ARC."""
    block: bytes
    length_note: dict[str, object] = field(default_factory=dict)
    """Set when the declared length was missing or wrong and the block was re-delimited."""


@dataclass
class Broken:
    """Bytes that could not be framed as a record, with why and where."""

    reason: str
    offset: int
    record_id: str | None = None
    detail: dict[str, object] = field(default_factory=dict)


def frame_records(pieces: Iterator[Decoded], max_record_bytes: int,
                  default_kind: str = "warc") -> Iterator[Union[RawRecord, Broken]]:
    return _Framer(_DecodedBuffer(pieces), max_record_bytes, default_kind).records()


class _DecodedBuffer:
    """Unread decoded bytes of the current segment (between two gaps), with their raw offsets."""

    def __init__(self, pieces: Iterator[Decoded]):
        self._pieces = pieces
        self.buf = bytearray()
        self.pos = 0                    # stream position of buf[0]
        self._starts: list[int] = []    # stream position where each kept piece starts
        self._origins: list[tuple[int, bool]] = []   # (raw offset, exact) of each kept piece
        self.gap: Gap | None = None     # the gap that ends this segment, once reached
        self.eof = False

    def fill(self, n: int) -> bool:
        """Make at least n bytes available; False when the segment ends first."""
        while len(self.buf) < n:
            if self.gap is not None or self.eof:
                return False
            item = next(self._pieces, None)
            if item is None:
                self.eof = True
            elif isinstance(item, Gap):
                self.gap = item
            else:
                self._starts.append(self.pos + len(self.buf))
                self._origins.append((item.raw_offset, item.exact))
                self.buf += item.data
        return True

    def consume(self, n: int) -> None:
        del self.buf[:n]
        self.pos += n
        keep = bisect_right(self._starts, self.pos) - 1
        if keep > 0:
            del self._starts[:keep], self._origins[:keep]

    def discard(self, n: int) -> int:
        """Drop n bytes, reading through them without keeping them; returns how many there were."""
        dropped = 0
        while len(self.buf) < n - dropped:
            dropped += len(self.buf)
            self.consume(len(self.buf))
            if not self.fill(1):
                return dropped
        self.consume(n - dropped)
        return n

    def raw_offset(self, i: int) -> int:
        """Raw offset of buf[i] (for gzip input: of the member it was decompressed from)."""
        k = max(bisect_right(self._starts, self.pos + i) - 1, 0)
        raw, exact = self._origins[k]
        return raw + (self.pos + i - self._starts[k]) if exact else raw

    def find(self, needle: bytes | re.Pattern, start: int, limit: int) -> tuple[int | None, bool]:
        """First match of `needle` at or after `start`, reading on up to `limit` bytes.

        Returns (index, False) when found, (None, True) when `limit` was reached, and
        (None, False) when the segment ended first. A regex matches its start position.
        """
        searched = start
        while True:
            if isinstance(needle, bytes):
                i = self.buf.find(needle, searched)
            else:
                m = needle.search(self.buf, searched)
                i = m.start() if m else -1
            if i >= 0:
                return i, False
            if len(self.buf) >= limit:
                return None, True
            searched = max(start, len(self.buf) - 16384)
            if not self.fill(len(self.buf) + 1):
                return None, False

    def copy(self, start: int, end: int) -> bytes:
        with memoryview(self.buf) as view:
            return view[start:end].tobytes()

    def next_segment(self) -> None:
        """Drop what is left of this segment and go past its gap."""
        self.consume(len(self.buf))
        self.gap = None


class _Framer:
    def __init__(self, buffer: _DecodedBuffer, max_record_bytes: int, default_kind: str):
        self.b = buffer
        self.limit = max_record_bytes
        self.kind: str | None = None
        self.default_kind = default_kind
        self.resyncing = False   # bytes skipped now belong to a loss already reported
        self.seen_record = False

    def records(self) -> Iterator[Union[RawRecord, Broken]]:
        b = self.b
        while True:
            if not self._skip_blank():
                if b.gap is None:
                    return
                yield Broken(b.gap.reason, b.gap.raw_offset,
                             detail={"error": b.gap.detail, "resumed_at": b.gap.resumed_at})
                b.next_segment()
                self.resyncing = True
                continue
            if self.kind is None:
                self.kind = self._sniff_kind()
            if not self._record_starts_at(0):
                yield from self._skip_unrecognised()
                continue
            self.resyncing = False
            self.seen_record = True
            yield from self._frame_one()

    def _skip_blank(self) -> bool:
        """Drop blank lines; False when the segment has no more bytes."""
        b = self.b
        while b.fill(1):
            m = _NON_BLANK.search(b.buf)
            if m:
                b.consume(m.start())
                return True
            b.consume(len(b.buf))
        return False

    def _sniff_kind(self) -> str:
        self.b.fill(64)
        head = bytes(self.b.buf[:64])
        if head.startswith(b"WARC/"):
            return "warc"
        if head.startswith(b"filedesc://") or self._arc_header_at(0, strict=True):
            return "arc"
        return self.default_kind

    def _record_starts_at(self, i: int) -> bool:
        if self.kind == "warc":
            self.b.fill(i + 32)
            return _WARC_VERSION.match(self.b.buf, i) is not None
        return self._arc_header_at(i, strict=self.seen_record)

    def _arc_header_at(self, i: int, strict: bool) -> bool:
        """An ARC header line at i; before the first record also any 5-field `filedesc://` line."""
        nl, _ = self.b.find(b"\n", i, i + 16384)
        if nl is None:
            return False
        if _ARC_HEADER.match(self.b.buf, i, nl + 1):
            return True
        line = bytes(self.b.buf[i:nl])
        return not strict and line.startswith(b"filedesc://") and len(line.split()) >= 5

    def _next_start(self, start: int, limit: int) -> tuple[int | None, bool]:
        """Where the next record header begins (at a line start after `start`)."""
        if self.kind == "arc":
            i, hit_limit = self.b.find(_ARC_HEADER_AFTER_NL, start, limit)
            return (None if i is None else i + 1), hit_limit
        searched = start
        while True:
            i, hit_limit = self.b.find(b"\nWARC/", searched, limit)
            if i is None:
                return None, hit_limit
            if self._record_starts_at(i + 1):
                return i + 1, False
            searched = i + 1

    def _skip_unrecognised(self) -> Iterator[Broken]:
        """Skip to the next record header; report the bytes skipped unless already accounted for."""
        b = self.b
        offset, preview, skipped = b.raw_offset(0), bytes(b.buf[:60]), 0
        while True:
            i, hit_limit = self._next_start(0, SCAN_STEP)
            if i is not None or not hit_limit:
                n = len(b.buf) if i is None else i
                skipped += n
                b.consume(n)
                break
            n = len(b.buf) - 16384
            skipped += n
            b.consume(n)
        if self.resyncing:
            return
        nothing_found = not self.seen_record and b.eof and not b.buf
        yield Broken("not_an_archive" if nothing_found else "unrecognised_bytes", offset,
                     detail={"bytes": skipped, "starts_with": preview.decode("latin-1"),
                             "expected": self.kind})

    def _frame_one(self) -> Iterator[Union[RawRecord, Broken]]:
        b = self.b
        offset = b.raw_offset(0)
        header = self._read_header()
        if isinstance(header, Broken):
            yield header
            return
        first_line, headers, body_start, declared = header
        record_id = headers.get("warc-record-id") or None
        length = int(declared) if declared and declared.isdigit() else None
        note: dict[str, object] = {}
        if length is not None and length > self.limit:
            yield from self._drop_oversized(offset, record_id, body_start + length, length)
            return
        declared_end = None if length is None else body_start + length
        fits = declared_end is not None and b.fill(declared_end)
        body_end = None
        if fits and self._lands_on_boundary(declared_end):
            body_end = declared_end
        else:
            note = {"declared_length": declared}
            nxt, hit_limit = self._next_start(body_start - 1, body_start + self.limit)
            if hit_limit or (nxt is not None and nxt - body_start > self.limit):
                yield Broken("record_too_large", offset, record_id,
                             {"declared_length": declared, "limit": self.limit})
                b.consume(len(b.buf) if nxt is None else nxt)
                self.resyncing = True
                return
            if nxt is not None:
                body_end = _strip_separator(b.buf, body_start, nxt)
            elif fits:
                body_end = declared_end   # what follows is no record: skipped as such below
            elif b.gap is None and length is None:
                body_end = len(b.buf)     # no usable length: the last record runs to the end
        if body_end is None:
            yield self._cut_short(offset, record_id, declared)
            return
        if note:
            note["actual_length"] = body_end - body_start
        block = b.copy(body_start, body_end)
        b.consume(body_end)
        yield RawRecord(self.kind, offset, first_line, headers, block, note)

    def _read_header(self):
        """(first line, fields, index of the block, declared length) or a Broken."""
        b = self.b
        offset = b.raw_offset(0)
        if self.kind == "arc":
            nl, hit_limit = b.find(b"\n", 0, HEADER_LIMIT)
            if nl is None:
                return self._header_failure(offset, hit_limit, None)
            first_line = b.buf[:nl].decode("utf-8", "replace").rstrip("\r")
            return first_line, {}, nl + 1, first_line.split(" ")[-1].strip()
        blank, hit_limit = b.find(_BLANK_LINE, 0, HEADER_LIMIT)
        end = len(b.buf) if blank is None else blank
        first_line, headers, declared = _parse_fields(b.buf[:end].decode("utf-8", "replace"))
        if blank is None:
            return self._header_failure(offset, hit_limit, headers.get("warc-record-id"))
        return first_line, headers, _BLANK_LINE.match(b.buf, blank).end(), declared

    def _header_failure(self, offset: int, hit_limit: bool, record_id: str | None) -> Broken:
        if hit_limit:
            self.b.consume(1)
            self.resyncing = True
            return Broken("header_too_large", offset, record_id, {"limit": HEADER_LIMIT})
        return self._cut_short(offset, record_id, None)

    def _cut_short(self, offset: int, record_id: str | None, declared: str | None) -> Broken:
        """The segment ended inside this record: a gzip gap, or the end of the file."""
        b = self.b
        detail: dict[str, object] = {"declared_length": declared, "bytes_present": len(b.buf)}
        if b.gap is not None:
            detail.update(gap_offset=b.gap.raw_offset, error=b.gap.detail,
                          resumed_at=b.gap.resumed_at)
            broken = Broken(b.gap.reason, offset, record_id, detail)
            b.next_segment()
            self.resyncing = True
            return broken
        b.consume(len(b.buf))
        return Broken("truncated_record", offset, record_id, detail)

    def _lands_on_boundary(self, end: int) -> bool:
        """Whether a declared block end is followed by a separator, a record or the segment end."""
        if not self.b.fill(end + 1):
            return True
        return self.b.buf[end] in b"\r\n" or self._record_starts_at(end)

    def _drop_oversized(self, offset: int, record_id: str | None, end: int,
                        length: int) -> Iterator[Broken]:
        """Read through a record over the limit without holding it."""
        b = self.b
        if b.discard(end) < end:
            yield self._cut_short(offset, record_id, str(length))
            return
        self.resyncing = True
        yield Broken("record_too_large", offset, record_id,
                     {"declared_length": length, "limit": self.limit})


def _parse_fields(text: str) -> tuple[str, dict[str, str], str | None]:
    """Version line, named fields (lower-cased names, first value kept) and Content-Length.

    Two different Content-Length values give a declared length that is no number, so the
    block is delimited by the next record header instead. Folded lines are ignored.
    """
    lines = text.split("\n")
    headers: dict[str, str] = {}
    lengths: set[str] = set()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            name, value = name.strip().lower(), value.strip()
            headers.setdefault(name, value)
            if name == "content-length":
                lengths.add(value)
    declared = lengths.pop() if len(lengths) == 1 else ("|".join(sorted(lengths)) or None)
    return lines[0].strip(), headers, declared


def _strip_separator(buf: bytearray, start: int, end: int) -> int:
    """End of a block delimited by the next header: drop the one record separator before it."""
    for sep in _SEPARATORS:
        if end - start >= len(sep) and buf[end - len(sep):end] == sep:
            return end - len(sep)
    return end
