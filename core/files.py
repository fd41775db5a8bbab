"""Files that appear whole or not at all: written under a unique temporary name, renamed into
place when closed.

A task may run twice at once (the Dask runner recomputes the lineage of a side input inside
the task that reads it; runners retry tasks): both runs write the same bytes, and with unique
temporary names neither clobbers the other's half-written file, and a reader never sees one.
"""

from __future__ import annotations

import uuid
from typing import BinaryIO

from apache_beam.io.filesystems import FileSystems


class AtomicFile:
    """A writable file for `path` (any Beam filesystem), complete on disk only once closed."""

    def __init__(self, path: str):
        self.path = path
        self._tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
        self._file: BinaryIO = FileSystems.create(self._tmp)
        self.closed = False

    def write(self, data) -> int:
        return self._file.write(data)

    def tell(self) -> int:
        return self._file.tell()

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self.closed:
            self._file.close()
            FileSystems.rename([self._tmp], [self.path])
            self.closed = True

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
