"""`crawl2gpt train-tokenizer` and `export-tokens` on a real (small) build."""

from pathlib import Path

import numpy as np

from crawl2gpt.cli import main
from crawl2gpt.core.tokenizer import Tokenizer
from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import load_build_config
from tests.pipeline.test_build import write_config
from tests.pipeline.test_build_tokens import tokenize_table

REPO = Path(__file__).resolve().parents[2]


def test_train_tokenizer_and_export_from_a_build(tmp_path, shared_data, monkeypatch):
    monkeypatch.chdir(REPO)
    config = load_build_config(str(write_config(tmp_path, tokenize_table(shared_data))))
    manifest = run_build(config, str(tmp_path / "out")).manifest
    build = str(tmp_path / "out" / "manifest.json")

    assert main(["train-tokenizer", "--build", build, "--vocab-size", "300",
                 "--out", str(tmp_path / "tok")]) == 0
    tok = Tokenizer.from_path(tmp_path / "tok")
    text = "a long enough line of text number 3 with words"
    assert tok.decode(tok.encode_batch([text])[0][:-1]) == text

    out = tmp_path / "flat.bin"
    assert main(["export-tokens", "--build", build, "--format", "nanogpt",
                 "--out", str(out)]) == 0
    ids = np.fromfile(out, dtype=np.uint16)
    assert len(ids) == manifest["tokens"]["sources"]["web"]["tokens"]
    # one end-of-text per document
    assert (ids == 50256).sum() == manifest["tokens"]["sources"]["web"]["documents"]
