"""Task files load, and example ids are the contamination stage's ids."""

import pytest

from crawl2gpt.dedup.benchmarks import load_benchmark
from crawl2gpt.dedup.contamination_config import ContaminationConfig
from crawl2gpt.evaluation.tasks import TaskError, all_tasks, load_task_file, read_examples


def test_every_task_file_loads_and_names_an_existing_benchmark(benchmarks):
    tasks = all_tasks()
    # 18 synthetic files + 6 multiple choice + 3 lambada-style + 2 winograd + 2 triviaqa
    # (benchmarks/README.md's file tables).
    assert len(tasks) == 31
    for task in tasks.values():
        assert task.resolve(benchmarks).is_file(), task.name


@pytest.mark.parametrize("name, rows", [("copa", 100), ("winograd_wsc", 273),
                                        ("triviaqa_small", 32), ("reversed_words", 10000),
                                        ("lambada_openai_small", 8)])
def test_ids_equal_the_contamination_stage_ids(benchmarks, name, rows):
    task = all_tasks()[name]
    path = task.resolve(benchmarks)
    ours = read_examples(path, task.format)
    theirs = load_benchmark(str(path), ContaminationConfig())
    assert len(ours) == rows  # README row counts
    assert [e.id for e in ours] == [e.id for e in theirs.examples]
    assert [e.line for e in ours] == [e.line for e in theirs.examples]


def test_first_record_is_read_as_stored(benchmarks):
    # zcat gpt3-synthetic/data/reversed_words.jsonl.gz | head -1
    first = read_examples(benchmarks / "gpt3-synthetic/data/reversed_words.jsonl.gz",
                          "synthetic")[0]
    assert first.record == {"context": "\ntaefed =", "completion": " defeat"}


def test_bad_task_definitions_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[task]]\nname = "x"\npath = "x.jsonl"\nformat = "synthetic"\n'
                   'metric = "exact_match"\ncolour = "red"\n')
    with pytest.raises(TaskError, match=r"bad\.toml.*unknown key\(s\) \['colour'\]"):
        load_task_file(bad)
    bad.write_text('[[task]]\nname = "x"\npath = "x.jsonl"\nformat = "multiple_choice"\n'
                   'metric = "acc_uncond"\n')
    with pytest.raises(TaskError, match="bad.toml.*acc_uncond needs answer_context"):
        load_task_file(bad)
