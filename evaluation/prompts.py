"""Zero-, one- and few-shot prompts (GPT-3 §2.4): a description and/or K solved examples.

For each evaluated example, K conditioning examples are drawn at random from the task's
conditioning set with a generator seeded by (seed, example id), so a prompt never depends on
evaluation order or batching; the evaluated example itself is never drawn. Solved examples
and the evaluated context are joined by the task's delimiter:

    [description + description_delimiter] shot_1 + delimiter + ... + shot_K + delimiter + context

The description is always used at K = 0 and at K > 0 only where the task says so. K = "max"
takes as many examples as fit in the model's context with the longest answer, dropping whole
examples (never cutting one).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crawl2gpt.evaluation.tasks import Example, TaskSpec

MAX_SHOTS = "max"
Fits = Callable[[Sequence[str], Sequence[str]], bool]
"""fits(contexts, continuations): whether every context plus the longest continuation fits."""


@dataclass(frozen=True)
class Prompt:
    contexts: tuple[str, ...]
    """One context, or one per candidate substitution (Winograd)."""
    continuations: tuple[str, ...]
    """The scored continuations (choices), or the reference answer of a free-form task."""
    gold: int
    shot_ids: tuple[str, ...]


def _apply(template: str, context: str) -> str:
    return template.replace("{context}", context)


def contexts_of(task: TaskSpec, record: dict, few_shot: bool) -> list[str]:
    """The example's context(s) written with the task's template."""
    template = (task.few_shot_context_template if few_shot else "") or task.context_template
    if task.format == "winograd":
        return [_apply(template, option) for option in record["context_options"]]
    key = "query" if task.format == "multiple_choice" else "context"
    return [_apply(template, record[key])]


def continuations_of(task: TaskSpec, record: dict) -> tuple[list[str], int]:
    """(continuations, gold index): the choices, or the single reference answer."""
    td = task.target_delimiter
    if task.format == "multiple_choice":
        return [td + c for c in record["choices"]], record["gold"]
    field = {"synthetic": "completion", "lambada": "continuation", "winograd": "continuation",
             "triviaqa": "answer"}[task.format]
    return [td + record[field]], 0


def solved_text(task: TaskSpec, record: dict) -> str:
    """A conditioning example: its (correct) context followed by its correct answer."""
    contexts = contexts_of(task, record, few_shot=True)
    continuations, gold = continuations_of(task, record)
    if task.format == "winograd":
        return contexts[record["gold"]] + continuations[0]
    return contexts[0] + continuations[gold]


def build_prompt(task: TaskSpec, example: Example, shots: Sequence[Example]) -> Prompt:
    few_shot = bool(shots)
    head = task.delimiter.join(solved_text(task, s.record) for s in shots)
    if few_shot:
        head += task.delimiter
    if task.description and (not few_shot or task.description_in_few_shot):
        head = task.description + task.description_delimiter + head
    continuations, gold = continuations_of(task, example.record)
    if task.format == "winograd":
        gold = example.record["gold"]
    contexts = tuple(head + c for c in contexts_of(task, example.record, few_shot))
    return Prompt(contexts, tuple(continuations), gold, tuple(s.id for s in shots))


def _rng(seed: int, example_id: str) -> random.Random:
    digest = hashlib.blake2b(f"{seed}\x00{example_id}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def draw_shots(pool: Sequence[Example], example_id: str, count: int, seed: int
               ) -> list[Example]:
    """`count` examples of `pool` in random order, seeded by (seed, example id), without it.

    A lazy Fisher-Yates shuffle: a smaller count gives a prefix of a larger one's draw, so the
    one-shot example is the first of the ten-shot examples.
    """
    rng = _rng(seed, example_id)
    n = len(pool)
    moved: dict[int, int] = {}
    drawn = []
    for i in range(min(count + 1, n)):
        j = rng.randrange(i, n)
        drawn.append(moved.get(j, j))
        moved[j] = moved.get(i, i)
    return [e for e in (pool[d] for d in drawn) if e.id != example_id][:count]


def select_shots(task: TaskSpec, example: Example, pool: Sequence[Example], k: int | str,
                 seed: int, fits: Fits | None = None, max_candidates: int = 2048
                 ) -> list[Example]:
    """K conditioning examples; K = "max": the most (of `max_candidates`) that `fits` allows."""
    if k == MAX_SHOTS:
        if fits is None:
            raise ValueError("K = 'max' needs a fits(contexts, continuations) check")
        candidates = draw_shots(pool, example.id, max_candidates, seed)
        lo, hi = 0, len(candidates)  # the largest n with a fitting prompt; length grows with n
        while lo < hi:
            mid = (lo + hi + 1) // 2
            prompt = build_prompt(task, example, candidates[:mid])
            if fits(prompt.contexts, prompt.continuations):
                lo = mid
            else:
                hi = mid - 1
        return candidates[:lo]
    if not isinstance(k, int) or k < 0:
        raise ValueError(f"K must be a non-negative integer or {MAX_SHOTS!r}, got {k!r}")
    shots = draw_shots(pool, example.id, k, seed)
    if len(shots) < k:
        raise ValueError(f"task {task.name!r}: K = {k} but the conditioning set has only "
                         f"{len(shots)} other examples")
    return shots


def parse_shots(text: str) -> list[int | str]:
    """"0,1,10,max" -> [0, 1, 10, "max"]."""
    out: list[int | str] = []
    for part in text.split(","):
        part = part.strip()
        if part == MAX_SHOTS:
            out.append(part)
        elif part.isdigit():
            out.append(int(part))
        else:
            raise ValueError(f"--shots: {part!r} is neither a count nor {MAX_SHOTS!r}")
    return out
