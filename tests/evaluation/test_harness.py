"""The harness end to end: clean/dirty subsets follow the contamination lists; files; CLI."""

import argparse
import csv
import json
import shutil

import pytest
import torch

from crawl2gpt.dedup.benchmarks import load_benchmark
from crawl2gpt.dedup.contamination_config import ContaminationConfig
from crawl2gpt.evaluation.cli import add_commands
from crawl2gpt.evaluation.harness import ContaminationLists, evaluate_task, run_eval
from crawl2gpt.evaluation.tasks import all_tasks

TASKS = all_tasks()


def write_lists(build, name, ids, dirty_positions):
    """A clean/dirty file as `dedup.clean_dirty.write_splits` writes it (fields used here)."""
    folder = build / "contamination" / "clean_dirty"
    folder.mkdir(parents=True, exist_ok=True)
    dirty = [{"id": ids[i], "ngram": "x", "doc_id": "d"} for i in dirty_positions]
    clean = [x for i, x in enumerate(ids) if i not in dirty_positions]
    (folder / f"{name}.json").write_text(json.dumps({"benchmark": name, "clean_ids": clean,
                                                     "dirty": dirty}))


def test_clean_and_dirty_subsets_follow_the_lists(tmp_path, tiny_model, benchmarks):
    path = TASKS["copa"].resolve(benchmarks)
    ids = [e.id for e in load_benchmark(str(path), ContaminationConfig()).examples]
    write_lists(tmp_path / "build", "copa", ids, {1, 4, 7})
    summary = run_eval(tiny_model, [TASKS["copa"]], [0, 1], benchmarks, tmp_path / "out",
                       limit=10, contamination_build=tmp_path / "build", model_name="tiny")
    rows = [json.loads(line) for line in
            (tmp_path / "out" / "examples" / "copa" / "k1.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ids[:10]
    assert [r["subset"] for r in rows] == ["dirty" if i in {1, 4, 7} else "clean"
                                           for i in range(10)]
    for subset, positions in (("clean", [0, 2, 3, 5, 6, 8, 9]), ("dirty", [1, 4, 7])):
        (entry,) = [s for s in summary if s["shots"] == "1" and s["metric"] == "acc_norm"
                    and s["subset"] == subset]
        assert entry["n"] == len(positions)
        expected = sum(rows[i]["correct"]["acc_norm"] for i in positions) / len(positions)
        assert entry["value"] == pytest.approx(expected)
    with open(tmp_path / "out" / "accuracy_vs_k.csv") as f:
        table = list(csv.DictReader(f))
    assert {r["shots"] for r in table} == {"0", "1"}
    assert {r["subset"] for r in table} == {"all", "clean", "dirty"}
    stored = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert stored["params"] == tiny_model.num_params()
    assert stored["contamination_lists"]["copa"].endswith("copa.json")


def test_an_example_missing_from_the_lists_is_an_error(tmp_path, tiny_model, benchmarks):
    write_lists(tmp_path, "copa", ["not-a-copa-id"], set())
    lists = ContaminationLists.load(tmp_path, "copa")
    with pytest.raises(ValueError, match=r"copa\.json: example .* is in neither list"):
        evaluate_task(tiny_model, TASKS["copa"], benchmarks, 0, limit=1, contamination=lists)


def test_rows_record_prompt_hash_and_choice_loglikelihoods(tiny_model, benchmarks):
    rows = evaluate_task(tiny_model, TASKS["arc_easy"], benchmarks, 1, limit=2)
    for r in rows:
        assert len(r["prompt_sha256"]) == 64 and len(r["shot_ids"]) == 1
        assert len(r["loglikelihoods"]) == len(r["unconditional"]) == 4
        assert r["prediction"] == r["predictions"]["acc_uncond"]
        assert set(r["correct"]) == {"acc", "acc_norm", "acc_char", "acc_uncond"}


def run_eval_command(kind, tmp_path, shared_data, capsys):
    """`crawl2gpt eval` on one of our checkpoints, or on its HF export with the GPT-2
    tokenizer.json beside it (read by AutoTokenizer, offline); returns the summary rows."""
    from crawl2gpt.training.checkpoint import save_checkpoint
    from crawl2gpt.training.config import model_config
    from crawl2gpt.training.export import export_hf
    from crawl2gpt.training.model import GPT
    torch.manual_seed(0)
    model = GPT(model_config("tiny-dense", vocab_size=50257, n_ctx=128)).eval()
    tmp_path = tmp_path / kind
    gpt2 = shared_data / "tokenizers" / "gpt2"
    if kind == "checkpoint":
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
        save_checkpoint(tmp_path / "model", 1, model, optimizer,
                        {"tokenizer": {"path": str(gpt2)}}, keep=1)
    else:
        export_hf(model, tmp_path / "model", eot_id=50256)
        shutil.copy(gpt2 / "tokenizer.json", tmp_path / "model")
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "--model", str(tmp_path / "model"), "--tasks",
                              "copa,two_digit_addition", "--shots", "0,1", "--limit", "3",
                              "--out", str(tmp_path / "out"), "--device", "cpu",
                              "--benchmarks", str(shared_data / "benchmarks")])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "copa" in printed and "two_digit_addition" in printed and "exact_match*" in printed
    rows = (tmp_path / "out" / "examples" / "two_digit_addition" / "k1.jsonl").read_text()
    assert len(rows.splitlines()) == 3
    return json.loads((tmp_path / "out" / "summary.json").read_text())["results"]


def test_eval_command_scores_a_checkpoint_and_its_hf_export_alike(tmp_path, shared_data, capsys):
    ours = run_eval_command("checkpoint", tmp_path, shared_data, capsys)
    theirs = run_eval_command("hf", tmp_path, shared_data, capsys)
    assert [(r["task"], r["shots"], r["metric"], r["value"]) for r in ours] == \
        [(r["task"], r["shots"], r["metric"], r["value"]) for r in theirs]
