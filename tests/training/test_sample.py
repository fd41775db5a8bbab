"""`crawl2gpt sample`: text from a checkpoint with GPT-2's tokenizer (shared test data)."""

import pytest
import torch

from crawl2gpt.core.tokenizer import Tokenizer
from crawl2gpt.training.checkpoint import save_checkpoint
from crawl2gpt.training.config import model_config
from crawl2gpt.training.model import GPT
from crawl2gpt.training.sample import sample_main
from crawl2gpt.training.schedule import OptimConfig, build_optimizer

# r50k_base.tiktoken's sha256 (../shared/data/tokenizers/gpt2/README.md: tiktoken's published)
R50K_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"


@pytest.fixture
def checkpoint(tmp_path, shared_data):
    torch.manual_seed(0)
    model = GPT(model_config("tiny"))  # GPT-2's 50,257-token vocabulary
    opt = build_optimizer(model, OptimConfig(), lr=1e-3)
    tokenizer = {"path": str(shared_data / "tokenizers" / "gpt2" / "r50k_base.tiktoken"),
                 "vocab_size": 50257, "eot_id": 50256,
                 "files_sha256": {"r50k_base.tiktoken": R50K_SHA256}}
    save_checkpoint(tmp_path / "ckpt", 3, model, opt, {"tokenizer": tokenizer}, keep=1)
    return tmp_path / "ckpt", model.eval(), Tokenizer.from_path(tokenizer["path"])


def test_greedy_sample_continues_the_prompt_with_argmax_tokens(checkpoint, capsys):
    path, model, tokenizer = checkpoint
    assert sample_main(["--checkpoint", str(path), "--prompt", "Hello world",
                        "--max-new-tokens", "5", "--temperature", "0"]) == 0
    text = capsys.readouterr().out.rstrip("\n")
    # brute force: five argmax steps after GPT-2's ids of "Hello world" (15496, 995)
    ids = [15496, 995]
    with torch.no_grad():
        for _ in range(5):
            ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    assert text == "Hello world" + tokenizer.decode(ids[2:])


def test_sampling_is_repeatable_with_a_seed(checkpoint, capsys):
    path, _, _ = checkpoint
    args = ["--checkpoint", str(path), "--max-new-tokens", "8", "--num-samples", "2"]
    runs = []
    for _ in range(2):
        assert sample_main(args + ["--seed", "5"]) == 0
        runs.append(capsys.readouterr().out)
    assert runs[0] == runs[1]
    assert runs[0].count("-" * 40) == 1  # two samples, one separator


def test_another_tokenizer_is_refused(checkpoint, shared_data, capsys):
    path, _, _ = checkpoint
    # the same vocabulary in another file (tokenizer.json): not the files the model was trained on
    other = shared_data / "tokenizers" / "gpt2" / "tokenizer.json"
    assert sample_main(["--checkpoint", str(path), "--tokenizer", str(other)]) == 2
    assert "is not the one the model was trained with" in capsys.readouterr().err
