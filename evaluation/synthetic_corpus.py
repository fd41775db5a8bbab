"""A generated corpus of one GPT-3 synthetic task family, for checking in-context learning.

The family is two-digit arithmetic (GPT-3's 2D+ and 2D-, §3.9.1) in the paper's layout
("\\n\\nQ: What is 48 plus 76?\\n\\nA: 124"), with one change: the operation word is replaced by
one symbol for both operations. Each training document is a worksheet of a single operation,
drawn per document, so a model can only tell which operation a prompt asks for from the solved
examples before it: with K = 0 it has to guess, with K = 10 it can read the operation off the
examples. That is the gain from in-context examples the paper measures, made large enough for
a small model to show it.

Evaluation problems are pairs (a, b) held out of every training document, for both operations;
one task file per operation, so the K examples drawn from the file share its operation. Each is
written twice: free-form (`eval_records`, exact match on the generated answer, as the paper
scores arithmetic) and as a choice between the two operations' answers (`choice_records`).
"""

from __future__ import annotations

import json
import operator
import random
from collections.abc import Iterator
from pathlib import Path

from crawl2gpt.evaluation.tasks import TaskSpec

OPERATIONS = {"plus": operator.add, "minus": operator.sub}
SYMBOL = "@"
TWO_DIGITS = range(10, 100)


def problem_lines(a: int, b: int, operation: str) -> tuple[str, str]:
    """The question and answer lines, the operation hidden behind SYMBOL."""
    return f"Q: What is {a} {SYMBOL} {b}?", f"A: {OPERATIONS[operation](a, b)}"


def problem(a: int, b: int, operation: str) -> tuple[str, str]:
    """(context, completion) in GPT-3's synthetic layout ("\n\nQ: ...?\n\nA:", " 124")."""
    question, answer = problem_lines(a, b, operation)
    return f"\n\n{question}\n\nA:", answer.removeprefix("A:")


def held_out_pairs(count: int, seed: int) -> list[tuple[int, int]]:
    """`count` distinct two-digit pairs that no training document uses."""
    pairs = [(a, b) for a in TWO_DIGITS for b in TWO_DIGITS]
    return sorted(random.Random(seed).sample(pairs, count))


def eval_records(pairs: list[tuple[int, int]], operation: str) -> list[dict[str, str]]:
    """The held-out pairs as one task file's rows (`context`, `completion`)."""
    return [dict(zip(("context", "completion"), problem(a, b, operation))) for a, b in pairs]


def choice_records(pairs: list[tuple[int, int]], operation: str) -> list[dict]:
    """The held-out pairs as a two-way multiple-choice file: the answer under each operation,
    `gold` the one of `operation`. Scored by log-likelihood (GPT-3's multiple-choice rule), this
    asks only which operation the prompt's examples show, not for exact arithmetic."""
    names = sorted(OPERATIONS)
    return [{"query": problem(a, b, operation)[0],
             "choices": [problem(a, b, name)[1] for name in names],
             "gold": names.index(operation)} for a, b in pairs]


def worksheets(count: int, held_out: list[tuple[int, int]], seed: int,
               problems: tuple[int, int] = (20, 40)) -> Iterator[str]:
    """`count` training documents: each a run of problems of one operation drawn for it."""
    excluded = set(held_out)
    train_pairs = [(a, b) for a in TWO_DIGITS for b in TWO_DIGITS if (a, b) not in excluded]
    names = sorted(OPERATIONS)
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")
        operation = rng.choice(names)
        chosen = rng.choices(train_pairs, k=rng.randint(*problems))
        yield "".join(c + d for c, d in (problem(a, b, operation) for a, b in chosen)).lstrip()



def write_task_files(folder: str | Path, pairs: list[tuple[int, int]]) -> list[TaskSpec]:
    """Both files of each operation under `folder`, and the tasks that read them: free-form
    `hidden_<operation>` (exact match) and `hidden_<operation>_choice` (accuracy)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tasks = []
    for operation in sorted(OPERATIONS):
        for suffix, rows in (("", eval_records(pairs, operation)),
                             ("_choice", choice_records(pairs, operation))):
            name = f"hidden_{operation}{suffix}"
            (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            fmt, metric = ("multiple_choice", "acc") if suffix else ("synthetic", "exact_match")
            tasks.append(TaskSpec(name=name, path=f"{name}.jsonl", format=fmt, metric=metric,
                                  delimiter="", target_delimiter="", max_new_tokens=6))
    return tasks
