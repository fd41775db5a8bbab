"""`crawl2gpt inspect train|eval`: the reports' numbers against `metrics.jsonl` and
`summary.json` read back here, both pages in a real headless Chromium, and clear errors."""

import argparse
import json
import re

import numpy as np
import pytest
import torch

from crawl2gpt.dedup.benchmarks import benchmark_name, load_benchmark
from crawl2gpt.dedup.contamination_config import ContaminationConfig
from crawl2gpt.evaluation.harness import run_eval
from crawl2gpt.evaluation.models import ProjectModel
from crawl2gpt.evaluation.tasks import all_tasks
from crawl2gpt.inspect_cli import add_commands
from crawl2gpt.training.config import model_config
from crawl2gpt.training.model import GPT
from crawl2gpt.training.train_config import load_train_config
from crawl2gpt.training.trainer import Trainer
from tests.pipeline.test_inspect import Tables, console_errors
from tests.training.corpus import write_corpus

TASKS = all_tasks()
EOT = 256  # byte-level ids: 0-255 bytes, 256 ends a document


@pytest.fixture(scope="module")
def run_dir(shared_data, tmp_path_factory):
    """16 steps of `tiny` on byte-tokenised speeches (speeches/README.md: 59 inaugural and 65
    State of the Union `*.txt`), the batch ramping 256 -> 1,024 tokens, validation every 4."""
    root = tmp_path_factory.mktemp("train")
    docs = {name: [np.append(np.frombuffer(f.read_bytes(), np.uint8).astype(np.uint16), EOT)
                   for f in sorted((shared_data / "speeches" / name).glob("*.txt"))]
            for name in ("inaugural", "state_union")}
    manifest = write_corpus(root / "corpus", docs, {"inaugural": 0.4, "state_union": 0.6},
                            vocab_size=EOT + 1, eot_id=EOT, rows_per_group=8)
    torch.set_num_threads(1)
    Trainer(load_train_config(None, [
        f"data.manifest={json.dumps(str(manifest))}", "model.size=tiny", "model.vocab_size=257",
        f"out_dir={json.dumps(str(root / 'run'))}", "micro_batch=4", "max_steps=16",
        "optim.warmup_tokens=4096", "optim.decay_end_tokens=12000", "optim.batch_tokens=1024",
        "optim.batch_start_tokens=256", "optim.batch_ramp_tokens=8000", "eval.every_steps=4",
        "eval.sequences=4", "log_every=2", "checkpoint.every_steps=0"])).fit()
    return root / "run"


class ByteTokenizer:
    """Ids 0-255 are UTF-8 bytes, 256 ends a text (the interface of `core.tokenizer`)."""

    eot_id = EOT

    def encode_batch(self, texts):
        return [list(t.encode("utf-8")) + [self.eot_id] for t in texts]

    def decode(self, ids):
        return bytes(i for i in ids if i < 256).decode("utf-8", "replace")


def write_lists(build, task, dirty_positions):
    """Clean/dirty lists as the contamination stage writes them (the fields the harness reads)."""
    path = TASKS[task].resolve(build.parent / "benchmarks")
    ids = [e.id for e in load_benchmark(str(path), ContaminationConfig()).examples]
    folder = build / "contamination" / "clean_dirty"
    folder.mkdir(parents=True, exist_ok=True)
    name = benchmark_name(str(path))
    (folder / f"{name}.json").write_text(json.dumps({
        "benchmark": name, "clean_ids": [x for i, x in enumerate(ids)
                                              if i not in dirty_positions],
        "dirty": [{"id": ids[i], "ngram": "x", "doc_id": "d"} for i in dirty_positions]}))


@pytest.fixture(scope="module")
def results(shared_data, tmp_path_factory):
    """Two random byte-level models of different widths, 8 examples of COPA and two-digit
    addition at K = 0, 1, 2, with examples 1 and 4 of each marked dirty."""
    root = tmp_path_factory.mktemp("eval")
    (root / "benchmarks").symlink_to(shared_data / "benchmarks")
    for task in ("copa", "two_digit_addition"):
        write_lists(root / "build", task, {1, 4})
    folders = []
    for name, d_model in (("wide", 64), ("narrow", 32)):
        torch.manual_seed(0)
        gpt = GPT(model_config("tiny", vocab_size=257, n_ctx=256, d_model=d_model)).eval()
        run_eval(ProjectModel(gpt, ByteTokenizer(), batch_size=16),
                 [TASKS["copa"], TASKS["two_digit_addition"]], [0, 1, 2], root / "benchmarks",
                 root / name, limit=8, contamination_build=root / "build", model_name=name)
        folders.append(root / name)
    return folders


def inspect(kind, *argv):
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["inspect", kind, *map(str, argv)])
    return args.func(args)


def test_train_report_numbers_equal_metrics_jsonl(run_dir, tmp_path):
    assert inspect("train", run_dir, "--out", tmp_path) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    logged = [x for x in lines if "loss" in x]
    assert [r["step"] for r in logged] == list(range(2, 17, 2))  # log_every=2, 16 steps
    keys = ["step", "tokens", "loss", "lr", "batch_tokens", "tokens_per_s", "mfu"]
    assert report["train"] == [{k: r[k] for k in keys} for r in logged]
    assert len({r["batch_tokens"] for r in report["train"]}) > 1  # the ramp is visible
    for source in ("inaugural", "state_union"):
        evals = [x for x in lines if f"val_loss/{source}" in x]
        assert [x["step"] for x in evals] == [4, 8, 12, 16]
        assert report["validation"][source] == [
            {"step": x["step"], "tokens": x["tokens"], "loss": x[f"val_loss/{source}"]}
            for x in evals]
        assert report["final"]["validation"][source] == evals[-1][f"val_loss/{source}"]
    assert report["final"]["loss"] == logged[-1]["loss"]
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "loss.png", "schedule.png", "throughput.png"]  # no MFU panel: CPU has no known peak
    steps = Tables()
    steps.feed((tmp_path / "report.html").read_text())
    assert [row[0] for row in steps.tables[-1][1:]] == [str(r["step"]) for r in logged]
    assert [row[2] for row in steps.tables[-1][1:]] == [f"{r['loss']:.4f}" for r in logged]


def test_eval_report_numbers_equal_summary_json(results, tmp_path):
    assert inspect("eval", *results, "--out", tmp_path) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    summaries = {p.name: json.loads((p / "summary.json").read_text()) for p in results}
    # smallest model first (the size axis); parameters as each summary recorded them
    assert [(m["label"], m["params"]) for m in report["models"]] == sorted(
        ((n, s["params"]) for n, s in summaries.items()), key=lambda m: m[1])
    assert summaries["narrow"]["params"] < summaries["wide"]["params"]
    expected = [r for s in summaries.values() for r in s["results"]]
    def canonical(rows):
        return sorted(json.dumps(r, sort_keys=True) for r in rows)
    assert canonical(report["results"]) == canonical(expected)
    assert {r["subset"] for r in report["results"]} == {"all", "clean", "dirty"}
    assert {(r["task"], r["subset"], r["n"]) for r in report["results"] if r["shots"] == "2"} == {
        (t, s, n) for t in ("copa", "two_digit_addition")
        for s, n in (("all", 8), ("clean", 6), ("dirty", 2))}
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "accuracy_vs_k.png", "accuracy_vs_size.png", "clean_dirty.png"]
    # The page's table shows each summary row: "value ± ci (n=N)" in %, per subset.
    cells = Tables()
    cells.feed((tmp_path / "report.html").read_text())
    shown = {tuple(row[:4]): row[4:] for row in cells.tables[-1][1:]}
    for r in expected:
        metric = r["metric"] + (" *" if summaries[r["model"]]["headline_metrics"][r["task"]]
                                == r["metric"] else "")
        row = shown[(r["task"], r["model"], r["shots"], metric)]
        assert row[["all", "clean", "dirty"].index(r["subset"])] == (
            f"{100 * r['value']:.1f} ± {100 * r['ci95']:.1f} (n={r['n']})")


def test_one_model_has_no_size_figure(results, tmp_path):
    assert inspect("eval", results[0], "--out", tmp_path) == 0
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "accuracy_vs_k.png", "clean_dirty.png"]


def test_both_pages_render_in_chromium_without_console_errors(run_dir, results, tmp_path):
    for kind, source in (("train", [run_dir]), ("eval", results)):
        out = tmp_path / kind
        assert inspect(kind, *source, "--out", out) == 0
        html = out / "report.html"
        assert not re.search(r"<script|<link|@import|url\(|src=\"(?!data:)", html.read_text())
        assert console_errors(html, tmp_path / f"{kind}.png", tmp_path / kind) == []


def test_bad_input_names_the_file_and_line(run_dir, tmp_path, capsys):
    assert inspect("train", tmp_path, "--out", tmp_path / "out") == 2
    assert f"{tmp_path / 'metrics.jsonl'}: not found" in capsys.readouterr().err
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    (tmp_path / "metrics.jsonl").write_text(lines[0] + "\n{broken\n")
    assert inspect("train", tmp_path, "--out", tmp_path / "out") == 2
    assert f"{tmp_path / 'metrics.jsonl'}:2: not JSON" in capsys.readouterr().err
    assert inspect("eval", tmp_path, "--out", tmp_path / "out") == 2
    assert f"{tmp_path / 'summary.json'}: not found" in capsys.readouterr().err
