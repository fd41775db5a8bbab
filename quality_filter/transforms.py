"""`FilterQuality`: score every document, keep raw-crawl documents by the paper's rule.

Input `PCollection[Document]`; outputs the documents that go on (every one with
`quality_score` set; reference sources pass unfiltered) and a `Rejected` row per removed raw
document (stage `quality_filter`, reason `quality_filter_pareto` or `quality_filter_threshold`,
with its score). The model loads once per worker (`DoFn.setup`).

    kept, rejected = docs | "FilterQuality" >> FilterQuality(quality_config, build_config)
"""

from __future__ import annotations

from typing import Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from crawl2gpt.core.beam_utils import SplitByTag
from crawl2gpt.core.config import BuildView, ConfigError
from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.quality_filter.classifier import check_model, load_classifier, prepare_text
from crawl2gpt.quality_filter.config import QualityConfig
from crawl2gpt.quality_filter.selection import (
    HISTOGRAM_BINS,
    ScoreHistogram,
    pareto_keep,
    score_bin,
    threshold_keep,
)

STAGE = "quality_filter"


class ScoreQualityFn(beam.DoFn):
    """Set `quality_score` on each document.

    One document per call, not buffered batches: a batching DoFn must flush in
    `finish_bundle`, whose outputs the Dask runner loses (docs/scaling.md). Both backends
    score one document about as fast as one in a batch (fastText predicts line by line; the
    hashing-lr backend skips scikit-learn's per-call validation).
    """

    def __init__(self, config: QualityConfig) -> None:
        self.config = config
        self.truncated = Metrics.counter(STAGE, "quality_filter_truncated_for_scoring")

    def setup(self) -> None:
        self.classifier = load_classifier(self.config.model_path, self.config.backend,
                                          self.config.max_chars)

    def process(self, doc: Document) -> Iterator[Document]:
        features, truncated = prepare_text(doc.text, self.config.max_chars)
        score = float(self.classifier.score_prepared([features])[0])
        meta = doc.meta
        if truncated:
            self.truncated.inc()
            meta = {**meta, "quality_truncated_chars": self.config.max_chars}
        yield doc.replace(quality_score=score, meta=meta)


class SelectQualityFn(beam.DoFn):
    """`("kept", doc)` or `("rejected", Rejected)` per `(scored document, top-fraction cutoff
    bin or None)`; reference documents are always kept.

    Pairs rather than Beam's tagged outputs, which the Dask runner does not split
    (docs/scaling.md); `SplitByTag` separates them.
    """

    def __init__(self, config: QualityConfig, raw_sources: frozenset[str],
                 reference_sources: frozenset[str]) -> None:
        self.config = config
        self.raw_sources = raw_sources
        self.reference_sources = reference_sources
        self.reason = f"{STAGE}_{config.selection}"  # quality_filter_pareto / _threshold
        self.kept = Metrics.counter(STAGE, f"{STAGE}_kept")
        self.removed = Metrics.counter(STAGE, self.reason)

    def process(self, element: tuple[Document, int | None]):
        doc, cutoff_bin = element
        if doc.source in self.reference_sources:
            yield "kept", doc
            return
        if doc.source not in self.raw_sources:
            raise ValueError(f"document {doc.id} has source {doc.source!r}, which is not a "
                             f"source of this build")
        keep, detail = self._verdict(doc, cutoff_bin)
        if keep:
            self.kept.inc()
            yield "kept", doc
        else:
            self.removed.inc()
            yield "rejected", Rejected.of_document(doc, STAGE, self.reason,
                                                   score=doc.quality_score, **detail)

    def _verdict(self, doc: Document, cutoff_bin: int | None) -> tuple[bool, dict]:
        """(keep, detail for the rejected row)."""
        c, score = self.config, doc.quality_score
        if c.selection == "pareto":
            return pareto_keep(score, c.alpha, c.seed, doc.id), {"alpha": c.alpha, "seed": c.seed}
        if c.top_fraction is not None:
            if cutoff_bin is None:
                raise RuntimeError(f"no top-fraction cutoff reached document {doc.id}")
            detail = {"top_fraction": c.top_fraction, "cutoff": cutoff_bin / HISTOGRAM_BINS}
            return score_bin(score) >= cutoff_bin, detail
        return threshold_keep(score, c.threshold), {"threshold": c.threshold}


# The top-fraction cutoff reaches the documents by a join on this many keys, not as a side
# input: on Beam 2.77's Dask runner a side input computed from a collection one or two Maps
# away from its source came out wrong (a count of 140 elements read 164 and 652; measured with
# a LocalCluster of 2 workers). The join shuffles every document once, in this mode only.
CUTOFF_JOIN_KEYS = 256


class ScoreAndSelectFn(beam.DoFn):
    """Score, then select, one document: the stage's per-document form when no global
    cut-off is needed (Pareto, or a fixed threshold)."""

    def __init__(self, score: ScoreQualityFn, select: SelectQualityFn) -> None:
        self.score, self.select = score, select

    def setup(self) -> None:
        self.score.setup()

    def process(self, doc: Document):
        for scored in self.score.process(doc):
            yield from self.select.process((scored, None))


def without_cutoff(doc: Document) -> tuple[Document, None]:
    return doc, None


def key_by_join_key(doc: Document) -> tuple[int, Document]:
    return int(doc.id[:8], 16) % CUTOFF_JOIN_KEYS, doc


def broadcast_cutoff(cutoff_bin: int) -> Iterator[tuple[int, int]]:
    for key in range(CUTOFF_JOIN_KEYS):
        yield key, cutoff_bin


def attach_cutoff(group: tuple[int, dict]) -> Iterator[tuple[Document, int | None]]:
    _, joined = group
    cutoffs = list(joined["cutoff"])
    for doc in joined["docs"]:
        yield doc, (cutoffs[0] if cutoffs else None)


class RawScoreFn(beam.DoFn):
    """The scores of raw-crawl documents (the population `top_fraction` is taken of)."""

    def __init__(self, raw_sources: frozenset[str]) -> None:
        self.raw_sources = raw_sources

    def process(self, doc: Document) -> Iterator[float]:
        if doc.source in self.raw_sources:
            yield doc.quality_score


class TopFractionCutoffFn(beam.CombineFn):
    """The histogram bin above which `fraction` of all raw scores lie (order-independent)."""

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction

    def create_accumulator(self) -> ScoreHistogram:
        return ScoreHistogram()

    def add_input(self, hist: ScoreHistogram, score: float) -> ScoreHistogram:
        hist.counts[score_bin(score)] += 1
        return hist

    def merge_accumulators(self, hists) -> ScoreHistogram:
        merged = ScoreHistogram()
        for hist in hists:
            merged.merge(hist)
        return merged

    def extract_output(self, hist: ScoreHistogram) -> int:
        return hist.top_fraction_cutoff(self.fraction)


class FilterQuality(beam.PTransform):
    """Score with the trained classifier, then select raw documents (Pareto or threshold)."""

    def __init__(self, config: QualityConfig, build_config: BuildView) -> None:
        super().__init__()
        if not config.model_path:
            raise ConfigError("quality_filter.model_path: the quality filter needs a trained "
                              "model (crawl2gpt train-quality)")
        check_model(config.model_path, config.backend)  # fail now, not on a worker
        self.config = config
        self.raw_sources = frozenset(s.name for s in build_config.sources if s.role == "raw")
        self.reference_sources = frozenset(s.name for s in build_config.sources
                                           if s.role == "reference")

    def needs_cutoff(self) -> bool:
        """Whether selection needs one number over all raw scores (the top fraction)."""
        return self.config.selection == "threshold" and self.config.top_fraction is not None

    def document_step(self) -> ScoreAndSelectFn | None:
        """The stage on one document, for the build's passes (None with a global cut-off)."""
        if self.needs_cutoff():
            return None
        return ScoreAndSelectFn(ScoreQualityFn(self.config), SelectQualityFn(
            self.config, self.raw_sources, self.reference_sources))

    def expand(self, docs):
        # Documents with quality_score set (all sources).
        scored = docs | "ScoreQuality" >> beam.ParDo(ScoreQualityFn(self.config))
        # (document, cutoff bin or None) pairs.
        if self.needs_cutoff():
            # One global number: the score bin that keeps the top fraction of raw documents.
            cutoff = (scored
                      | "RawScores" >> beam.ParDo(RawScoreFn(self.raw_sources))
                      | "TopFractionCutoff" >> beam.CombineGlobally(
                          TopFractionCutoffFn(self.config.top_fraction)).without_defaults())
            with_cutoff = ({"docs": scored | "KeyDocs" >> beam.Map(key_by_join_key),
                            "cutoff": cutoff | "BroadcastCutoff" >> beam.FlatMap(broadcast_cutoff)}
                           | "JoinCutoff" >> beam.CoGroupByKey()
                           | "AttachCutoff" >> beam.FlatMap(attach_cutoff))
        else:
            with_cutoff = scored | "NoCutoff" >> beam.Map(without_cutoff)
        # ("kept", Document) and ("rejected", Rejected) pairs, then one collection of each.
        verdicts = with_cutoff | "SelectQuality" >> beam.ParDo(
            SelectQualityFn(self.config, self.raw_sources, self.reference_sources))
        return verdicts | "SplitVerdicts" >> SplitByTag("kept", "rejected")
