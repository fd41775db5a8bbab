"""Byte streams as stored → plain bytes: gzip, bzip2 and zstd by magic bytes, and bounded lines.

`open_decompressed(stream, path)` picks the codec from the first bytes (the file extension
only when they name no codec), streams, and handles concatenated gzip members, bzip2 streams
and zstd frames. A corrupt or truncated stream raises `CorruptStreamError` naming the file,
the codec and how many decompressed bytes were good; the readers turn it into a `Rejected`.
"""

from __future__ import annotations

import bz2
import gzip
import io
import zlib
from typing import BinaryIO, Iterator, NamedTuple

import zstandard

MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\x28\xb5\x2f\xfd": "zstd"}
EXTENSIONS = {".gz": "gzip", ".bz2": "bzip2", ".zst": "zstd"}
# What the codecs raise on bad data: gzip (BadGzipFile is an OSError, zlib.error, EOFError on
# truncation), bz2 (OSError "Invalid data stream", EOFError), zstd (ZstdError, and our EOFError).
_CODEC_ERRORS = (OSError, EOFError, zlib.error, zstandard.ZstdError)
_CHUNK = 64 * 1024


class CorruptStreamError(ValueError):
    """A compressed stream that cannot be decoded past `position` decompressed bytes."""

    def __init__(self, path: str, codec: str, position: int, cause: BaseException):
        self.path, self.codec, self.position = path, codec, position
        super().__init__(f"{path}: corrupt {codec} stream after {position} decompressed "
                         f"bytes: {type(cause).__name__}: {cause}")


def detect_codec(head: bytes, path: str) -> str | None:
    """The codec named by the magic bytes, else by the extension; None for plain bytes."""
    for magic, codec in MAGIC.items():
        if head.startswith(magic):
            return codec
    for ext, codec in EXTENSIONS.items():
        if path.lower().endswith(ext):
            return codec
    return None


def open_decompressed(stream: BinaryIO, path: str) -> BinaryIO:
    """A buffered binary stream of the decompressed content of `stream` (read lazily)."""
    head = stream.read(4)
    raw = _Prefixed(head, stream)
    codec = detect_codec(head, path)
    if codec is None:
        return io.BufferedReader(raw, _CHUNK)
    if codec == "gzip":
        inner: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb")
    elif codec == "bzip2":
        inner = bz2.BZ2File(raw)
    else:
        inner = _ZstdFrames(raw)
    return io.BufferedReader(_Checked(inner, path, codec), _CHUNK)


class _Prefixed(io.RawIOBase):
    """`head` followed by the rest of `stream`: lets us sniff magic bytes on unseekable input."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self._head, self._stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class _ZstdFrames(io.RawIOBase):
    """Concatenated zstd frames, streamed; unlike `stream_reader`, a truncated frame raises."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._frame = zstandard.ZstdDecompressor().decompressobj()
        self._frame_started = False
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            data = self._stream.read(_CHUNK)
            if not data:
                if self._frame_started:
                    raise EOFError("zstd stream ended inside a frame (truncated file)")
                return 0
            self._pending = self._feed(data)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _feed(self, data: bytes) -> bytes:
        out = []
        while data:
            self._frame_started = True
            out.append(self._frame.decompress(data))
            if not self._frame.eof:
                break
            data = self._frame.unused_data
            self._frame = zstandard.ZstdDecompressor().decompressobj()
            self._frame_started = False
        return b"".join(out)


class _Checked(io.RawIOBase):
    """Turns a codec's own exceptions into `CorruptStreamError` naming the file."""

    def __init__(self, inner: BinaryIO, path: str, codec: str):
        self._inner, self._path, self._codec = inner, path, codec
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._inner.read(len(buffer))
        except _CODEC_ERRORS as e:
            raise CorruptStreamError(self._path, self._codec, self._position, e) from e
        buffer[:len(data)] = data
        self._position += len(data)
        return len(data)


class Line(NamedTuple):
    """One line of a stream: 1-based `number`, byte `offset` of its start, raw bytes.

    `data` is None when the line is longer than the reader's limit (it was skipped, `size`
    bytes long) so one enormous line cannot exhaust memory.
    """

    number: int
    offset: int
    data: bytes | None
    size: int


def iter_lines(stream: BinaryIO, max_bytes: int) -> Iterator[Line]:
    """Lines of a binary stream with their offsets; lines over `max_bytes` come back empty."""
    offset, number = 0, 0
    while True:
        data = stream.readline(max_bytes + 1)
        if not data:
            return
        number += 1
        size = len(data)
        if size > max_bytes:
            while not data.endswith(b"\n"):
                data = stream.readline(_CHUNK)
                if not data:
                    break
                size += len(data)
            yield Line(number, offset, None, size)
        else:
            yield Line(number, offset, data, size)
        offset += size
