"""The generated hidden-operation arithmetic corpus: GPT-3's layout, held-out pairs kept out."""

import json
import re

from crawl2gpt.evaluation.harness import evaluate_task
from crawl2gpt.evaluation.synthetic_corpus import (
    choice_records,
    eval_records,
    held_out_pairs,
    problem,
    worksheets,
    write_task_files,
)

SYNTH = "gpt3-synthetic/data"


def first_record(shared_data, name):
    path = shared_data / "benchmarks" / SYNTH / f"{name}.jsonl"
    return json.loads(path.read_text().splitlines()[0])


def test_layout_is_gpt3s_with_the_operation_word_hidden(shared_data):
    # head -1 two_digit_addition.jsonl / two_digit_subtraction.jsonl
    for name, op, word, a, b in (("two_digit_addition", "plus", "plus", 98, 45),
                                 ("two_digit_subtraction", "minus", "minus", 17, 14)):
        record = first_record(shared_data, name)
        context, completion = problem(a, b, op)
        assert context == record["context"].replace(f" {word} ", " @ ")
        assert completion == record["completion"]
    assert problem(25, 48, "minus") == ("\n\nQ: What is 25 @ 48?\n\nA:", " -23")


def test_worksheets_leave_held_out_pairs_out_and_keep_one_operation():
    held_out = held_out_pairs(300, seed=0)
    assert len(set(held_out)) == 300 and all(10 <= a <= 99 and 10 <= b <= 99 for a, b in held_out)
    found = re.compile(r"Q: What is (\d+) @ (\d+)\?\n\nA: (-?\d+)")
    operations = set()
    for sheet in worksheets(200, held_out, seed=0):
        problems = found.findall(sheet)
        assert 20 <= len(problems) <= 40 and sheet.startswith("Q: What is ")
        assert not {(int(a), int(b)) for a, b, _ in problems} & set(held_out)
        results = {int(a) + int(b) == int(c) for a, b, c in problems}
        differences = {int(a) - int(b) == int(c) for a, b, c in problems}
        assert results == {True} or differences == {True}
        operations.add("plus" if results == {True} else "minus")
    assert operations == {"plus", "minus"}


def test_choice_records_offer_both_operations():
    # 48 + 76 = 124, 48 - 76 = -28; choices in the sorted order of the operation names.
    assert choice_records([(48, 76)], "minus") == [
        {"query": "\n\nQ: What is 48 @ 76?\n\nA:", "choices": [" -28", " 124"], "gold": 0}]
    assert choice_records([(48, 76)], "plus")[0]["gold"] == 1
    assert eval_records([(48, 76)], "plus") == [
        {"context": "\n\nQ: What is 48 @ 76?\n\nA:", "completion": " 124"}]


def test_task_files_are_read_by_the_harness(tmp_path, tiny_model):
    tasks = write_task_files(tmp_path, [(48, 76), (20, 11), (93, 15)])
    assert sorted(t.name for t in tasks) == ["hidden_minus", "hidden_minus_choice",
                                             "hidden_plus", "hidden_plus_choice"]
    for task in tasks:
        rows = evaluate_task(tiny_model, task, tmp_path, 1, seed=0)
        assert len(rows) == 3 and all(len(r["shot_ids"]) == 1 for r in rows)
