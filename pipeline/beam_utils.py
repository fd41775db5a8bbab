"""Multi-output steps that give the same result on every runner.

Beam's tagged outputs (`ParDo(...).with_outputs(...)`) are not split on the Dask runner of
apache-beam 2.77: every output receives every element (reproduction in docs/scaling.md). So a
DoFn with several outputs yields `(tag, value)` pairs and `SplitByTag` selects each tag with a
plain FlatMap, which every runner executes correctly.
"""

from __future__ import annotations

from typing import Any, Iterable

import apache_beam as beam


def select_tag(element: tuple[str, Any], tag: str) -> Iterable[Any]:
    if element[0] == tag:
        yield element[1]


class SplitByTag(beam.PTransform):
    """A PCollection of `(tag, value)` pairs → one PCollection of values per tag, in order."""

    def __init__(self, *tags: str):
        super().__init__()
        self._tags = tags

    def expand(self, tagged):
        return tuple(tagged | f"Select{tag.title().replace('_', '')}" >> beam.FlatMap(select_tag, tag)
                     for tag in self._tags)
