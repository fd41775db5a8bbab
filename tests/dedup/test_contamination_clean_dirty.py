"""Evaluation side: benchmarks split into clean and dirty examples against real C4 text.

The expected split comes from a brute force written here: every N-gram of every example (the
whole sequence when shorter than N) as a tuple of words from the character-loop reference,
compared with every n-gram of every training document.
"""

from __future__ import annotations

import gzip
import json

import pytest

from crawl2gpt.core.records import Document
from crawl2gpt.dedup.benchmarks import load_benchmark
from crawl2gpt.dedup.clean_dirty import eval_n, split_clean_dirty, write_splits
from crawl2gpt.dedup.contamination_config import ContaminationConfig
from tests.dedup.test_contamination_reference import reference_words

FILES = ["icl/language_understanding/winogrande.jsonl", "icl/world_knowledge/triviaqa_small.jsonl",
         "icl/commonsense_reasoning/copa.jsonl", "gpt3-synthetic/data/sum_of_digits.jsonl",
         "gpt3-synthetic/data/cycle_letters_in_word.jsonl.gz"]

# A real but spurious collision, reported rather than hidden: sum_of_digits.jsonl line 1807
# ("... of the number 106?" -> " 7", N = 2: "106 7") meets "106.7 million TV homes" in a C4 page
# (found with grep on both files). Short N finds numbers everywhere, as the paper warns.
SUM_OF_DIGITS_IN_C4 = 1


def brute_force_dirty(benchmarks, docs, config) -> dict[str, dict[str, tuple[str, str]]]:
    """benchmark -> example id -> smallest (doc id, gram) over all matches."""
    wanted: dict[int, dict[tuple[str, ...], set[tuple[str, str]]]] = {}
    for b in benchmarks:
        n = eval_n(b, config)
        for e in b.examples:
            for seq in e.sequences:
                length = min(n, len(seq))
                for i in range(len(seq) - length + 1 if seq else 0):
                    wanted.setdefault(length, {}).setdefault(seq[i:i + length], set()).add(
                        (b.name, e.id))
    found: dict[str, dict[str, tuple[str, str]]] = {b.name: {} for b in benchmarks}
    for doc in docs:
        words = [w for w, _, _ in reference_words(doc.text)]
        for length, grams in wanted.items():
            for i in range(len(words) - length + 1):
                for name, example in grams.get(tuple(words[i:i + length]), ()):
                    candidate = (doc.id, " ".join(words[i:i + length]))
                    best = found[name].get(example)
                    found[name][example] = min(best, candidate) if best else candidate
    return found


@pytest.fixture(scope="module")
def data(shared_data):
    cfg = ContaminationConfig()
    benchmarks = [load_benchmark(str(shared_data / "benchmarks" / f), cfg) for f in FILES]
    path = shared_data / "commoncrawl" / "c4" / "c4-sample.00000-of-00001.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        c4 = [Document.create("c4", r["text"], url=r["url"]) for r in map(json.loads, f)]
    return cfg, benchmarks, c4


def test_split_matches_brute_force_and_finds_planted_examples(data, tmp_path):
    cfg, benchmarks, c4 = data
    wino, trivia, _, _, cycle = benchmarks
    planted = {
        # WinoGrande line 1 with other case and punctuation (13-grams, N = 13).
        wino.examples[0].id: "SARAH was a MUCH better surgeon; than Maria, so Maria -- ALWAYS "
                             "got the easier cases!",
        # TriviaQA line 1 is 9 words: its 8-grams (N = 8) are enough.
        trivia.examples[0].id: "Who was the man behind the chipmunks? (David Seville.)",
        # Cycle letters line 1, 2 words, N = 2: the whole example must occur.
        cycle.examples[0].id: "the puzzle asinoc = casino was solved",
    }
    hosts = [d for d in c4[:30] if len(d.text) > 500]
    docs = [Document.create("c4", h.text[:300] + " " + text + " " + h.text[300:], url=f"p{i}")
            for i, (h, text) in enumerate(zip(hosts, planted.values()))] + c4
    records = {r["benchmark"]: r for r in split_clean_dirty(benchmarks, docs, cfg)}
    expected = brute_force_dirty(benchmarks, docs, cfg)
    for b in benchmarks:
        got = {d["id"]: (d["doc_id"], d["ngram"]) for d in records[b.name]["dirty"]}
        assert got == expected[b.name]
        record = records[b.name]  # both lists in file order, together every example once
        assert record["clean_ids"] == [e.id for e in b.examples if e.id not in got]
        assert [d["id"] for d in record["dirty"]] == [e.id for e in b.examples if e.id in got]
        assert record["clean_share"] == len(record["clean_ids"]) / len(b.examples)
    assert set(planted) <= {d["id"] for r in records.values() for d in r["dirty"]}
    assert records["cycle_letters_in_word"]["dirty"][0]["ngram"] == "asinoc casino"
    # Unplanted, C4 alone leaves WinoGrande, TriviaQA, COPA and cycle letters clean. WinoGrande
    # line 2 ("... so Maria always got the harder cases") shares the planted 13-gram "sarah ...
    # so maria always got the", so it is dirty too: 2 WinoGrande examples.
    dirty_counts = {name: len(r["dirty"]) for name, r in records.items()}
    assert dirty_counts == {"winogrande": 2, "triviaqa_small": 1, "copa": 0,
                            "cycle_letters_in_word": 1, "sum_of_digits": SUM_OF_DIGITS_IN_C4}
    assert records["sum_of_digits"]["n"] == 2
    paths = write_splits(records.values(), str(tmp_path))
    assert sorted(paths) == sorted(str(tmp_path / f"{name}.json") for name in records)
    for name, record in records.items():
        with open(tmp_path / f"{name}.json", encoding="utf-8") as f:
            assert json.load(f) == json.loads(json.dumps(record))
