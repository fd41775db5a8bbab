"""The Beam composite that removes a build's exact copies of documents already in previous builds.

`ExactAgainstPrevious` (after exact dedup): a document whose exact-dedup key is in a previous
build's exact index goes. Stages that compare against previous builds bring their own composite
through the stage registry (fuzzy dedup: `crawl2gpt.dedup.incremental`).
"""

from __future__ import annotations

import apache_beam as beam

from crawl2gpt.core.beam_utils import ReadPreviousIndex, SplitByTag, key_row_by
from crawl2gpt.core.manifest import OpenedBuild
from crawl2gpt.core.records import Rejected
from crawl2gpt.pipeline.config import ExactDedupConfig
from crawl2gpt.pipeline.transforms import REJECTED, key_by_text

EXACT_REASON = "exact_dedup_previous_build"


class DropPreviousCopiesFn(beam.DoFn):
    """(exact key, {docs, previous}) → kept documents, or rejects naming the previous copy."""

    def __init__(self, names: list[str]):
        self._names = names

    def process(self, item):
        _, joined = item
        previous = min(joined["previous"], key=lambda r: (r["build"], r["doc_id"]), default=None)
        for doc in joined["docs"]:
            if previous is None:
                yield "kept", doc
            else:
                yield REJECTED, Rejected.of_document(
                    doc, "exact_dedup", EXACT_REASON, previous_id=previous["doc_id"],
                    previous_build=self._names[previous["build"]])


class ExactAgainstPrevious(beam.PTransform):
    """Documents → (documents not in a previous build's exact index, Rejected copies)."""

    def __init__(self, config: ExactDedupConfig, previous: list[OpenedBuild]):
        super().__init__()
        self._config, self._previous = config, previous

    def expand(self, docs):
        keyed = docs | "KeyByTextHash" >> beam.Map(key_by_text, self._config.scope)
        old = (docs.pipeline | "ReadExactIndex" >> ReadPreviousIndex(self._previous, "exact")
               | "KeyIndexByText" >> beam.Map(key_row_by, "key"))
        return ({"docs": keyed, "previous": old}
                | "JoinPrevious" >> beam.CoGroupByKey()
                | "DropPreviousCopies" >> beam.ParDo(DropPreviousCopiesFn(
                    [p.manifest_path for p in self._previous]))
                | "SplitPreviousCopies" >> SplitByTag("kept", REJECTED))
