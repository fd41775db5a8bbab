"""Training-side benchmark contamination removal, GPT-3 Appendix C, as plain Python.

1. Every 13-gram of every benchmark example goes into an index (hash -> benchmarks).
2. Counting pass: for each benchmark 13-gram, the number of training documents containing it.
   A 13-gram in more than 10 documents is ignored (the paper found cultural phrases and legal
   boilerplate there, which the model should learn).
3. In each document with a remaining collision, each colliding 13-gram is cut out with 200
   characters on each side, measured in the original text (words map back to characters).
   Overlapping or touching windows are merged first, so a pasted passage makes one cut.
4. What lies between cuts is a piece (surrounding whitespace stripped; empty ones are none).
   More than 10 pieces: the document is removed whole. Otherwise pieces under 200 characters
   are dropped and the rest become new documents.

Pieces are counted BEFORE short ones are dropped: the count stands for the number of separate
contaminated regions, which is what the rule is about. Counted after, a document riddled with
collisions close together would keep few (or no) long pieces and pass, so the rule would spare
exactly the most contaminated documents. A long book with a few far-apart collisions keeps its
long pieces either way (the paper's own filter failed on such long documents; nothing here
depends on document length).

Input and output are `core.records.Document` / `Rejected`; no Beam here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from crawl2gpt.core.records import Document, Rejected, derive_id
from crawl2gpt.dedup.benchmarks import Benchmark
from crawl2gpt.dedup.contamination_config import ContaminationConfig
from crawl2gpt.dedup.ngrams import (
    Words,
    find_in_sorted,
    ngram_hashes,
    normalize,
    sequence_ngrams,
    word_hashes,
)

STAGE = "contamination"
NGRAMS_IN_DETAIL = 50  # matched n-grams listed in a rejected row (all are counted)


def benchmark_ngrams(benchmark: Benchmark, n: int) -> tuple[str, np.ndarray]:
    """(benchmark name, sorted distinct hashes of its n-grams)."""
    hashes, _ = sequence_ngrams([s for e in benchmark.examples for s in e.sequences], n)
    return benchmark.name, np.unique(hashes)


@dataclass(frozen=True)
class NgramIndex:
    """Sorted distinct benchmark n-gram hashes and, per hash, the benchmarks that contain it."""

    hashes: np.ndarray  # (k,) uint64, sorted
    owners: np.ndarray  # (k,) int64 index into owner_sets
    owner_sets: tuple[tuple[str, ...], ...]

    @classmethod
    def build(cls, benchmarks: Iterable[Benchmark], n: int) -> NgramIndex:
        return cls.from_arrays([benchmark_ngrams(b, n) for b in benchmarks])

    @classmethod
    def from_arrays(cls, named: list[tuple[str, np.ndarray]]) -> NgramIndex:
        """From each benchmark's (name, distinct hashes)."""
        names = [name for name, _ in named]
        parts = [hashes for _, hashes in named]
        all_hashes = np.concatenate(parts) if parts else np.empty(0, np.uint64)
        bench = np.repeat(np.arange(len(names)), [len(p) for p in parts])
        hashes, inverse, counts = np.unique(all_hashes, return_inverse=True, return_counts=True)
        owners = np.empty(len(hashes), dtype=np.int64)
        owners[inverse] = bench
        owner_sets = [(name,) for name in names]
        shared: dict[int, set[str]] = {}
        for pos in np.nonzero(counts[inverse] > 1)[0]:  # hashes in several benchmarks
            shared.setdefault(int(inverse[pos]), set()).add(names[bench[pos]])
        ids: dict[tuple[str, ...], int] = {}
        for slot, owner_names in shared.items():
            key = tuple(sorted(owner_names))
            if key not in ids:
                ids[key] = len(owner_sets)
                owner_sets.append(key)
            owners[slot] = ids[key]
        return cls(hashes, owners, tuple(owner_sets))

    def __len__(self) -> int:
        return len(self.hashes)

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """The distinct positions into `self.hashes` of the query hashes present."""
        lo, hi = find_in_sorted(self.hashes, hashes)
        return np.unique(lo[hi > lo])

    def benchmarks_of(self, slot: int) -> tuple[str, ...]:
        return self.owner_sets[self.owners[slot]]


def document_ngrams(text: str, config: ContaminationConfig) -> tuple[Words, np.ndarray]:
    words = normalize(text, config.punctuation)
    return words, ngram_hashes(word_hashes(words.words), config.ngram)


def collisions(text: str, index: NgramIndex, config: ContaminationConfig
               ) -> list[tuple[int, tuple[str, ...]]]:
    """Distinct benchmark n-grams of `text`: sorted (hash, benchmark names)."""
    _, hashes = document_ngrams(text, config)
    return [(int(index.hashes[s]), index.benchmarks_of(s)) for s in index.find(hashes).tolist()]


@dataclass(frozen=True)
class Piece:
    index: int  # position among all pieces of the document, in text order
    start: int
    end: int


@dataclass
class CutResult:
    verdict: str  # "split", "too_many_pieces" or "no_piece_left"
    windows: list[tuple[int, int]]
    pieces: list[Piece]
    kept: list[Piece]
    ngrams: list[str]
    chars_removed: int


def merged_windows(words: Words, positions: np.ndarray, n: int, window: int,
                   text_length: int) -> list[tuple[int, int]]:
    """Character windows [start, end) around the n-grams starting at `positions`, merged."""
    starts = np.maximum(words.starts[positions] - window, 0)
    ends = np.minimum(words.ends[positions + n - 1] + window, text_length)
    merged: list[list[int]] = []
    for a, b in sorted(zip(starts.tolist(), ends.tolist())):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def split_pieces(text: str, windows: list[tuple[int, int]]) -> list[Piece]:
    """The non-empty stretches outside `windows`, surrounding whitespace stripped."""
    pieces, cursor = [], 0
    for a, b in windows + [(len(text), len(text))]:
        start, end = cursor, a
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            pieces.append(Piece(len(pieces), start, end))
        cursor = b
    return pieces


def cut_document(text: str, hit_hashes: Iterable[int], config: ContaminationConfig
                 ) -> CutResult:
    """Cut every n-gram of `text` whose hash is in `hit_hashes` (ignored ones already left out)."""
    words, hashes = document_ngrams(text, config)
    positions = np.nonzero(np.isin(hashes, np.fromiter(hit_hashes, dtype=np.uint64)))[0]
    windows = merged_windows(words, positions, config.ngram, config.window_chars, len(text))
    pieces = split_pieces(text, windows)
    ngrams = sorted({" ".join(words.words[i:i + config.ngram]) for i in positions.tolist()})
    if len(pieces) > config.max_pieces:
        return CutResult("too_many_pieces", windows, pieces, [], ngrams, len(text))
    kept = [p for p in pieces if p.end - p.start >= config.min_piece_chars]
    verdict = "split" if kept else "no_piece_left"
    removed = len(text) - sum(p.end - p.start for p in kept)
    return CutResult(verdict, windows, pieces, kept, ngrams, removed)


def piece_documents(doc: Document, result: CutResult) -> list[Document]:
    """The kept pieces as new documents (ids derived from the parent's)."""
    return [doc.replace(id=derive_id(doc.id, f"piece-{p.index}"), text=doc.text[p.start:p.end],
                        meta={**doc.meta, "parent_id": doc.id, "piece_index": p.index,
                              "piece_span": [p.start, p.end]})
            for p in result.kept]


def rejected_row(doc: Document, result: CutResult, benchmarks: list[str],
                 pieces: list[Document]) -> Rejected:
    """The row recording the original document, replaced by its pieces or dropped."""
    return Rejected.of_document(
        doc, STAGE, f"{STAGE}_{result.verdict}", benchmarks=benchmarks,
        ngrams=result.ngrams[:NGRAMS_IN_DETAIL], ngram_count=len(result.ngrams),
        chars_removed=result.chars_removed, pieces=len(result.pieces),
        piece_ids=[p.id for p in pieces])


def report_counts(doc: Document, result: CutResult, benchmarks: list[str]
                  ) -> list[tuple[tuple[str, str], dict[str, int]]]:
    """Report rows ((kind, name), counters) for one touched document.

    Per source the rows add up; per benchmark, a document hit by two benchmarks counts (with all
    its removed characters) for both.
    """
    counts = {"docs_touched": 1, "docs_dropped": int(not result.kept),
              "chars_removed": result.chars_removed, "pieces_kept": len(result.kept)}
    return [(("source", doc.source), counts)] + [(("benchmark", b), counts) for b in benchmarks]


def process_touched(doc: Document, hits: list[tuple[int, tuple[str, ...]]],
                    config: ContaminationConfig
                    ) -> tuple[list[Document], Rejected, list[tuple[tuple[str, str], dict]]]:
    """Cut one document with its (non-ignored) collisions: pieces, rejected row, report rows."""
    benchmarks = sorted({b for _, names in hits for b in names})
    result = cut_document(doc.text, (h for h, _ in hits), config)
    pieces = piece_documents(doc, result)
    return pieces, rejected_row(doc, result, benchmarks, pieces), report_counts(
        doc, result, benchmarks)


def sum_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    """Add report counters (associative: usable as a Beam combiner)."""
    total: Counter = Counter()
    for c in counts:
        total.update(c)
    return dict(sorted(total.items()))


def report_dict(row: tuple[tuple[str, str], dict[str, int]]) -> dict:
    (kind, name), counts = row
    return {"kind": kind, "name": name, **counts}


def merge_counts(rows: Iterable[tuple[tuple[str, str], dict[str, int]]]) -> list[dict]:
    """Sum report rows per (kind, name) into dicts sorted by kind and name."""
    grouped: dict[tuple[str, str], list[dict[str, int]]] = {}
    for key, counts in rows:
        grouped.setdefault(key, []).append(counts)
    return [report_dict((key, sum_counts(c))) for key, c in sorted(grouped.items())]


@dataclass
class StageResult:
    kept: list[Document] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    report: list[dict] = field(default_factory=list)


def remove_contamination(docs: Iterable[Document], index: NgramIndex,
                         config: ContaminationConfig) -> StageResult:
    """The whole stage over an in-memory collection (counting pass, then cutting)."""
    docs = list(docs)
    found = [collisions(d.text, index, config) for d in docs]
    doc_counts = Counter(h for hits in found for h, _ in hits)
    out, report = StageResult(), []
    for doc, hits in zip(docs, found):
        hits = [(h, names) for h, names in hits if doc_counts[h] <= config.max_ngram_docs]
        if not hits:
            out.kept.append(doc)
            continue
        pieces, rejected, rows = process_touched(doc, hits, config)
        out.kept += pieces
        out.rejected.append(rejected)
        report += rows
    out.report = merge_counts(report)
    return out
