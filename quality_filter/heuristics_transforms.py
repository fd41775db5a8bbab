"""The heuristic stages as build composites, one per stage:

    IdentifyLanguage  (language_id)    sets language / language_score; per-source keep lists
    ApplyRules        (rules)          Gopher quality + repetition, C4, FineWeb verdicts
    CleanLines        (line_cleanup)   boilerplate and host-repeated lines out (counting pass)
    BlockUrls         (url_blocklist)  URL and domain blocklists
    ScrubPii          (pii)            e-mail / IP / phone → placeholders

Each is `Class(stage_config, build_config)` applied to a `PCollection[Document]` and returns
`(kept, rejected)`; all but `CleanLines` work on one document at a time, which the build runs
inside its passes through `document_step()` (`pipeline.passes`). Documents of sources out of
the stage's scope pass untouched. Removed documents become `Rejected` rows with reason
`<stage>_<why>` (counted downstream); changed documents record the change in `meta`
(`lines_removed`, `pii`). DoFns yield `(tag, value)` pairs split by `SplitByTag` (see
`core/beam_utils.py`).
"""

from __future__ import annotations

from typing import Any, Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics

from crawl2gpt.core.beam_utils import SplitByTag
from crawl2gpt.core.config import BuildView, ConfigError
from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.quality_filter import blocklist, langid, line_cleanup, pii, rules
from crawl2gpt.quality_filter.heuristics_config import (
    BlocklistConfig,
    LanguageIdConfig,
    LineCleanupConfig,
    PiiConfig,
    RulesConfig,
)

KEPT, REJECTED = "kept", "rejected"


def _reject(doc: Document, stage: str, reason: str, **detail: Any) -> tuple[str, Rejected]:
    Metrics.counter(stage, reason).inc()
    return REJECTED, Rejected.of_document(doc, stage, reason, **detail)


class IdentifyLanguageFn(beam.DoFn):
    def __init__(self, config: LanguageIdConfig, in_scope: frozenset[str]):
        self._config = config
        self._in_scope = in_scope

    def setup(self) -> None:
        self._identifier = langid.LanguageIdentifier(self._config.max_chars)

    def process(self, doc: Document) -> Iterable[tuple[str, Any]]:
        if doc.source not in self._in_scope:
            yield KEPT, doc
            return
        guess = self._identifier.identify(doc.text)
        doc = doc.replace(language=guess.language, language_score=guess.score)
        keep, reason = langid.keep_verdict(doc.source, guess, self._config)
        if keep:
            yield KEPT, doc
        else:
            yield _reject(doc, langid.STAGE, reason, language=guess.language, score=guess.score,
                          keep=self._config.keep[doc.source], min_score=self._config.min_score)


class IdentifyLanguage(beam.PTransform):
    """Label every in-scope document with its language; drop those a keep list excludes."""

    def __init__(self, config: LanguageIdConfig, build_config: BuildView):
        super().__init__()
        self._config = config
        self._in_scope = config.applies_to(build_config, langid.STAGE)
        outside = sorted(set(config.keep) - self._in_scope)
        if outside:
            raise ConfigError(f"language_id.keep: source(s) {outside} are not in the stage's "
                              f"scope (unknown, or their role is not in language_id.roles)")

    def document_step(self) -> IdentifyLanguageFn:
        """The stage's work on one document, for the build's passes."""
        return IdentifyLanguageFn(self._config, self._in_scope)

    def expand(self, docs):
        return (docs
                | "Identify" >> beam.ParDo(self.document_step())
                | "SplitLanguages" >> SplitByTag(KEPT, REJECTED))


class ApplyRulesFn(beam.DoFn):
    def __init__(self, config: RulesConfig, in_scope: frozenset[str]):
        self._config = config
        self._in_scope = in_scope
        self._languages = frozenset(config.languages)

    def process(self, doc: Document) -> Iterable[tuple[str, Any]]:
        if doc.source not in self._in_scope or (
                self._languages and doc.language not in self._languages):
            yield KEPT, doc
            return
        verdict = rules.judge(doc.text, self._config)
        yield (KEPT, doc) if verdict.keep else _reject(doc, rules.STAGE, verdict.reason,
                                                       **verdict.detail)


class ApplyRules(beam.PTransform):
    """Reject documents that break a Gopher, C4 or FineWeb rule (one reason each)."""

    def __init__(self, config: RulesConfig, build_config: BuildView):
        super().__init__()
        self._config = config
        self._in_scope = config.applies_to(build_config, rules.STAGE)
        stages = list(build_config.stages)
        if config.languages and ("language_id" not in stages or rules.STAGE in stages
                                 and stages.index("language_id") > stages.index(rules.STAGE)):
            raise ConfigError("rules.languages needs the language_id stage before rules")

    def document_step(self) -> ApplyRulesFn:
        """The stage's work on one document, for the build's passes."""
        return ApplyRulesFn(self._config, self._in_scope)

    def expand(self, docs):
        return (docs
                | "Judge" >> beam.ParDo(self.document_step())
                | "SplitVerdicts" >> SplitByTag(KEPT, REJECTED))


def source_in(doc: Document, sources: frozenset[str], wanted: bool) -> bool:
    return (doc.source in sources) == wanted


def key_by_host(doc: Document) -> tuple[str, Document]:
    """Documents without a host get a key of their own: they share lines with nothing."""
    return line_cleanup.host_of(doc.url) or f"#{doc.id}", doc


def host_line_keys(element: tuple[str, Document]) -> Iterable[tuple[str, int]]:
    host, doc = element
    if not host.startswith("#"):
        for key in sorted(line_cleanup.distinct_line_keys(doc.text)):
            yield host, key


def repeated_line(element: tuple[tuple[str, int], int], min_documents: int
                  ) -> Iterable[tuple[str, int]]:
    (host, key), documents = element
    if documents >= min_documents:
        yield host, key


class CleanLinesFn(beam.DoFn):
    """(host, {"docs": documents, "repeated": line keys}) → cleaned documents or rejects."""

    def __init__(self, config: LineCleanupConfig):
        self._config = config

    def process(self, element: tuple[str, dict[str, Iterable]]) -> Iterable[tuple[str, Any]]:
        _, group = element
        repeated = frozenset(group["repeated"])
        for doc in group["docs"]:
            text, removed = line_cleanup.clean_text(doc.text, self._config, repeated)
            if not removed:
                yield KEPT, doc
                continue
            if len(text) < self._config.min_chars:
                # The row keeps the original text: what was there is what gets inspected.
                why = "empty" if not text else "too_short"
                yield _reject(doc, line_cleanup.STAGE, f"{line_cleanup.STAGE}_{why}",
                              chars=len(text), min_chars=self._config.min_chars,
                              lines_removed=removed)
            else:
                Metrics.counter(line_cleanup.STAGE, "documents_changed").inc()
                yield KEPT, doc.replace(text=text, meta={**doc.meta, "lines_removed": removed})


class CleanLines(beam.PTransform):
    """Remove boilerplate lines and lines repeated across a host's documents.

    Counting pass: each document's distinct lines are keyed by (host, line hash) and counted;
    keys seen in at least `host_min_documents` documents are joined back to the host's
    documents (CoGroupByKey by host), which are then cleaned one by one.
    """

    def __init__(self, config: LineCleanupConfig, build_config: BuildView):
        super().__init__()
        self._config = config
        self._in_scope = config.applies_to(build_config, line_cleanup.STAGE)

    def expand(self, docs):
        passing = docs | "OutOfScope" >> beam.Filter(source_in, self._in_scope, False)
        keyed = (docs
                 | "InScope" >> beam.Filter(source_in, self._in_scope, True)
                 | "KeyByHost" >> beam.Map(key_by_host))
        if self._config.host_min_documents:
            repeated = (keyed
                        | "LineKeys" >> beam.FlatMap(host_line_keys)
                        | "CountDocumentsPerLine" >> beam.combiners.Count.PerElement()
                        | "KeepRepeated" >> beam.FlatMap(repeated_line,
                                                         self._config.host_min_documents))
        else:
            repeated = docs.pipeline | "NoRepeatedLines" >> beam.Create([])
        kept, rejected = ({"docs": keyed, "repeated": repeated}
                          | "JoinByHost" >> beam.CoGroupByKey()
                          | "Clean" >> beam.ParDo(CleanLinesFn(self._config))
                          | "SplitCleaned" >> SplitByTag(KEPT, REJECTED))
        return (kept, passing) | "MergeKept" >> beam.Flatten(), rejected


class BlockUrlsFn(beam.DoFn):
    def __init__(self, patterns: blocklist.Blocklist, in_scope: frozenset[str]):
        self._patterns = patterns
        self._in_scope = in_scope

    def process(self, doc: Document) -> Iterable[tuple[str, Any]]:
        match = self._patterns.match(doc.url) if doc.source in self._in_scope else None
        if match is None:
            yield KEPT, doc
        else:
            yield _reject(doc, "url_blocklist", f"url_blocklist_{match.kind}",
                          pattern=match.pattern)


class BlockUrls(beam.PTransform):
    """Reject documents whose URL or domain is on a blocklist (files read once, here)."""

    def __init__(self, config: BlocklistConfig, build_config: BuildView):
        super().__init__()
        if not (config.urls_file or config.domains_file):
            raise ConfigError("url_blocklist: set urls_file and/or domains_file")
        try:
            self._patterns = blocklist.load_blocklist(config.urls_file, config.domains_file)
        except blocklist.BlocklistError as e:
            raise ConfigError(f"url_blocklist: {e}") from None
        self._in_scope = config.applies_to(build_config, "url_blocklist")

    def document_step(self) -> BlockUrlsFn:
        """The stage's work on one document, for the build's passes."""
        return BlockUrlsFn(self._patterns, self._in_scope)

    def expand(self, docs):
        return (docs
                | "Match" >> beam.ParDo(self.document_step())
                | "SplitBlocked" >> SplitByTag(KEPT, REJECTED))


class ScrubPiiFn(beam.DoFn):
    def __init__(self, config: PiiConfig, in_scope: frozenset[str]):
        self._config = config
        self._in_scope = in_scope

    def process(self, doc: Document) -> Iterable[tuple[str, Any]]:
        if doc.source in self._in_scope:
            text, counts = pii.scrub(doc.text, self._config)
            if counts:
                for kind, n in counts.items():
                    Metrics.counter("pii", kind).inc(n)
                doc = doc.replace(text=text, meta={**doc.meta, "pii": counts})
        yield KEPT, doc


class ScrubPii(beam.PTransform):
    """Replace personal data by placeholders; removes nothing (`rejected` stays empty)."""

    def __init__(self, config: PiiConfig, build_config: BuildView):
        super().__init__()
        self._config = config
        self._in_scope = config.applies_to(build_config, "pii")

    def document_step(self) -> ScrubPiiFn:
        """The stage's work on one document, for the build's passes."""
        return ScrubPiiFn(self._config, self._in_scope)

    def expand(self, docs):
        return (docs
                | "Scrub" >> beam.ParDo(self.document_step())
                | "SplitScrubbed" >> SplitByTag(KEPT, REJECTED))
