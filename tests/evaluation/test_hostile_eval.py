"""Issue 22, row 12: `crawl2gpt eval` outside the repository, and examples longer than n_ctx."""

from __future__ import annotations

import argparse

import pytest

import crawl2gpt.evaluation.cli as eval_cli
from crawl2gpt.evaluation.harness import evaluate_task, make_prompts
from crawl2gpt.evaluation.models import ProjectModel
from crawl2gpt.evaluation.tasks import all_tasks, read_examples
from tests.evaluation.conftest import ByteTokenizer, tiny_gpt
from tests.evaluation.test_models import brute_force

N_CTX = 32


def expected_scores(gpt, context: list[int], continuation: list[int]) -> float:
    """The request cut from the left to n_ctx + 1 tokens, scored token by token."""
    kept = (context + continuation)[-(N_CTX + 1):]
    scored = min(len(continuation), N_CTX)
    return brute_force(gpt, kept[:-scored], kept[-scored:])[0]


def test_piqa_choices_longer_than_n_ctx_are_scored_on_the_left_cut(benchmarks):
    gpt = tiny_gpt("tiny", n_ctx=N_CTX)
    model = ProjectModel(gpt, ByteTokenizer(), batch_size=3)
    task = all_tasks()["piqa"]
    rows = evaluate_task(model, task, benchmarks, k=0, limit=6)
    examples = read_examples(task.resolve(benchmarks), task.format)[:6]
    prompts = make_prompts(model, task, examples, examples, 0, seed=1234)
    lengths = [len(c.encode()) for p in prompts for c in p.continuations]
    assert max(lengths) > N_CTX       # the case that raised "continuation exceeds n_ctx"
    for row, prompt in zip(rows, prompts):
        context = list(prompt.contexts[0].encode())
        expected = [expected_scores(gpt, context, list(c.encode())) for c in prompt.continuations]
        assert row["loglikelihoods"] == pytest.approx(expected, abs=1e-4)
        best = max(range(len(expected)), key=expected.__getitem__)
        assert max(range(len(expected)), key=row["loglikelihoods"].__getitem__) == best


def eval_args(**kwargs) -> argparse.Namespace:
    defaults = dict(tasks="piqa", model="m", out="o", shots="0", benchmarks=None,
                    tokenizer=None, device="cpu", batch_size=1, limit=None, seed=1,
                    contamination=None, decoding="greedy")
    return argparse.Namespace(**{**defaults, **kwargs})


def test_default_benchmarks_do_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(eval_cli.BENCHMARKS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    default = eval_cli.default_benchmarks()
    assert default == str(eval_cli.REPO_BENCHMARKS) and eval_cli.REPO_BENCHMARKS.is_absolute()
    assert (eval_cli.REPO_BENCHMARKS / "icl").is_dir()
    monkeypatch.setenv(eval_cli.BENCHMARKS_ENV, str(tmp_path))
    assert eval_cli.default_benchmarks() == str(tmp_path)


def test_without_benchmarks_eval_says_what_to_pass(tmp_path, monkeypatch):
    monkeypatch.delenv(eval_cli.BENCHMARKS_ENV, raising=False)
    monkeypatch.setattr(eval_cli, "REPO_BENCHMARKS", tmp_path / "missing")
    with pytest.raises(SystemExit, match="no benchmarks folder: pass --benchmarks or set "
                                         "\\$CRAWL2GPT_BENCHMARKS"):
        eval_cli.cmd_eval(eval_args())


def test_a_wrong_benchmarks_folder_is_one_message(tmp_path, monkeypatch):
    monkeypatch.setattr("crawl2gpt.evaluation.models.load_model", lambda *a, **k: ProjectModel(
        tiny_gpt("tiny", n_ctx=N_CTX), ByteTokenizer()))
    with pytest.raises(SystemExit, match=r"^crawl2gpt eval: .*piqa\.jsonl"):
        eval_cli.cmd_eval(eval_args(benchmarks=str(tmp_path), out=str(tmp_path / "out")))
