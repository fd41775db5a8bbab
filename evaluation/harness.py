"""Evaluate a model on tasks at several K: per-example rows, summaries, clean/dirty subsets.

The only module here that drives a model (through `LogLikelihoodModel`). For each task and K,
every example gets its prompt (`prompts`), all log-likelihood requests of all examples go to
the model in one batched call, free-form answers are generated, and `scoring` turns the
numbers into predictions. With a build's contamination lists
(`<build>/contamination/clean_dirty/<benchmark>.json`), each example is marked clean or dirty
and every metric is reported on both subsets too (GPT-3 Appendix C).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from crawl2gpt.dedup.benchmarks import benchmark_name
from crawl2gpt.evaluation.models import LogLikelihoodModel
from crawl2gpt.evaluation.prompts import MAX_SHOTS, Prompt, build_prompt, select_shots
from crawl2gpt.evaluation.scoring import (
    ChoiceScore,
    choice_predictions,
    exact_match,
    free_form_metrics,
    mean_and_ci95,
)
from crawl2gpt.evaluation.tasks import METRICS, Example, TaskSpec, read_examples

SUBSETS = ("all", "clean", "dirty")


@dataclass(frozen=True)
class ContaminationLists:
    """One benchmark's clean and dirty example ids, as the contamination stage wrote them."""

    path: str
    clean: frozenset[str]
    dirty: frozenset[str]

    @classmethod
    def load(cls, build_dir: str | Path, benchmark: str) -> ContaminationLists | None:
        path = Path(build_dir) / "contamination" / "clean_dirty" / f"{benchmark}.json"
        if not path.is_file():
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
        return cls(str(path), frozenset(record["clean_ids"]),
                   frozenset(d["id"] for d in record["dirty"]))

    def subset(self, example_id: str) -> str:
        if example_id in self.dirty:
            return "dirty"
        if example_id in self.clean:
            return "clean"
        raise ValueError(f"{self.path}: example {example_id} is in neither list; the lists "
                         f"were made from another version of the benchmark file")


def _fits(model: LogLikelihoodModel, task: TaskSpec):
    """The K = "max" check: every context plus the longest answer (or generation) fits."""
    generates = task.format in ("synthetic", "triviaqa")

    def fits(contexts, continuations) -> bool:
        answer = task.max_new_tokens if generates else max(
            len(model.encode(c)) for c in continuations)
        return max(len(model.encode(c)) for c in contexts) + answer <= model.n_ctx
    return fits


def make_prompts(model: LogLikelihoodModel, task: TaskSpec, examples: list[Example],
                 pool: list[Example], k: int | str, seed: int) -> list[Prompt]:
    fits = _fits(model, task) if k == MAX_SHOTS else None
    return [build_prompt(task, e, select_shots(task, e, pool, k, seed, fits)) for e in examples]


def _requests(task: TaskSpec, prompt: Prompt) -> list[tuple[str, str]]:
    """(context, continuation) text pairs to score for one prompt, in a fixed layout."""
    if task.format == "winograd":
        return [(c, prompt.continuations[0]) for c in prompt.contexts]
    pairs = [(prompt.contexts[0], c) for c in prompt.continuations]
    if task.format == "multiple_choice" and task.answer_context:
        pairs += [(task.answer_context, c) for c in prompt.continuations]
    return pairs


def score_prompts(model: LogLikelihoodModel, task: TaskSpec, examples: list[Example],
                  prompts: list[Prompt], decoding: str = "greedy") -> list[dict]:
    """Per example: the numbers behind the prediction, the prediction and its correctness."""
    if task.format in ("synthetic", "triviaqa"):
        return _generated_rows(model, task, examples, prompts, decoding)
    return _choice_rows(model, task, prompts)


def _generated_rows(model: LogLikelihoodModel, task: TaskSpec, examples: list[Example],
                    prompts: list[Prompt], decoding: str) -> list[dict]:
    """Free-form answers: greedy or beam decoding, exact match (synthetic) or aliases."""
    contexts = [model.encode(p.contexts[0]) for p in prompts]
    if decoding == "beam":
        outputs = [model.beam_generate(c, task.max_new_tokens, task.stop) for c in contexts]
    else:
        outputs = model.greedy_generate(contexts, task.max_new_tokens, task.stop)
    rows = []
    for e, p, out in zip(examples, prompts, outputs):
        if task.format == "synthetic":
            correct = {"exact_match": float(exact_match(out, e.record["completion"]))}
        else:
            correct = free_form_metrics(out, e.record["answer"], e.record["aliases"])
        rows.append({"prediction": out, "gold": p.continuations[0], "correct": correct})
    return rows


def _choice_rows(model: LogLikelihoodModel, task: TaskSpec, prompts: list[Prompt]
                 ) -> list[dict]:
    """Scored continuations: choices (multiple choice, Winograd) or LAMBADA's last word."""
    pairs = [_requests(task, p) for p in prompts]
    flat = [(model.encode(c), model.encode(x)) for ps in pairs for c, x in ps]
    results = iter(model.loglikelihood(flat))
    token_counts = iter([len(x) for _, x in flat])
    rows = []
    for p, ps in zip(prompts, pairs):
        scored = [(next(results), next(token_counts)) for _ in ps]
        if task.format == "lambada":
            (ll, greedy), _ = scored[0]
            rows.append({"loglikelihoods": [ll], "prediction": "greedy" if greedy else "other",
                         "gold": p.continuations[0], "correct": {"acc": float(greedy)}})
            continue
        n = len(p.contexts) if task.format == "winograd" else len(p.continuations)
        texts = ([p.continuations[0]] * n if task.format == "winograd" else p.continuations)
        uncond = [s[0][0] for s in scored[n:]] or [None] * n
        choices = [ChoiceScore(s[0][0], s[1], len(t), u)
                   for s, t, u in zip(scored[:n], texts, uncond)]
        predictions = choice_predictions(choices)
        metrics = METRICS[task.format] if task.format == "multiple_choice" else ("acc",)
        rows.append({
            "loglikelihoods": [c.loglikelihood for c in choices],
            "tokens": [c.tokens for c in choices],
            "unconditional": uncond if task.answer_context else None,
            "prediction": predictions[task.metric],
            "predictions": predictions, "gold": p.gold,
            "correct": {m: float(predictions[m] == p.gold) for m in metrics
                        if m in predictions}})
    return rows


def evaluate_task(model: LogLikelihoodModel, task: TaskSpec, benchmarks_dir: str | Path,
                  k: int | str, seed: int = 1234, limit: int | None = None,
                  contamination: ContaminationLists | None = None,
                  decoding: str = "greedy") -> list[dict]:
    """Rows for the first `limit` examples of the task's file at K = `k`."""
    examples = read_examples(task.resolve(benchmarks_dir), task.format)
    pool = (read_examples(task.resolve(benchmarks_dir, "fewshot_path"), task.format)
            if task.fewshot_path else examples)
    examples = examples[:limit] if limit else examples
    prompts = make_prompts(model, task, examples, pool, k, seed)
    scored = score_prompts(model, task, examples, prompts, decoding)
    rows = []
    for e, p, s in zip(examples, prompts, scored):
        digest = hashlib.sha256("\x00".join(p.contexts).encode("utf-8")).hexdigest()
        rows.append({"task": task.name, "shots": k, "id": e.id, "line": e.line,
                     "prompt_sha256": digest, "shot_ids": list(p.shot_ids),
                     "subset": contamination.subset(e.id) if contamination else None, **s})
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Per task, K, metric and subset (all / clean / dirty): mean, 95 % CI half-width, n."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        for metric, value in r["correct"].items():
            groups[(r["task"], str(r["shots"]), metric, "all")].append(value)
            if r["subset"]:
                groups[(r["task"], str(r["shots"]), metric, r["subset"])].append(value)
    out = []
    for (task, k, metric, subset), values in sorted(groups.items(), key=lambda g: (
            g[0][0], _k_order(g[0][1]), g[0][2], SUBSETS.index(g[0][3]))):
        mean, ci = mean_and_ci95(values)
        out.append({"task": task, "shots": k, "metric": metric, "subset": subset,
                    "value": mean, "ci95": ci, "n": len(values)})
    return out


def _k_order(k: str) -> tuple[int, int]:
    return (1, 0) if k == MAX_SHOTS else (0, int(k))


def format_table(summary: list[dict], headline: dict[str, str]) -> str:
    """One line per task, K and metric: all, clean and dirty values (headline metric marked)."""
    cells: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for s in summary:
        cells[(s["task"], s["shots"], s["metric"])][s["subset"]] = s
    lines = [f"{'task':<28} {'K':>4} {'metric':<12} {'all':>15} {'clean':>15} {'dirty':>15}"]
    for (task, k, metric), by_subset in cells.items():
        mark = "*" if headline.get(task) == metric else " "
        values = [f"{by_subset[x]['value'] * 100:6.2f} (n={by_subset[x]['n']})"
                  if x in by_subset else "-" for x in SUBSETS]
        lines.append(f"{task:<28} {k:>4} {metric + mark:<12} "
                     + " ".join(f"{v:>15}" for v in values))
    return "\n".join(lines)


def run_eval(model: LogLikelihoodModel, tasks: list[TaskSpec], shots: list[int | str],
             benchmarks_dir: str | Path, out_dir: str | Path, seed: int = 1234,
             limit: int | None = None, contamination_build: str | Path | None = None,
             decoding: str = "greedy", model_name: str = "") -> list[dict]:
    """Evaluate every task at every K; write per-example JSONL, summary JSON/CSV; return it."""
    out = Path(out_dir)
    summary = []
    lists_used = {}
    for task in tasks:
        lists = None
        if contamination_build:
            lists = ContaminationLists.load(contamination_build, benchmark_name(task.path))
            lists_used[task.name] = lists.path if lists else None
        for k in shots:
            rows = evaluate_task(model, task, benchmarks_dir, k, seed, limit, lists, decoding)
            path = out / "examples" / task.name / f"k{k}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            summary += summarize(rows)
    params = model.num_params()
    for s in summary:
        s.update(model=model_name, params=params)
    (out / "summary.json").write_text(json.dumps({
        "model": model_name, "params": params, "seed": seed, "limit": limit,
        "decoding": decoding, "shots": [str(k) for k in shots],
        "headline_metrics": {t.name: t.metric for t in tasks},
        "contamination_lists": lists_used, "results": summary}, indent=1) + "\n")
    with open(out / "accuracy_vs_k.csv", "w", newline="") as f:  # also "vs model size"
        writer = csv.DictWriter(f, ["model", "params", "task", "metric", "subset", "shots",
                                    "value", "ci95", "n"])
        writer.writeheader()
        writer.writerows(summary)
    return summary
