"""`crawl2gpt scaling` and `crawl2gpt ablate` end to end at toy size (a few steps each).

The numbers checked are recomputed here by other routes: parameter counts by hand, the fit by
the closed-form regression, the reference loss through the evaluation harness's
log-likelihood interface on the saved checkpoint, the noise by the pooled-sd formula.
"""

from __future__ import annotations

import gzip
import json
import math
import statistics

import numpy as np
import pytest
import torch

from crawl2gpt.cli import main
from crawl2gpt.experiments.ablate import AblationError, shared_tokenizer
from tests.training.corpus import write_corpus

torch.set_num_threads(1)
EOT = 256
FAST = ["--set", "eval.sequences=4", "--set", "data.verify_checksums=false"]


@pytest.fixture(scope="module")
def byte_corpus(shared_data, tmp_path_factory):
    """Inaugural addresses as bytes + end-of-text (speeches/README.md: 59 `*.txt` files)."""
    files = sorted((shared_data / "speeches" / "inaugural").glob("*.txt"))
    assert len(files) == 59
    docs = [np.append(np.frombuffer(f.read_bytes(), np.uint8).astype(np.uint16), EOT)
            for f in files]
    return write_corpus(tmp_path_factory.mktemp("bytes"), {"inaugural": docs},
                        {"inaugural": 1.0}, vocab_size=EOT + 1, eot_id=EOT, rows_per_group=8)


def closed_form_prediction(params, losses, new_params):
    x, y = np.log(params), np.log(losses)
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    return math.exp(y.mean() + slope * (math.log(new_params) - x.mean()))


def test_scaling_trains_fits_predicts_and_checks(byte_corpus, tmp_path, capsys):
    out = tmp_path / "scaling"
    code = main(["scaling", "--data", str(byte_corpus), "--sizes", "1x16,1x32,2x32",
                 "--predict", "2x48", "--tokens", "8192", "--out", str(out), *FAST])
    assert code == 0
    result = json.loads((out / "scaling.json").read_text())
    runs = {r["shape"]: r for r in result["runs"]}
    assert list(runs) == ["1x16", "1x32", "2x32", "2x48"]
    # By hand: a block has 12 d^2 weights (qkv 3, proj 1, MLP 8) and 13 d biases/norms when
    # all-dense (qkv bias 3 d, proj d, MLP 5 d, two LayerNorms 4 d), 10 d when banded (no qkv
    # bias; two or more layers alternate dense/banded); plus the final LayerNorm 2 d.
    assert runs["1x16"]["non_embedding_params"] == 12 * 16**2 + 13 * 16 + 2 * 16  # 3,312
    assert runs["2x32"]["non_embedding_params"] == 2 * (12 * 32**2 + 10 * 32) + 2 * 32
    for r in runs.values():
        assert r["tokens"] == 8192  # two steps of the tiny size's 4,096-token batch
        assert r["compute_flops"] == 6 * r["non_embedding_params"] * r["tokens"]
    fitted = [runs[s] for s in ("1x16", "1x32", "2x32")]
    p = result["prediction"]
    expected = closed_form_prediction([r["non_embedding_params"] for r in fitted],
                                      [r["validation_loss"] for r in fitted],
                                      runs["2x48"]["non_embedding_params"])
    assert p["loss"] == pytest.approx(expected, rel=1e-9)
    assert p["measured"] == runs["2x48"]["validation_loss"]
    assert p["inside_interval"] == (p["interval"][0] <= p["measured"] <= p["interval"][1])
    if "interval_from_L(C)" in p:  # when 3+ of the 6 evaluations make up the frontier
        low, high = p["interval_from_L(C)"]
        assert p["inside_interval_from_L(C)"] == (low <= p["measured"] <= high)
    html = (out / "report" / "report.html").read_text()
    assert "data:image/png;base64" in html and "Prediction of the next size" in html
    assert (out / "report" / "figures" / "scaling.png").stat().st_size > 10_000
    assert "predicted 2x48" in capsys.readouterr().out
    # the same report again from the results folder, as the other inspection reports
    assert main(["inspect", "scaling", str(out), "--out", str(tmp_path / "again")]) == 0
    assert json.loads((tmp_path / "again" / "report.json").read_text()) == result


def test_scaling_names_a_missing_manifest(tmp_path, capsys):
    code = main(["scaling", "--data", str(tmp_path / "manifest.json"), "--sizes", "1x16,1x32,2x32",
                 "--tokens", "4096", "--out", str(tmp_path / "out")])
    assert code == 2
    assert f"{tmp_path / 'manifest.json'}: manifest not found" in capsys.readouterr().err


def test_inspect_names_a_missing_results_file(tmp_path, capsys):
    assert main(["inspect", "ablation", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert f"{tmp_path / 'ablation.json'}: not found" in capsys.readouterr().err


@pytest.fixture(scope="module")
def ablation_inputs(shared_data, tmp_path_factory):
    """Two build configs over the first 150 C4 documents (README: 1,000 JSON lines with
    `text`): no filter stage, and the heuristic rules; one small BPE trained on the same text."""
    from crawl2gpt.mixing.train_tokenizer import train_bpe
    root = tmp_path_factory.mktemp("ablation")
    with gzip.open(shared_data / "commoncrawl" / "c4" / "c4-sample.00000-of-00001.json.gz",
                   "rt") as f:
        lines = [next(f) for _ in range(150)]
    (root / "web.jsonl").write_text("".join(lines))
    train_bpe([json.loads(line)["text"] for line in lines], 512, root / "tok")
    source = (f'[[sources]]\nname = "web"\nrole = "raw"\ninputs = ["{root}/web.jsonl"]\n'
              f'format = "jsonl"\noptions = {{ text_field = "text" }}\n'
              f'[tokenize]\ntokenizer = "{root}/tok"\ntoken_budget = 50000\n')
    (root / "plain.toml").write_text(source)
    (root / "rules.toml").write_text('stages = ["rules"]\n' + source
                                     + '[rules]\nroles = ["raw"]\n')
    return root


def test_ablate_compares_against_seed_noise(ablation_inputs, shared_data, tmp_path, capsys):
    from crawl2gpt.evaluation.models import load_model
    out = tmp_path / "ablate"
    reference = str(shared_data / "speeches" / "state_union" / "19*.txt")
    code = main(["ablate", str(ablation_inputs / "plain.toml"), str(ablation_inputs / "rules.toml"),
                 "--seeds", "2", "--tokens", "4096", "--model", "1x32", "--reference", reference,
                 "--reference-tokens", "640", "--tasks", "copa", "--limit", "4",
                 "--benchmarks", str(shared_data / "benchmarks"), "--out", str(out), *FAST])
    assert code == 0
    result = json.loads((out / "ablation.json").read_text())
    assert result["configs"] == ["plain", "rules"]
    assert [(r["config"], r["seed"]) for r in result["runs"]] == [
        ("plain", 1), ("plain", 2), ("rules", 1), ("rules", 2)]
    assert set(result["metrics"]) == {"reference_loss", "copa k0 acc_norm"}  # copa.toml: metric
    assert result["reference"]["sequences"] == 10  # 640 tokens / 64 per window
    # The rules remove documents, so the two builds differ.
    manifests = [json.loads((out / "builds" / c / "manifest.json").read_text())
                 for c in ("plain", "rules")]
    assert manifests[0]["sources"]["web"]["documents"] > manifests[1]["sources"]["web"]["documents"]

    # Reference loss again, from the saved checkpoint through the harness's interface.
    run = result["runs"][0]
    model = load_model(run["run"]["run_dir"] + "/checkpoints", str(ablation_inputs / "tok"),
                       show_progress=False)
    from crawl2gpt.experiments.runs import read_reference_texts, reference_sequences
    windows = reference_sequences(read_reference_texts([reference]), model.tokenizer, 64, 640)
    lls = model.loglikelihood([([int(w[0])], [int(t) for t in w[1:]]) for w in windows])
    assert run["metrics"]["reference_loss"] == pytest.approx(
        -sum(ll for ll, _ in lls) / (len(windows) * 64), rel=1e-4)

    # Differences and noise recomputed from the per-run values.
    values = {c: [r["metrics"]["reference_loss"] for r in result["runs"] if r["config"] == c]
              for c in ("plain", "rules")}
    pooled = math.sqrt(sum(statistics.variance(v) for v in values.values()) / 2)  # n=2 each
    rules_row = next(d for d in result["differences"]
                     if d["metric"] == "reference_loss" and d["config"] == "rules")
    assert rules_row["diff"] == pytest.approx(statistics.fmean(values["rules"])
                                              - statistics.fmean(values["plain"]))
    assert rules_row["pooled_sd"] == pytest.approx(pooled)
    assert rules_row["exceeds_noise"] == (abs(rules_row["diff"]) > 2 * pooled)  # SE = sd·1
    assert values["plain"][0] != values["plain"][1]  # seeds change the initialisation
    copa = next(d for d in result["differences"]
                if d["metric"] == "copa k0 acc_norm" and d["config"] == "rules")
    assert copa["sampling_se"] > 0  # 4 examples: a wide error over the examples
    assert copa["exceeds_noise"] == (abs(copa["diff"]) > 2 * math.hypot(copa["se"],
                                                                     copa["sampling_se"]))
    assert len(result["verdicts"]) == 2
    assert (out / "report" / "figures" / "ablation.png").is_file()
    assert "beyond noise" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--seeds", "1"], "--seeds: the seed-to-seed noise needs at least 2"),
    (["--reference", "no-such-file.txt"], "--reference no-such-file.txt: no such file"),
])
def test_ablate_refuses_before_building(ablation_inputs, tmp_path, capsys, args, message):
    configs = [str(ablation_inputs / "plain.toml"), str(ablation_inputs / "rules.toml")]
    code = main(["ablate", *configs, "--tokens", "4096", "--out", str(tmp_path), *args])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "builds").exists()


def test_reference_file_not_utf8_is_read_with_a_warning(shared_data, caplog):
    """speeches/README.md: `state_union/1954-Eisenhower.txt` is Latin-1 (`BD A2` = `½¢`)."""
    from crawl2gpt.experiments.runs import read_reference_texts
    [text] = read_reference_texts([str(shared_data / "speeches" / "state_union"
                                       / "1954-Eisenhower.txt")])
    assert "\ufffd\ufffd decrease" in text
    assert "1954-Eisenhower.txt: not UTF-8" in caplog.text


def test_builds_with_different_tokenizers_are_refused(tmp_path):
    manifests = {}
    for name, digest in (("a", "11"), ("b", "22")):
        path = tmp_path / name / "manifest.json"
        path.parent.mkdir()
        path.write_text(json.dumps({"tokens": {"tokenizer": {
            "vocab_size": 512, "eot_id": 0, "files_sha256": {"tokenizer.json": digest}}}}))
        manifests[name] = str(path)
    with pytest.raises(AblationError, match="different tokenizers"):
        shared_tokenizer(manifests)
