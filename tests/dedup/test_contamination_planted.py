"""Training-side removal on real Common Crawl text with planted benchmark examples.

Every benchmark in shared/data/benchmarks is indexed. Each result is compared with the
brute-force reference (test_contamination_reference.py); for planted passages the surviving
pieces are also computed by hand from the plant position: everything more than 200 characters
before the first planted word or after the last one survives, nothing else.
"""

from __future__ import annotations

import gzip
import json

import pytest

from crawl2gpt.core.records import Document, derive_id
from crawl2gpt.dedup.benchmarks import load_benchmarks
from crawl2gpt.dedup.contamination import NgramIndex, remove_contamination
from crawl2gpt.dedup.contamination_config import ContaminationConfig
from tests.dedup.test_contamination_reference import (
    reference_filter,
    reference_ngrams,
    reference_words,
)

CC_TEXT = ("commoncrawl", "cc_text", "CC-MAIN-20190717121559-20190717143559-00140.dolma.jsonl.gz")
C4 = ("commoncrawl", "c4", "c4-sample.00000-of-00001.json.gz")
ICL = ("benchmarks", "icl")

# Real overlaps of C4 with BoolQ passages, found by the stage and confirmed with
# `zcat c4-sample...json.gz | grep -i "<phrase>"` against `grep -i "<phrase>" boolq.jsonl`:
# the Second Amendment ("well-regulated militia ... keep and bear arms"), the three titles of
# The Lord of the Rings, and a sentence on rod and cone cells of the human eye.
REAL_OVERLAPS = {
    "https://alpost10nc.org/oratorical-contest/": ["boolq"],
    "http://muehlenbaecker.info/05028-best-selling-books-2012-reviews/": ["boolq"],
    "http://www.eehealthbook.com/health_topic.php?id=YXM1": ["boolq"],
}


def read_jsonl(shared_data, parts):
    with gzip.open(shared_data.joinpath(*parts), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def world(shared_data):
    cfg = ContaminationConfig(benchmarks=[str(shared_data / "benchmarks")])
    benchmarks = load_benchmarks(cfg)
    c4 = [Document.create("c4", r["text"], url=r["url"]) for r in read_jsonl(shared_data, C4)]
    cc = [Document.create("cc_text", r["text"], url=r["metadata"]["url"])
          for r in read_jsonl(shared_data, CC_TEXT)]
    return {"cfg": cfg, "index": NgramIndex.build(benchmarks, 13), "c4": c4, "cc": cc,
            "grams": reference_ngrams(benchmarks, 13), "shared": shared_data}


def icl_record(shared_data, path: str, line: int) -> dict:
    with open(shared_data.joinpath(*ICL, path), encoding="utf-8") as f:
        for number, text in enumerate(f, start=1):
            if number == line:
                return json.loads(text)
    raise AssertionError(f"{path} has no line {line}")


def planted_texts(shared_data) -> dict[str, str]:
    """Benchmark examples as the model sees them (>= 13 words each), from the raw files."""
    lam = icl_record(shared_data, "language_understanding/lambada_openai.jsonl", 11)
    arc = icl_record(shared_data, "world_knowledge/arc_easy.jsonl", 1)
    wino = icl_record(shared_data, "language_understanding/winogrande.jsonl", 1)
    piqa = icl_record(shared_data, "commonsense_reasoning/piqa.jsonl", 1)
    boolq = icl_record(shared_data, "reading_comprehension/boolq.jsonl", 1)
    return {
        "lambada_openai": lam["context"] + " " + lam["continuation"],
        "arc_easy": arc["query"].removeprefix("Question: ") + " " + arc["choices"][arc["gold"]],
        "winogrande": wino["context_options"][wino["gold"]] + " " + wino["continuation"],
        "piqa": piqa["query"].removeprefix("Question: ").strip() + " " + piqa["choices"][0],
        "boolq": boolq["query"].removeprefix("Passage: ").split("\nQuestion:")[0],
    }


def disguise(text: str) -> str:
    """Same words, other case and punctuation: 'WHICH, Statement; BEST -- Explains ...'."""
    seps = [", ", "; ", " -- ", " (", ") ", "... ", " \"", "\" "]
    words = [w for w, _, _ in reference_words(text)]
    out = words[0].upper()
    for i, w in enumerate(words[1:], start=1):
        out += seps[i % len(seps)] + (w.upper() if i % 2 else w.title())
    return out + "!!"


def plant(host: str, planted: str, at: float) -> tuple[str, int, int]:
    """`planted` inserted at the first space after fraction `at` of `host`; returns the text and
    the span from the first planted word's start to the last one's end."""
    k = host.find(" ", int(len(host) * at))
    k = len(host) if k < 0 else k
    text = host[:k] + " " + planted + " " + host[k:]
    words = reference_words(planted)
    return text, k + 1 + words[0][1], k + 1 + words[-1][2]


def hand_pieces(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """Pieces left when each span loses 200 chars on both sides (spans sorted, far apart)."""
    cuts = [(max(a - 200, 0), min(b + 200, len(text))) for a, b in spans]
    bounds = [0] + [x for cut in cuts for x in cut] + [len(text)]
    pieces = [text[bounds[i]:bounds[i + 1]].strip() for i in range(0, len(bounds), 2)]
    return [p for p in pieces if len(p) >= 200]


def run_and_compare(world, docs, **limits):
    """Run the stage, check it equals the reference, return {doc id: (verdict, piece texts)}."""
    cfg = ContaminationConfig(**{**world["cfg"].__dict__, **limits})
    result = remove_contamination(docs, world["index"], cfg)
    reference = reference_filter([d.text for d in docs], world["grams"],
                                 max_docs=cfg.max_ngram_docs)
    rejected = {r.doc_id: r for r in result.rejected}
    kept_ids = {d.id for d in result.kept}
    outcome = {}
    for doc, ref in zip(docs, reference):
        pieces = [(p.meta["piece_index"], p.text) for p in result.kept
                  if p.meta.get("parent_id") == doc.id]
        if ref.verdict == "untouched":
            assert doc.id in kept_ids and doc.id not in rejected
        else:
            row = rejected[doc.id]
            assert (row.reason, pieces) == (f"contamination_{ref.verdict}", ref.pieces)
            assert row.detail["chars_removed"] == ref.chars_removed
            assert row.detail["piece_ids"] == [derive_id(doc.id, f"piece-{i}") for i, _ in pieces]
        outcome[doc.id] = (ref.verdict, [t for _, t in pieces], rejected.get(doc.id))
    return outcome


def grams_of(text: str) -> set[tuple[str, ...]]:
    words = [w for w, _, _ in reference_words(text)]
    return {tuple(words[i:i + 13]) for i in range(len(words) - 12)}


def test_planted_examples_are_found_and_cut(world):
    texts = planted_texts(world["shared"])
    hosts = [d for d in world["c4"][100:160] if len(d.text) > 1500 and d.url not in REAL_OVERLAPS]
    plants = [("lambada_openai", texts["lambada_openai"]),
              ("winogrande", disguise(texts["winogrande"])),
              ("arc_easy", texts["arc_easy"]), ("piqa", disguise(texts["piqa"]))]
    docs, expected = [], {}
    for host, (name, planted) in zip(hosts, plants):
        text, a, b = plant(host.text, planted, 0.5)
        docs.append(Document.create("c4", text, url=f"planted:{name}"))
        expected[docs[-1].id] = (name, planted, hand_pieces(text, [(a, b)]))
    long_host = "\n\n".join(d.text for d in world["cc"][:60])  # ~200,000 chars
    middle, a1, b1 = plant(long_host, texts["boolq"], 0.5)
    text, a0, b0 = plant(middle, texts["lambada_openai"], 0.0002)  # window clipped at char 0
    a1, b1 = a1 + len(text) - len(middle), b1 + len(text) - len(middle)
    docs.append(Document.create("cc_text", text, url="planted:long"))
    expected[docs[-1].id] = ("boolq", texts["boolq"], hand_pieces(text, [(a0, b0), (a1, b1)]))
    controls = hosts[len(plants):]
    outcome = run_and_compare(world, docs + controls)
    for doc in docs:
        name, planted, pieces = expected[doc.id]
        verdict, kept, row = outcome[doc.id]
        assert verdict == "split" and kept == pieces and len(kept) >= 1
        assert name in row.detail["benchmarks"]
        assert not any(grams_of(piece) & grams_of(planted) for piece in kept)
    assert all(outcome[d.id][0] == "untouched" for d in controls) and len(controls) >= 15


def test_common_crawl_alone_is_clean_except_real_overlaps(world):
    docs = world["c4"] + world["cc"]
    outcome = run_and_compare(world, docs)
    touched = {d.url: outcome[d.id][2].detail["benchmarks"] for d in docs
               if outcome[d.id][0] != "untouched"}
    assert touched == REAL_OVERLAPS


def test_ngram_in_more_than_ten_documents_is_ignored(world):
    texts = planted_texts(world["shared"])
    gram = " ".join(texts["lambada_openai"].split()[:16])  # >= 13 words of one example
    hosts = [d for d in world["c4"][200:300]
             if len(d.text) > 1000 and d.url not in REAL_OVERLAPS][:21]
    docs = [Document.create("c4", plant(h.text, gram, 0.5)[0], url=f"g{i}")
            for i, h in enumerate(hosts)]
    eleven = run_and_compare(world, docs[:11])
    assert {v[0] for v in eleven.values()} == {"untouched"}
    ten = run_and_compare(world, docs[11:])
    assert {v[0] for v in ten.values()} == {"split"}
    five = run_and_compare(world, docs[11:16], max_ngram_docs=4)
    assert {v[0] for v in five.values()} == {"untouched"}


def test_five_megabyte_document(world):
    texts = planted_texts(world["shared"])
    body = "\n\n".join(d.text for d in world["cc"])
    host = body + "\n\n" + body  # cc_text has no benchmark 13-gram (test above)
    text, spans = host, []
    for at, name in [(0.99, "arc_easy"), (0.5, "boolq"), (0.01, "lambada_openai")]:
        planted, a, b = plant(text, texts[name], at)  # each before the earlier ones: shift them
        shift = len(planted) - len(text)
        spans = [(a, b)] + [(x + shift, y + shift) for x, y in spans]
        text = planted
    assert len(text) >= 5_000_000
    outcome = run_and_compare(world, [Document.create("cc_text", text, url="book")])
    [(verdict, kept, row)] = outcome.values()
    assert verdict == "split" and kept == hand_pieces(text, spans)
    assert sorted(row.detail["benchmarks"]) == ["arc_easy", "boolq", "lambada_openai"]
