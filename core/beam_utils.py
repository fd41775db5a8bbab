"""Beam helpers every layer may use: multi-output steps that give the same result on every
runner, the reading of a previous build's index rows, steps over key ranges
(`core.key_files`), and files written into the build's staging folder.

Beam's tagged outputs (`ParDo(...).with_outputs(...)`) are not split on the Dask runner of
apache-beam 2.77: every output receives every element (reproduction in docs/scaling.md). So a
DoFn with several outputs yields `(tag, value)` pairs and `SplitByTag` selects each tag with a
plain FlatMap, which every runner executes correctly.
"""

from __future__ import annotations

from typing import Any, BinaryIO, Callable, Iterable

import apache_beam as beam

from crawl2gpt.core.config import join_inside
from crawl2gpt.core.files import AtomicFile
from crawl2gpt.core.key_files import KeyFiles
from crawl2gpt.core.manifest import OpenedBuild, read_index_rows


def select_tag(element: tuple[str, Any], tag: str) -> Iterable[Any]:
    if element[0] == tag:
        yield element[1]


class SplitByTag(beam.PTransform):
    """A PCollection of `(tag, value)` pairs → one PCollection of values per tag, in order."""

    def __init__(self, *tags: str):
        super().__init__()
        self._tags = tags

    def expand(self, tagged):
        return tuple(tagged | f"Select{tag.title().replace('_', '')}"
                     >> beam.FlatMap(select_tag, tag) for tag in self._tags)


class ReadPreviousIndex(beam.PTransform):
    """The rows of one index kind (`exact`, `bands`) of every previous build, each with
    `build` set to the build's number in `previous`."""

    def __init__(self, previous: list[OpenedBuild], kind: str):
        super().__init__()
        self._files = [(i, kind, path) for i, prev in enumerate(previous)
                       for path in prev.index_files(kind)]

    def expand(self, pbegin):
        return (pbegin
                | "ListIndexFiles" >> beam.Create(self._files)
                | "ReadIndexFile" >> beam.FlatMap(read_index_rows))


def key_row_by(row: dict, field: str) -> tuple:
    return row[field], row


def key_row_by_band(row: dict) -> tuple:
    return (row["band"], row["band_hash"]), row


def ranges_after(_written: list, ranges: int) -> Iterable[int]:
    yield from range(ranges)


class ForEachRange(beam.PTransform):
    """Runs `fn` (`process(range)`) once per key range of `files`, after every writer of the
    key files is done: the input (one element per writer, e.g. the part keys a pass wrote keys
    for) is gathered first and the ranges are made from it, so the order is a data dependency.
    (Not a side input: the Dask runner would run a side input's lineage again inside the
    task, beside the writers.)"""

    def __init__(self, files: KeyFiles, fn: beam.DoFn):
        super().__init__()
        self._files, self._fn = files, fn

    def expand(self, written):
        return (written
                | "AllWritten" >> beam.combiners.ToList()
                | "Ranges" >> beam.FlatMap(ranges_after, self._files.ranges)
                | "PerRange" >> beam.ParDo(self._fn))


def staged_file(staging_dir: str) -> Callable[[str], BinaryIO]:
    """`open_file` for `core.shards.ShardWriter`: files under the build's staging folder."""
    def open_file(relative_path: str) -> BinaryIO:
        return AtomicFile(join_inside(staging_dir, relative_path))
    return open_file
