"""The build's passes over document parts (`pipeline.parts`), and the steps between them.

    parts ─ pass (decisions in, per-document stages, keys out) ─ parts ─ ... ─ final pass
                        ▲                                   │                    └─ shards
                        └── global step on keys (decisions routed to parts) ◄┘

A pass is one `ParDo` over parts: each worker streams one part's documents from its spill,
rejects those the previous global step removed (`PartRemoval`), runs the per-document stages in
order
(`document_step()` of their composites: `setup()` and `process(doc)` yielding `("kept", doc)` or
`("rejected", Rejected)`), emits each surviving document's keys for the next global step
(emitters, which also get what the previous step asked of the document: `PartRequest`), and
spills the survivors (or, in the final pass, writes them as document shards). Rejects are
written per part and stage by the pass that made them. Only parts, keys and decisions cross a
shuffle. A stage without `document_step` (one that still needs all documents at once) gets
them read from the parts (`read_part`), and `RegroupParts` turns its output into parts again.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

import apache_beam as beam

from crawl2gpt.core.beam_utils import SplitByTag, staged_file
from crawl2gpt.core.key_files import KeyFiles, KeyWriter
from crawl2gpt.core.records import Document, PartRemoval, PartRequest, Rejected
from crawl2gpt.core.shards import (
    ShardConfig,
    ShardWriter,
    ShardWriters,
    bucket_of,
    document_row,
    rejected_row,
)
from crawl2gpt.pipeline.parts import Part, part_key, read_part, read_part_rejects, spill, spill_path

KEPT, REJECTED = "kept", "rejected"
PASS_OUTPUTS = ("part", "keys", "shard", "tokens")

# (doc, part key, payloads of the requests for the doc) → ("keys", row) pairs for the next
# global step. An emitter may have a `setup()`, called once per worker.
Emitter = Callable[[Document, str, list], Iterable[tuple[str, Any]]]


@dataclass
class PassPlan:
    """What one pass does to each document of a part, in this order."""

    name: str
    steps: list[Any] = field(default_factory=list)
    """Per-document stage steps (`document_step()` of the stage composites)."""
    emitters: list[Emitter] = field(default_factory=list)
    tokenize: Any = None
    """The final pass's tokenizer step (`TokenizeFn`): token rows out, the document stays."""
    shards: ShardConfig = field(default_factory=ShardConfig)
    final: bool = False
    """The final pass writes document shards instead of a spill."""
    key_files: KeyFiles | None = None
    """Where the emitters' keys go (else into Beam): the pass then outputs, per part, its key
    as "keys" once the part's keys are written."""

    def passes_through(self, has_removals: bool) -> bool:
        """A pass that only emits keys leaves the part as it is (nothing to spill)."""
        return not (self.steps or has_removals or self.final)


class PassFn(beam.DoFn):
    """A part, with the previous global step's decisions by part key (`PartRemoval`,
    `PartRequest`; a side input) → tagged outputs (`PASS_OUTPUTS`)."""

    def __init__(self, plan: PassPlan, staging_dir: str):
        self._plan = plan
        self._staging_dir = staging_dir

    def setup(self) -> None:
        for step in self._steps():
            step.setup()
        for emit in self._plan.emitters:
            if hasattr(emit, "setup"):
                emit.setup()

    def teardown(self) -> None:
        for step in self._steps():
            step.teardown()

    def _steps(self) -> list[Any]:
        return self._plan.steps + ([self._plan.tokenize] if self._plan.tokenize else [])

    def process(self, part: Part, decisions_by_part):
        removals, requests = {}, defaultdict(list)
        for decision in decisions_by_part[part.key]:
            if isinstance(decision, PartRemoval):
                removals[decision.doc_id] = decision
            else:
                requests[decision.doc_id].append(decision.payload)
        files = self._plan.key_files
        self._key_writer = KeyWriter(files, part.key) if files is not None else None
        yield from self._process_part(part, removals, requests)
        if self._key_writer is not None:
            self._key_writer.close()
            yield "keys", part.key

    def _emit(self, doc: Document, part: Part, requests: dict) -> Iterable[tuple[str, Any]]:
        for emit in self._plan.emitters:
            for tag, value in emit(doc, part.key, requests.get(doc.id, [])):
                if tag == "keys" and self._key_writer is not None:
                    self._key_writer.add(value)
                else:
                    yield tag, value

    def _process_part(self, part: Part, removals: dict, requests: dict):
        plan = self._plan
        if plan.passes_through(bool(removals)):
            for doc in read_part(part):
                yield from self._emit(doc, part, requests)
            # The read rejects are written once, by the first pass (later ones never see them).
            rejects = list(read_part_rejects(part))
            for report in write_part_rejects(part, rejects, self._staging_dir, plan.shards):
                yield "shard", report
            yield "part", replace(part, rejected="", rejected_count=0)
            return
        rejects: list[Rejected] = list(read_part_rejects(part))
        survivors = self._survivors(part, removals, rejects)
        if not plan.final:
            emitted: list[tuple[str, Any]] = []
            path = spill_path(self._staging_dir, plan.name, part.key)
            yield "part", spill(part, self._emitting(survivors, part, requests, emitted), path)
            yield from emitted
        else:
            yield from self._write_final(part, survivors, requests, rejects)
        for report in write_part_rejects(part, rejects, self._staging_dir, plan.shards):
            yield "shard", report

    def _survivors(self, part: Part, removals: dict, rejects: list[Rejected]):
        for doc in read_part(part):
            removal = removals.get(doc.id)
            if removal is not None:
                rejects.append(removal.reject(doc))
                continue
            doc = run_steps(doc, self._plan.steps, rejects)
            if doc is not None:
                yield doc

    def _emitting(self, docs, part: Part, requests: dict, emitted: list):
        for doc in docs:
            emitted.extend(self._emit(doc, part, requests))
            yield doc

    def _write_final(self, part: Part, survivors, requests: dict, rejects: list[Rejected]):
        """Each survivor goes, in the part's order, to its bucket's streamed shard."""
        shards = self._plan.shards
        documents = ShardWriters(lambda bucket: ShardWriter(
            kind="documents", source=part.source, stage=None,
            relative_dir=posixpath.join("documents", part.source),
            basename=f"b{bucket:04d}-{part.key}", config=shards,
            open_file=staged_file(self._staging_dir)))
        for doc in survivors:
            yield from self._emit(doc, part, requests)
            if self._plan.tokenize is not None:
                for tag, value in self._plan.tokenize.process(doc):
                    if tag == REJECTED:
                        rejects.append(value)
                    else:
                        yield "tokens", value
            documents.add(bucket_of(doc.id, shards.num_buckets), document_row(doc))
        for report in documents.close():
            yield "shard", report.to_dict()


def run_steps(doc: Document, steps: list[Any], rejects: list[Rejected]) -> Document | None:
    """The document after every step, or None once one rejects it (the reject is added)."""
    for step in steps:
        kept = None
        for tag, value in step.process(doc):
            if tag == REJECTED:
                rejects.append(value)
            else:
                kept = value
        if kept is None:
            return None
        doc = kept
    return doc


def write_part_rejects(part: Part, rejects: list[Rejected], staging_dir: str,
                       shards: ShardConfig) -> Iterable[dict]:
    """One rejected shard per stage that rejected something of the part (in the part's
    order, which is the same on every run)."""
    writers = ShardWriters(lambda key: ShardWriter(
        kind="rejected", source=key[1], stage=key[0],
        relative_dir=posixpath.join("rejected", key[0], key[1]), basename=f"p-{part.key}",
        config=shards, open_file=staged_file(staging_dir)))
    for rej in rejects:
        writers.add((rej.stage, rej.source), rejected_row(rej))
    return [report.to_dict() for report in writers.close()]


def key_decision(decision: PartRemoval | PartRequest) -> tuple[str, Any]:
    return decision.part, decision


class RunPass(beam.PTransform):
    """(parts, decisions) → (parts, keys, shard reports, token rows).

    The decisions reach the parts as a side input looked up by part key (`AsMultiMap`), not
    by a join: on the Dask runner a join puts the decisions' partitions next to the parts'
    ones, so partitions (and tasks) would grow with every pass. The Dask runner computes a side
    input again inside each task that reads it; every file the build writes appears whole
    under its name (`core.files.AtomicFile`) with the same bytes, so a rerun is only time.
    """

    def __init__(self, plan: PassPlan, staging_dir: str):
        super().__init__()
        self._plan = plan
        self._staging_dir = staging_dir

    def expand(self, inputs):
        parts, decisions = inputs
        by_part = beam.pvalue.AsMultiMap(decisions | "KeyDecisions" >> beam.Map(key_decision))
        return (parts
                | "Stream" >> beam.ParDo(PassFn(self._plan, self._staging_dir), by_part)
                | "SplitOutputs" >> SplitByTag(*PASS_OUTPUTS))


def key_by_part(doc: Document) -> tuple[str, Document]:
    return part_key(doc.source, doc.source_file), doc


class SpillGroupFn(beam.DoFn):
    """(part key, documents) → the part spilled again, documents in id order."""

    def __init__(self, staging_dir: str, pass_name: str):
        self._staging_dir = staging_dir
        self._pass_name = pass_name

    def process(self, element):
        key, docs = element
        docs = sorted(docs, key=lambda d: d.id)
        first = docs[0]
        part = Part(key, first.source, first.source_file or "", "", 0)
        yield spill(part, docs, spill_path(self._staging_dir, self._pass_name, key))


class RegroupParts(beam.PTransform):
    """Documents of a stage that needs all of them at once (no `document_step`) → parts
    again, one per input file: the way back into the passes after such a stage."""

    def __init__(self, staging_dir: str, name: str):
        super().__init__()
        self._staging_dir = staging_dir
        self._name = name

    def expand(self, docs):
        return (docs | "KeyByPart" >> beam.Map(key_by_part)
                | "GroupByPart" >> beam.GroupByKey()
                | "SpillParts" >> beam.ParDo(SpillGroupFn(self._staging_dir, self._name)))
