"""Prompt construction, against golden strings written by hand from the paper's formats (GPT-3
§2.4, Appendix G) and the benchmark records (copied with `head`/`zcat` from the files)."""

import pytest

from crawl2gpt.evaluation.prompts import build_prompt, draw_shots, parse_shots, select_shots
from crawl2gpt.evaluation.tasks import Example, all_tasks, read_examples

TASKS = all_tasks()
COPA = [  # head -3 icl/commonsense_reasoning/copa.jsonl
    {"query": "The man turned on the faucet, therefore", "gold": 1,
     "choices": ["the toilet filled with water.", "water flowed from the spout."]},
    {"query": "The girl found a bug in her cereal, therefore", "gold": 1,
     "choices": ["she poured milk in the bowl.", "she lost her appetite."]},
    {"query": "The woman retired, therefore", "gold": 0,
     "choices": ["she received her pension.", "she paid off her mortgage."]},
]


def examples(records):
    return [Example(f"id{i}", i + 1, r) for i, r in enumerate(records)]


def prompt_for(task, records, k, seed=0):
    pool = examples(records)
    return build_prompt(TASKS[task], pool[0], select_shots(TASKS[task], pool[0], pool, k, seed))


def test_multiple_choice_zero_and_one_shot():
    zero = prompt_for("copa", COPA[:1], 0)
    assert zero.contexts == ("The man turned on the faucet, therefore",)
    assert zero.continuations == (" the toilet filled with water.", " water flowed from the spout.")
    assert zero.gold == 1
    one = prompt_for("copa", COPA[:2], 1)
    assert one.contexts == (("The girl found a bug in her cereal, therefore she lost her appetite."
                             "\n\nThe man turned on the faucet, therefore"),)
    assert one.shot_ids == ("id1",)


def test_k_shots_are_the_other_examples_joined_by_the_delimiter():
    pool = examples(COPA)
    shots = select_shots(TASKS["copa"], pool[0], pool, 2, seed=0)
    assert sorted(s.id for s in shots) == ["id1", "id2"]
    solved = {"id1": "The girl found a bug in her cereal, therefore she lost her appetite.",
              "id2": "The woman retired, therefore she received her pension."}
    expected = "\n\n".join([solved[s.id] for s in shots]
                           + ["The man turned on the faucet, therefore"])
    assert build_prompt(TASKS["copa"], pool[0], shots).contexts == (expected,)


def test_arithmetic_examples_join_with_no_delimiter():
    # head -2 gpt3-synthetic/data/two_digit_addition.jsonl
    records = [{"context": "\n\nQ: What is 98 plus 45?\n\nA:", "completion": " 143"},
               {"context": "\n\nQ: What is 95 plus 58?\n\nA:", "completion": " 153"}]
    assert prompt_for("two_digit_addition", records, 0).contexts == (
        "\n\nQ: What is 98 plus 45?\n\nA:",)
    one = prompt_for("two_digit_addition", records, 1)
    assert one.contexts == ("\n\nQ: What is 95 plus 58?\n\nA: 153\n\nQ: What is 98 plus 45?\n\nA:",)
    assert one.continuations == (" 143",)


def test_word_task_description_at_zero_shot_only():
    # zcat gpt3-synthetic/data/reversed_words.jsonl.gz | head -2
    records = [{"context": "\ntaefed =", "completion": " defeat"},
               {"context": "\ndenrecnoc =", "completion": " concerned"}]
    assert prompt_for("reversed_words", records, 0).contexts == (
        "Please unscramble the letters into a word, and write that word:\ntaefed =",)
    assert prompt_for("reversed_words", records, 1).contexts == (
        "\ndenrecnoc = concerned\ntaefed =",)


def test_winograd_one_shot_scores_each_substitution():
    # head -2 icl/language_understanding/winograd_wsc.jsonl
    options = ["The city councilmen refused the demonstrators a permit because the city councilmen",
               "The city councilmen refused the demonstrators a permit because the demonstrators"]
    records = [{"context_options": options, "continuation": "feared violence.", "gold": 0},
               {"context_options": options, "continuation": "advocated violence.", "gold": 1}]
    one = prompt_for("winograd_wsc", records, 1)
    shot = ("The city councilmen refused the demonstrators a permit because the demonstrators"
            " advocated violence.\n\n")
    assert one.contexts == (shot + options[0], shot + options[1])
    assert one.continuations == (" feared violence.",) and one.gold == 0


def test_lambada_is_fill_in_the_blank_with_shots():
    # The paper's own example (§3.1.2): "Alice was friends with Bob. ... her friend ___. -> Bob".
    records = [{"context": "George bought some baseball equipment, a ball, a glove, and a",
                "continuation": "bat"},
               {"context": "Alice was friends with Bob. Alice went to visit her friend",
                "continuation": "Bob"}]
    assert prompt_for("lambada_openai", records, 0).contexts == (records[0]["context"],)
    one = prompt_for("lambada_openai", records, 1)
    assert one.contexts == (("Alice was friends with Bob. Alice went to visit her friend ____. -> "
                             "Bob\n\nGeorge bought some baseball equipment, a ball, a glove, and "
                             "a ____. ->"),)
    assert one.continuations == (" bat",)


def test_arc_adds_the_answer_prompt():
    record = {"query": "Question: Which statement best explains why photosynthesis is the "
              "foundation of most food webs?", "gold": 0,
              "choices": ["Sunlight is the source of energy for nearly all ecosystems.", "b"]}
    zero = prompt_for("arc_easy", [record], 0)
    assert zero.contexts == (("Question: Which statement best explains why photosynthesis is the "
                              "foundation of most food webs?\nAnswer:"),)
    assert zero.continuations[0] == " Sunlight is the source of energy for nearly all ecosystems."
    assert TASKS["arc_easy"].answer_context == "Answer:"


def test_draws_are_seeded_per_example_and_never_the_example(benchmarks):
    task = TASKS["copa"]
    pool = read_examples(task.resolve(benchmarks), task.format)
    for e in pool:
        shots = draw_shots(pool, e.id, 10, seed=1)
        assert len(shots) == 10 and e.id not in {s.id for s in shots}
        assert len({s.id for s in shots}) == 10
        assert shots == draw_shots(pool, e.id, 10, seed=1)
        assert draw_shots(pool, e.id, 1, seed=1) == shots[:1]  # one-shot: the first of ten
    firsts = {draw_shots(pool, e.id, 1, seed=1)[0].id for e in pool}
    assert len(firsts) > 30  # each example gets its own draw
    assert any(draw_shots(pool, e.id, 10, 1) != draw_shots(pool, e.id, 10, 2) for e in pool)


def test_too_few_examples_for_k_is_an_error():
    pool = examples(COPA)
    with pytest.raises(ValueError, match="only 2 other examples"):
        select_shots(TASKS["copa"], pool[0], pool, 3, seed=0)


def test_max_shots_drops_whole_examples_until_the_prompt_fits(benchmarks):
    task = TASKS["copa"]
    pool = read_examples(task.resolve(benchmarks), task.format)

    def fits(contexts, continuations, limit=600):  # characters stand in for tokens
        return max(map(len, contexts)) + max(map(len, continuations)) <= limit

    for e in pool[:5]:
        shots = select_shots(task, e, pool, "max", seed=3, fits=fits)
        prompt = build_prompt(task, e, shots)
        assert fits(prompt.contexts, prompt.continuations)
        longer = build_prompt(task, e, draw_shots(pool, e.id, len(shots) + 1, seed=3))
        assert not fits(longer.contexts, longer.continuations)
        assert shots == draw_shots(pool, e.id, len(shots), seed=3)  # a prefix of the draw
        assert len(shots) >= 5  # COPA examples are ~70 characters: several fit


def test_parse_shots():
    assert parse_shots("0, 1,10,max") == [0, 1, 10, "max"]
    with pytest.raises(ValueError, match="'ten'"):
        parse_shots("ten")
