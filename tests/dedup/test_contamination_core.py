"""Core of the contamination stage: normalisation, benchmark ingestion, ids, N, cutting rules.

Expected values come from the benchmark README (row counts), the files themselves (first lines
read with head/zcat), OpenAI's published 13-grams, hand counts, or the character-loop
reference in test_contamination_reference.py.
"""

from __future__ import annotations

import gzip
import json

import pytest

from crawl2gpt.core.config import ConfigError
from crawl2gpt.dedup.benchmarks import BenchmarkError, example_id, load_benchmark, strip_scaffolding
from crawl2gpt.dedup.clean_dirty import eval_n
from crawl2gpt.dedup.contamination import cut_document
from crawl2gpt.dedup.contamination_config import ContaminationConfig
from crawl2gpt.dedup.ngrams import ngram_hash, normalize, normalized_words
from crawl2gpt.pipeline.config import load_build_config
from tests.dedup.test_contamination_reference import reference_words

ICL = ("benchmarks", "icl")
SYNTH = ("benchmarks", "gpt3-synthetic", "data")


def bench_path(shared_data, *parts):
    return str(shared_data.joinpath(*parts))


# Source phrases of three lines of gpt3-synthetic/overlap_frequency.md (OpenAI's 13-grams).
PUBLISHED = {
    "Didn't think you'd be here. I didn't think I'd":
        "didn t think you d be here i didn t think i d",
    "the Department of the Army, Department of Defense, or the U.S. Government":
        "the department of the army department of defense or the u s government",
    "in Dulbecco's modified Eagle medium (DMEM) supplemented with 10% fetal bovine serum":
        "in dulbecco s modified eagle medium dmem supplemented with 10 fetal bovine serum",
}


def test_normalisation_reproduces_openais_published_13grams(shared_data):
    published = (shared_data / "benchmarks" / "gpt3-synthetic" / "overlap_frequency.md").read_text()
    for source, gram in PUBLISHED.items():
        assert gram in published
        assert normalize(source).words == gram.split()
    assert normalize("Didn't U.S.", punctuation="delete").words == ["didnt", "us"]


def test_normalisation_agrees_with_character_loop_and_maps_back(shared_data):
    path = shared_data / "commoncrawl" / "cc_text" / \
        "CC-MAIN-20190717121559-20190717143559-00140.dolma.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:  # multilingual page text (README)
        texts = [json.loads(line)["text"] for _, line in zip(range(150), f)]
    for text in texts:
        words = normalize(text)
        assert list(zip(words.words, words.starts.tolist(), words.ends.tolist())) == \
            reference_words(text)
        assert normalized_words(text) == words.words
        assert normalized_words(text, "delete") == normalize(text, "delete").words


def test_formats_counts_and_sequences_by_hand(shared_data):
    cfg = ContaminationConfig()
    # Row counts from benchmarks/README.md; first records read with head / zcat.
    copa = load_benchmark(bench_path(shared_data, *ICL, "commonsense_reasoning", "copa.jsonl"), cfg)
    assert (copa.format, len(copa.examples)) == ("multiple_choice", 100)
    assert copa.examples[0].sequences == (
        tuple("the man turned on the faucet therefore the toilet filled with water".split()),
        tuple("the man turned on the faucet therefore water flowed from the spout".split()))
    add = load_benchmark(bench_path(shared_data, *SYNTH, "two_digit_addition.jsonl"), cfg)
    assert (add.format, len(add.examples), add.synthetic) == ("synthetic", 2000, True)
    assert add.examples[0].sequences == (("98", "plus", "45", "143"),)  # "Q: What is ... A:" gone
    assert add.scaffolding["context"] == {"labels": ["A", "Q"], "prefix": "what is", "suffix": ""}
    cycle = load_benchmark(bench_path(shared_data, *SYNTH, "cycle_letters_in_word.jsonl.gz"), cfg)
    assert len(cycle.examples) == 10000 and cycle.examples[0].sequences == (("asinoc", "casino"),)
    wsc = load_benchmark(bench_path(shared_data, *ICL, "language_understanding",
                                    "winograd_wsc.jsonl"), cfg)
    assert (wsc.format, len(wsc.examples)) == ("winograd", 273)
    assert wsc.examples[0].sequences[1] == tuple(
        "the city councilmen refused the demonstrators a permit because the demonstrators "
        "feared violence".split())
    trivia = load_benchmark(bench_path(shared_data, *ICL, "world_knowledge",
                                       "triviaqa_small.jsonl"), cfg)
    assert (trivia.format, len(trivia.examples)) == ("triviaqa", 32)
    assert trivia.examples[0].sequences == (
        tuple("who was the man behind the chipmunks david seville".split()),)
    lambada = load_benchmark(bench_path(shared_data, *ICL, "language_understanding",
                                        "lambada_openai_small.jsonl"), cfg)
    assert (lambada.format, len(lambada.examples)) == ("lambada", 8)
    # '... I don't care about' + 'signs': the continuation ends the sequence.
    assert lambada.examples[0].sequences[0][-6:] == ("i", "don", "t", "care", "about", "signs")
    with open(bench_path(shared_data, *ICL, "reading_comprehension", "boolq.jsonl")) as f:
        query = json.loads(f.readline())["query"]  # "Passage: ...\nQuestion: does ethanol ..."
    assert normalize(query).words[0] == "passage" and "question" in normalize(query).words
    # Labels in every value are scaffolding, wherever the line starts, not only as a prefix.
    stripped, info = strip_scaffolding([query, "Passage: x\nQuestion: y?"], "split")
    assert info["labels"] == ["Passage", "Question"] and "question" not in stripped[0]
    assert stripped[1] == ["x", "y"]
    assert strip_scaffolding(["Note: a b", "c d"], "split")[1]["labels"] == []


def test_generic_mapping_and_bad_lines(tmp_path):
    good = {"question": "Who wrote Hamlet?", "answer": "Shakespeare", "source": "quiz"}
    path = tmp_path / "quiz.jsonl"
    path.write_text(json.dumps(good) + "\n" + '{"question": "x", "answer": "y"}\n')
    cfg = ContaminationConfig(generic_fields={"quiz": ["question", "answer"]},
                              generic_ignored_fields={"quiz": ["source"]})
    quiz = load_benchmark(str(path), cfg)
    assert quiz.format == "generic"
    assert [e.sequences for e in quiz.examples] == [(("who", "wrote", "hamlet", "shakespeare"),),
                                                     (("x", "y"),)]
    with pytest.raises(BenchmarkError, match=r"quiz\.jsonl:1: unknown field\(s\) \['source'\]"):
        load_benchmark(str(path), ContaminationConfig(generic_fields={"quiz": ["question",
                                                                               "answer"]}))
    bad = tmp_path / "lambada_bad.jsonl"
    bad.write_text('{"context": "a b", "continuation": "c"}\n{"context": "a b"\n'
                   '{"context": "a", "continuation": "c", "extra": 1}\n'
                   '{"context": "d e", "continuation": "f"}\n')
    with pytest.raises(BenchmarkError, match=r"lambada_bad\.jsonl:2: invalid JSON"):
        load_benchmark(str(bad), ContaminationConfig())
    skipped = load_benchmark(str(bad), ContaminationConfig(on_bad_line="skip"))
    assert (skipped.skipped_lines, [e.line for e in skipped.examples]) == (2, [1, 4])
    assert "lambada_bad.jsonl:3: unknown field(s) ['extra']" in skipped.problems[1]
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"prompt": "a", "target": "b"}\n')
    with pytest.raises(BenchmarkError, match=r"odd\.jsonl:1: fields \['prompt', 'target'\] match"):
        load_benchmark(str(odd), ContaminationConfig())


def test_example_ids_are_content_based_and_tell_duplicates_apart(shared_data):
    a = {"context": "Q: 86 + 33 =", "continuation": "119"}
    assert example_id("x", a) == example_id("x", dict(reversed(list(a.items()))))
    assert example_id("x", a) != example_id("y", a)
    path = bench_path(shared_data, *ICL, "symbolic_problem_solving",
                      "bigbench_simple_arithmetic.jsonl")
    bench = load_benchmark(path, ContaminationConfig())
    # 60 rows, 30 of them repeats of earlier rows (counted with sort | uniq -d on the file).
    ids = [e.id for e in bench.examples]
    assert len(ids) == 60 and len(set(ids)) == 60
    with open(path) as f:
        first = json.loads(f.readline())
    assert ids[0] == example_id("bigbench_simple_arithmetic", first)


def test_eval_n_percentile_and_clamps(tmp_path, shared_data):
    path = tmp_path / "lengths.jsonl"  # example k has k words, k = 1..40
    path.write_text("".join(json.dumps({"text": " ".join(f"w{k}x{i}" for i in range(k))}) + "\n"
                            for k in range(1, 41)))
    cfg = ContaminationConfig(generic_fields={"lengths": ["text"]})
    bench = load_benchmark(str(path), cfg)
    assert eval_n(bench, cfg) == 8  # nearest rank ceil(0.05 * 40) = 2 -> 2 words, clamped to 8
    bench.synthetic = True
    assert eval_n(bench, cfg) == 2
    assert eval_n(bench, ContaminationConfig(eval_n={"lengths": 5})) == 5
    cfg = ContaminationConfig()
    arithmetic = load_benchmark(bench_path(shared_data, *SYNTH, "three_digit_addition.jsonl"), cfg)
    assert eval_n(arithmetic, cfg) == 4  # "556 plus 497 1053": 4 words in every example
    insertion_path = bench_path(shared_data, *SYNTH, "random_insertion_in_word.jsonl.gz")
    with gzip.open(insertion_path, "rt") as f:
        lengths = sorted(len(reference_words(r["context"])) + len(reference_words(r["completion"]))
                         for r in map(json.loads, f))
    insertion = load_benchmark(insertion_path, cfg)
    assert eval_n(insertion, cfg) == min(max(lengths[500 - 1], 1), 13)  # rank 0.05 * 10000


def _doc_with_hits(count: int, gap: str) -> tuple[str, set[int]]:
    """`count` copies of the 3-gram "qa qb qc" separated by `gap`."""
    return gap.join(["qa qb qc"] * count), {ngram_hash(("qa", "qb", "qc"))}


def test_pieces_are_counted_before_short_ones_are_dropped():
    cfg = ContaminationConfig(ngram=3, window_chars=2, min_piece_chars=50, max_pieces=10)
    # By hand: each 8-char "qa qb qc" loses 2 chars on each side, so 11 non-overlapping cuts leave
    # 10 inner pieces of 14 z's plus a lead and a tail of 16 y's: 12 pieces, all under 50.
    text, hits = _doc_with_hits(11, " " + "z" * 16 + " ")
    text = "y" * 16 + "   " + text + "   " + "y" * 16
    result = cut_document(text, hits, cfg)
    assert (len(result.windows), len(result.pieces), result.verdict) == (11, 12, "too_many_pieces")
    text, hits = _doc_with_hits(9, " " + "z" * 16 + " ")
    result = cut_document(text, hits, cfg)  # 8 short pieces between 9 cuts: nothing left
    assert (len(result.pieces), result.verdict, result.chars_removed) == (8, "no_piece_left",
                                                                          len(text))


def test_overlapping_windows_merge_into_one_cut():
    cfg = ContaminationConfig(ngram=3, window_chars=5, min_piece_chars=3)
    # By hand: the words run qa 6-8 ... qc 21-23; the four 3-gram windows [1,19) [4,22) [7,25)
    # [10,28) merge into [1,28), which ends right after "tail"; the lead piece "x" is too short.
    text = "xxxxx " + "qa qb qc qa qb qc" + " tail of the doc that stays"
    hits = {ngram_hash(g) for g in [("qa", "qb", "qc"), ("qb", "qc", "qa"), ("qc", "qa", "qb")]}
    result = cut_document(text, hits, cfg)
    assert result.windows == [(1, 28)] and len(result.pieces) == 2
    assert [text[p.start:p.end] for p in result.kept] == ["of the doc that stays"]


def test_config_validation_and_build_config_table(tmp_path):
    with pytest.raises(ConfigError, match="contamination.mode"):
        ContaminationConfig(mode="broadcast")
    with pytest.raises(ConfigError, match="contamination.ngram"):
        ContaminationConfig(ngram=0)
    toml = tmp_path / "build.toml"
    toml.write_text('stages = ["contamination"]\n[[sources]]\nname = "web"\nrole = "raw"\n'
                    'inputs = ["x.jsonl"]\nformat = "jsonl"\n'
                    '[contamination]\nngram = 12\nmode = "keyed_join"\neval_n = {piqa = 9}\n')
    cfg = load_build_config(str(toml)).stage_config("contamination")
    assert (cfg.ngram, cfg.mode, cfg.eval_n, cfg.window_chars) == (12, "keyed_join",
                                                                    {"piqa": 9}, 200)


def test_core_modules_do_not_import_beam():
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "dedup"
    for name in ("ngrams", "benchmarks", "contamination", "contamination_config", "clean_dirty"):
        assert "apache_beam" not in (root / f"{name}.py").read_text(encoding="utf-8"), name
