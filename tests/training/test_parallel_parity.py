"""Data, tensor and pipeline parallelism on CPU/gloo equal one process: 10 steps of a tiny fp32
GPT on the speech corpus, same tokens, losses and final weights within 1e-5 relative; and a
run saved at step 5 under tp=2 continues under dp=2 with the uninterrupted run's losses.

Each layout runs under `torch.distributed.run` (separate processes, gloo); the 2-process
layouts share one start-up (tests/training/parallel_runner.py). The reference is the plain
`Trainer` in this process. Final weights are compared through each run's step-10 DCP
checkpoint, read back whole in one process (`load_model`), per tensor as
||parallel - single|| / ||single||.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed.checkpoint as dcp

from crawl2gpt.training.checkpoint import load_model, read_train_state
from crawl2gpt.training.data import TokenLoader, load_token_manifest
from crawl2gpt.training.parallel.plan import rank_plan
from crawl2gpt.training.train_config import load_train_config
from crawl2gpt.training.trainer import Trainer
from tests.training.parallel_runner import parity_settings

REPO = Path(__file__).resolve().parents[2]
RTOL = 1e-5
TWO_PROCESS = {  # name: overrides
    "dp2": ["parallel.dp=2"],
    "tp2": ["parallel.tp=2"],
    "pp2-gpipe": ["parallel.pp=2", 'parallel.pp_schedule="gpipe"'],
    "pp2-1f1b": ["parallel.pp=2", 'parallel.pp_schedule="1f1b"'],
    "pp2-interleaved": ["parallel.pp=2", 'parallel.pp_schedule="interleaved1f1b"'],
    "tp2-recompute": ["parallel.tp=2", "parallel.activation_checkpointing=true"],
}
FOUR_PROCESS = {"dp2xtp2": ["parallel.dp=2", "parallel.tp=2"]}


def torchrun(nproc: int, runs: list, root: Path, timeout: int) -> None:
    spec = root / f"runs-{nproc}.json"
    spec.write_text(json.dumps(runs))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           f"--nproc_per_node={nproc}", "-m", "tests.training.parallel_runner",
                           str(spec)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]


def records(out_dir: Path) -> list[dict]:
    return json.loads((out_dir / "records.json").read_text())


@pytest.fixture(scope="module")
def runs(speech_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("parallel")
    single = Trainer(load_train_config(None, parity_settings(
        speech_corpus, root / "single", "max_steps=10"))).fit()
    # a checkpoint of one process continued by a pipeline (the seed-checkpoint route)
    Trainer(load_train_config(None, parity_settings(
        speech_corpus, root / "single-then-pp2", "max_steps=5"))).fit()

    def run(name, *extra):
        return [str(root / name), parity_settings(speech_corpus, root / name, *extra)]
    two = [run(name, "max_steps=10", *o) for name, o in TWO_PROCESS.items()]
    # resume across layouts: steps 1-5 under tp=2 (saved at 5), steps 6-10 under dp=2
    two += [run("tp2-then-dp2", "max_steps=5", "parallel.tp=2"),
            run("tp2-then-dp2", "max_steps=10", "parallel.dp=2"),
            run("single-then-pp2", "max_steps=10", "parallel.pp=2")]
    torchrun(2, two, root, timeout=300)
    torchrun(4, [run(name, "max_steps=10", *o) for name, o in FOUR_PROCESS.items()], root,
             timeout=300)
    return root, single


def relative(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("layout", [*TWO_PROCESS, *FOUR_PROCESS])
def test_losses_and_final_weights_equal_one_process(runs, layout):
    root, single = runs
    mine = records(root / layout)
    assert [r["step"] for r in mine] == list(range(1, 11))
    assert [r["tokens"] for r in mine] == [r["tokens"] for r in single]  # same batch schedule
    errors = [relative(a["loss"], b["loss"]) for a, b in zip(mine, single)]
    print(layout, "max relative loss difference", max(errors))
    assert max(errors) <= RTOL, errors
    assert single[-1]["loss"] < single[0]["loss"] - 0.2  # it did learn in these 10 steps
    ours, _ = load_model(root / layout / "checkpoints")
    ref, _ = load_model(root / "single" / "checkpoints")
    ref_sd = ref.state_dict()
    worst = max((torch.linalg.vector_norm(t - ref_sd[k]) / torch.linalg.vector_norm(ref_sd[k])
                 ).item() for k, t in ours.state_dict().items() if ref_sd[k].abs().sum() > 0)
    print(layout, "max relative weight difference", worst)
    assert worst <= RTOL


@pytest.mark.parametrize("layout", [*TWO_PROCESS, *FOUR_PROCESS])
def test_validation_losses_equal_one_process(runs, layout):
    root, _ = runs

    def validation(run):
        lines = (root / run / "metrics.jsonl").read_text().splitlines()
        return next(r for r in map(json.loads, lines) if "val_loss/inaugural" in r)
    mine, ref = validation(layout), validation("single")
    for key in ("val_loss/inaugural", "val_loss/state_union"):
        assert relative(mine[key], ref[key]) <= RTOL, (key, mine[key], ref[key])


@pytest.mark.parametrize("layout", ["pp2-gpipe", "pp2-1f1b", "pp2-interleaved"])
def test_tied_embedding_copies_stay_equal_across_pipeline_stages(runs, layout):
    """The first stage saves `wte`, the last its untied copy as `lm_head`: after 10 steps of
    summed gradients the two must still be the same tensor, bit for bit."""
    root, _ = runs
    path = next((root / layout / "checkpoints").glob("step_*"))
    shape = (384, 32)  # vocabulary 257 padded to 3 x 128, d_model 32
    loaded = {"model": {"wte.weight": torch.zeros(shape), "lm_head.weight": torch.ones(shape)}}
    dcp.load(loaded, checkpoint_id=path, no_dist=True)
    assert torch.equal(loaded["model"]["wte.weight"], loaded["model"]["lm_head.weight"])


@pytest.mark.parametrize("run", ["tp2-then-dp2", "single-then-pp2"])
def test_resume_in_another_layout_repeats_the_uninterrupted_losses(runs, run):
    """Saved at step 5 in one layout (tp=2; one process), continued in another (dp=2; pp=2)."""
    root, single = runs
    resumed = records(root / run)  # the second run's records (steps 6-10)
    assert [r["step"] for r in resumed] == [6, 7, 8, 9, 10]
    errors = [relative(a["loss"], b["loss"]) for a, b in zip(resumed, single[5:])]
    print(run, "max relative loss difference", max(errors))
    assert max(errors) <= RTOL, errors
    # the data position went on from the checkpoint: the same sample counters at step 10
    ours = read_train_state(next((root / run / "checkpoints").glob("step_*10")))
    ref = read_train_state(next((root / "single" / "checkpoints").glob("step_*10")))
    assert ours["data"] == ref["data"]
    assert ours["data"]["samples"] == 10 * 8  # 10 steps of 8 sequences


@pytest.mark.parametrize("layout", [*TWO_PROCESS, *FOUR_PROCESS])
def test_planner_counts_what_each_rank_holds(runs, layout):
    """The planner's parameter and optimiser bytes (stage split, tp split of each tensor, dp
    split by FSDP) against the elements each rank of the run actually held."""
    root, _ = runs
    config = load_train_config(None, parity_settings("m.json", root, "max_steps=10",
                                                     *{**TWO_PROCESS, **FOUR_PROCESS}[layout]))
    files = sorted((root / layout).glob("rank*.json"))
    assert len(files) == config.parallel.world_size
    for f in files:
        held = json.loads(f.read_text())
        p = rank_plan(config.gpt_config(), config.parallel, held["pp_rank"], 4, 16, "fp32")
        assert (p.params / 4, p.optimizer / 4) == (held["params"], held["optimizer"]), f.name


@pytest.mark.parametrize("layout", [*TWO_PROCESS, *FOUR_PROCESS])
def test_each_data_parallel_group_reads_its_own_share_and_its_peers_the_same(runs, layout,
                                                                             speech_corpus):
    """After step 10 every rank's next micro-batch: data-parallel group g gets global samples
    g, g + dp, ... of the next dp x 4 (read here by a one-process loader of dp x 4 sequences
    from the same data state); tensor and pipeline peers of a group get the same rows."""
    root, _ = runs
    ranks = [json.loads(f.read_text()) for f in sorted((root / layout).glob("rank*.json"))]
    dp = 1 + max(r["dp_rank"] for r in ranks)
    state = read_train_state(next((root / "single" / "checkpoints").glob("step_*10")))["data"]
    loader = TokenLoader(load_token_manifest(speech_corpus), seq_len=16, micro_batch=4 * dp,
                         verify=False)
    loader.load_state_dict(state)
    following = loader.next_batch().tolist()
    loader.close()
    for r in ranks:
        assert r["next_batch"] == following[r["dp_rank"]::dp]


def test_one_process_with_activation_checkpointing_repeats_the_losses(runs, speech_corpus,
                                                                      tmp_path):
    _, single = runs
    recomputed = Trainer(load_train_config(None, parity_settings(
        speech_corpus, tmp_path, "max_steps=10", "parallel.activation_checkpointing=true"))).fit()
    assert [r["loss"] for r in recomputed] == [r["loss"] for r in single]
