"""Raw archive bytes → decoded pieces, gzip member by member, resynchronising after damage.

WARC and ARC files are usually a series of gzip members (one per record, sometimes one for the
whole file). Python's `gzip` and the usual WARC libraries stop at the first corrupt member;
here a damaged member becomes a `Gap` (what was lost, where) and decoding resumes at the next
verified member header, so every good record before and after is kept. Plain files pass
through as pieces that map one to one onto raw offsets.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Union

GZIP_MAGIC = b"\x1f\x8b\x08"
READ_SIZE = 1 << 20
"""Raw bytes read from the stream at a time."""
FEED_SIZE = 256 << 10
"""Most raw bytes fed to zlib at a time. Each member starts with small feeds (zlib copies the
input left over after a member ends, so feeding far past a small member's end is costly)."""
FIRST_FEED = 4 << 10
OUT_LIMIT = 1 << 20
"""Most decompressed bytes produced by one zlib call: bounds memory on highly compressed data."""
VERIFY_BYTES = 16 << 10
"""A candidate member header counts as found when this much of it decodes without error."""
LOOKBACK = 1 << 20
"""Raw bytes kept before the read position, where resync looks for the next member header."""


@dataclass(frozen=True)
class Piece:
    """Decoded bytes, and where they came from in the raw file.

    `exact`: raw offset of data[i] is `raw_offset + i` (plain file). Otherwise `raw_offset` is
    the start of the gzip member the bytes were decompressed from.
    """

    data: bytes
    raw_offset: int
    exact: bool


@dataclass(frozen=True)
class Gap:
    """Bytes lost at `raw_offset`: a corrupt or truncated member, or bytes that are no member."""

    raw_offset: int
    reason: str
    """`gzip_corrupt_member`, `gzip_truncated_member` or `gzip_garbage`."""
    detail: str
    resumed_at: int | None = None
    """Where decoding resumed (the next good member), None when nothing good followed."""


Decoded = Union[Piece, Gap]


def decode_archive(stream: BinaryIO) -> Iterator[Decoded]:
    """Pieces of the decoded content of `stream` (gzip by magic bytes, else plain), with gaps."""
    window = _RawWindow(stream)
    if not window.fill(0, 2):
        if window.size:
            yield Piece(bytes(window.take(0, 1)), 0, True)
        return
    if window.get(0, 2) == GZIP_MAGIC[:2]:
        yield from _gunzip(window)
    else:
        yield from _plain(window)


def _plain(window: _RawWindow) -> Iterator[Piece]:
    pos = 0
    while chunk := window.take(pos, READ_SIZE):
        yield Piece(bytes(chunk), pos, True)
        pos += len(chunk)
        window.release(pos)


def _gunzip(window: _RawWindow) -> Iterator[Decoded]:
    pos = 0
    while window.fill(pos, 1):
        if not _plausible_header(window.get(pos, 4)):
            nxt = _next_member(window, pos + 1)
            end = window.size if nxt is None else nxt
            yield Gap(pos, "gzip_garbage", f"{end - pos} bytes that are not a gzip member", nxt)
            if nxt is None:
                return
            pos = nxt
        pos, failure = yield from _member(window, pos)
        if failure is not None:
            # also after a "truncated" member: damage can make zlib read on past the next
            # member's header without noticing; that header is still in the window
            nxt = _next_member(window, failure.raw_offset + 1)
            yield dataclasses.replace(failure, resumed_at=nxt)
            if nxt is None:
                return
            pos = nxt


def _member(window: _RawWindow, start: int):
    """Decode one member at `start`; returns (position after it, Gap or None), yields pieces."""
    decomp = zlib.decompressobj(31)
    pos, feed = start, FIRST_FEED
    try:
        while not decomp.eof:
            chunk = window.take(pos, feed)
            feed = min(2 * feed, FEED_SIZE)
            if not chunk:
                return pos, Gap(start, "gzip_truncated_member",
                                f"file ends inside the gzip member that starts at byte {start}")
            pos += len(chunk)
            data = chunk
            while data and not decomp.eof:
                out = decomp.decompress(data, OUT_LIMIT)
                if out:
                    yield Piece(out, start, False)
                data = decomp.unconsumed_tail
            window.release(max(start, pos - LOOKBACK))
    except zlib.error as exc:
        return pos, Gap(start, "gzip_corrupt_member", f"zlib: {exc}")
    return pos - len(decomp.unused_data), None


def _plausible_header(head: bytes) -> bool:
    """Magic, deflate method and no reserved flag bits: what a real member header starts with."""
    return len(head) == 4 and head[:3] == GZIP_MAGIC and head[3] & 0xE0 == 0


def _next_member(window: _RawWindow, start: int) -> int | None:
    """Raw offset of the next member header at or after `start` that decodes, or None."""
    pos = max(start, window.base)
    while True:
        found = window.find(GZIP_MAGIC, pos)
        if found is None:
            return None
        window.fill(found, VERIFY_BYTES)
        if _plausible_header(window.get(found, 4)) and _decodes(window.get(found, VERIFY_BYTES)):
            return found
        pos = found + 1


def _decodes(data: bytes) -> bool:
    try:
        decomp = zlib.decompressobj(31)
        out = decomp.decompress(data, 1 << 16)
    except zlib.error:
        return False
    return bool(out) or decomp.eof


class _RawWindow:
    """A sliding window over the raw stream: absolute offsets, bounded memory."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._buf = b""
        self.base = 0
        self._eof = False

    @property
    def size(self) -> int:
        """Raw offset just past the bytes read so far."""
        return self.base + len(self._buf)

    def fill(self, pos: int, n: int) -> bool:
        """Read until [pos, pos + n) is in the window; False when the file ends first."""
        while self.size < pos + n and not self._eof:
            data = self._stream.read(max(READ_SIZE, pos + n - self.size))
            if data:
                self._buf += data
            else:
                self._eof = True
        return self.size >= pos + n

    def get(self, pos: int, n: int) -> bytes:
        return self._buf[pos - self.base:pos - self.base + n]

    def take(self, pos: int, n: int) -> memoryview:
        """Up to n bytes at pos, without copying (fewer at the end of the file, none past it)."""
        if self.size < pos + n:
            self.fill(pos, n)
        return memoryview(self._buf)[pos - self.base:pos - self.base + n]

    def release(self, pos: int) -> None:
        """Forget the bytes before `pos` (in large steps: each step copies what is kept)."""
        if pos - self.base >= READ_SIZE:
            self._buf = self._buf[pos - self.base:]
            self.base = pos

    def find(self, needle: bytes, pos: int) -> int | None:
        """Offset of `needle` at or after pos, reading on (and forgetting what is behind)."""
        while True:
            i = self._buf.find(needle, pos - self.base)
            if i >= 0:
                return self.base + i
            pos = max(pos, self.size - len(needle) + 1)
            self.release(pos)
            if not self.fill(self.size, 1):
                return None
