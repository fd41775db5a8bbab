"""A live progress line for long reads: documents read and input MB/s, per worker process."""

from __future__ import annotations

import os
import sys
import time
from typing import BinaryIO


class ProgressLine:
    """Prints `[read pid] N docs, X MB, Y MB/s` to stderr at most every `interval` seconds.

    On a terminal the line is redrawn in place; in a log it is one line per interval.
    """

    def __init__(self, interval: float | None = None, stream=None):
        self._stream = stream or sys.stderr
        tty = getattr(self._stream, "isatty", lambda: False)()
        self._interval = interval if interval is not None else (1.0 if tty else 15.0)
        self._end = "\r" if tty else "\n"
        self._start = self._last = time.monotonic()
        self.documents = 0
        self.bytes = 0
        self._printed = False

    def add_document(self) -> None:
        self.documents += 1
        self._maybe_print()

    def add_bytes(self, n: int) -> None:
        self.bytes += n
        self._maybe_print()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        mb = self.bytes / 1e6
        return (f"[read pid {os.getpid()}] {self.documents:,} docs, {mb:,.1f} MB, "
                f"{mb / elapsed:,.2f} MB/s")

    def _maybe_print(self) -> None:
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._printed = True
            self._stream.write(self.line() + self._end)
            self._stream.flush()

    def finish(self) -> None:
        if self._printed:
            self._stream.write(self.line() + "\n")
            self._stream.flush()


class CountingReader:
    """A read-only stream wrapper that reports bytes read to a progress line."""

    def __init__(self, raw: BinaryIO, progress: ProgressLine):
        self._raw = raw
        self._progress = progress
        self.bytes_read = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self.bytes_read += len(data)
        self._progress.add_bytes(len(data))
        return data

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        self.bytes_read += n or 0
        self._progress.add_bytes(n or 0)
        return n

    def readable(self) -> bool:
        return True

    def __getattr__(self, name):
        return getattr(self._raw, name)
