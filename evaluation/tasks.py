"""Task definitions (`evaluation/tasks/*.toml`) and benchmark files read into examples.

A task names a benchmark file (relative to the benchmarks folder, `../shared/data/benchmarks`),
its format, and how the paper prompts and scores it (GPT-3 §2.4, recipe §5):

| format            | fields                                  | scored by                          |
|-------------------|-----------------------------------------|------------------------------------|
| `synthetic`       | `context`, `completion`                 | generated answer, exact match      |
| `multiple_choice` | `query`, `choices`, `gold`              | choice log-likelihoods             |
| `lambada`         | `context`, `continuation`               | last word is the greedy output     |
| `winograd`        | `context_options`, `continuation`, `gold` | partial scoring of continuation |
| `triviaqa`        | `context`, `answer`, `aliases`          | generated answer vs aliases        |

Example ids are `dedup.benchmarks.example_id(<file name without extension>, record, k)`, the ids
of the contamination stage's clean/dirty lists. A task file holds `[[task]]` tables; unknown
keys are errors naming the file.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawl2gpt.dedup.benchmarks import FORMATS, benchmark_name, example_id, read_records

TASKS_DIR = Path(__file__).parent / "tasks"
METRICS = {
    "synthetic": ("exact_match",),
    "multiple_choice": ("acc", "acc_norm", "acc_char", "acc_uncond"),
    "lambada": ("acc",),
    "winograd": ("acc",),
    "triviaqa": ("alias_match", "exact_match", "f1"),
}


class TaskError(ValueError):
    """A task definition or benchmark file is wrong; the message names the file."""


@dataclass(frozen=True)
class TaskSpec:
    name: str
    path: str
    """Evaluated file, relative to the benchmarks folder (or absolute)."""
    format: str
    metric: str
    """The headline metric (all of the format's metrics are reported)."""
    fewshot_path: str = ""
    """File the conditioning examples come from; empty: the evaluated file itself."""
    description: str = ""
    """Natural-language task description, always used at K = 0."""
    description_in_few_shot: bool = False
    """Keep the description when K > 0 too (some of the paper's tasks do)."""
    description_delimiter: str = "\n"
    delimiter: str = "\n\n"
    """Between conditioning examples and before the evaluated one."""
    target_delimiter: str = " "
    """Between a context and its answer (choice, continuation, answer)."""
    context_template: str = "{context}"
    """How an example's context (query) is written, e.g. "{context}\nAnswer:"."""
    few_shot_context_template: str = ""
    """The template when K > 0 (empty: `context_template`), e.g. LAMBADA's fill-in-the-blank
    "{context} ____. ->" (GPT-3 §3.1.2)."""
    answer_context: str = ""
    """For `acc_uncond`: P(choice | context) / P(choice | answer_context) (ARC, OpenBookQA)."""
    max_new_tokens: int = 16
    stop: tuple[str, ...] = ("\n",)
    source: str = field(default="", compare=False)
    """The task file this definition came from."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "stop", tuple(self.stop))
        where = self.source or self.name
        if self.format not in METRICS:
            raise TaskError(f"{where}: task {self.name!r}: unknown format {self.format!r}; "
                            f"known: {sorted(METRICS)}")
        if self.metric not in METRICS[self.format]:
            raise TaskError(f"{where}: task {self.name!r}: metric {self.metric!r} is not one of "
                            f"{list(METRICS[self.format])}")
        if self.metric == "acc_uncond" and not self.answer_context:
            raise TaskError(f"{where}: task {self.name!r}: acc_uncond needs answer_context")
        for template in ("context_template", "few_shot_context_template"):
            value = getattr(self, template)
            if value and "{context}" not in value:
                raise TaskError(f"{where}: task {self.name!r}: {template} must contain "
                                f"{{context}}")

    def resolve(self, benchmarks_dir: str | Path, which: str = "path") -> Path:
        return Path(benchmarks_dir) / getattr(self, which)


@dataclass(frozen=True)
class Example:
    id: str
    line: int
    record: dict[str, Any]


def load_task_file(path: str | Path) -> list[TaskSpec]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise TaskError(f"{path}: invalid TOML: {e}") from None
    known = {f.name for f in dataclasses.fields(TaskSpec)} - {"source"}
    tasks = []
    for i, table in enumerate(data.get("task", [])):
        unknown = sorted(set(table) - known)
        if unknown:
            raise TaskError(f"{path}: task #{i + 1}: unknown key(s) {unknown}; known: "
                            f"{sorted(known)}")
        try:
            tasks.append(TaskSpec(**table, source=str(path)))
        except TypeError as e:
            raise TaskError(f"{path}: task #{i + 1}: {e}") from None
    return tasks


def all_tasks(folder: str | Path = TASKS_DIR) -> dict[str, TaskSpec]:
    """Every task defined in the folder's `*.toml` files, by name (names must be unique)."""
    tasks: dict[str, TaskSpec] = {}
    for path in sorted(Path(folder).glob("*.toml")):
        for task in load_task_file(path):
            if task.name in tasks:
                raise TaskError(f"{path}: task {task.name!r} is also defined in "
                                f"{tasks[task.name].source}")
            tasks[task.name] = task
    return tasks


def select_tasks(names: list[str], folder: str | Path = TASKS_DIR) -> list[TaskSpec]:
    known = all_tasks(folder)
    missing = [n for n in names if n not in known]
    if missing:
        raise TaskError(f"unknown task(s) {missing}; known: {', '.join(sorted(known))}")
    return [known[n] for n in names]


def read_examples(path: str | Path, fmt: str) -> list[Example]:
    """Every record of a benchmark file with its contamination-stage id, in file order."""
    path = str(path)
    try:
        _, _, records, _, _ = read_records(path, fmt, FORMATS[fmt])
    except FileNotFoundError:
        raise TaskError(f"{path}: benchmark file not found") from None
    name = benchmark_name(path)
    seen: dict[str, int] = {}
    examples = []
    for line, record in records:
        base = example_id(name, record)
        occurrence = seen.get(base, 0)
        seen[base] = occurrence + 1
        examples.append(Example(example_id(name, record, occurrence), line, record))
    return examples
