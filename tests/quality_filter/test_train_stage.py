"""`quality_train` trains the classifier inside the build, as `train-quality` does outside it."""

import hashlib
from pathlib import Path

from crawl2gpt.demo.data import demo_build_config, generate_demo_corpus
from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import load_build_config
from crawl2gpt.quality_filter.cli import build_documents
from crawl2gpt.quality_filter.config import QualityConfig
from crawl2gpt.quality_filter.training import train_quality_from_documents

REPO = Path(__file__).resolve().parents[2]
MULTI = ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_model_trained_in_the_build_equals_the_command_line_one(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    generate_demo_corpus(str(tmp_path / "corpus"))
    config_path = tmp_path / "build.toml"
    config_path.write_text('stages = ["quality_train"]\n' + demo_build_config("corpus")
                           + '\n[quality_train]\nmodel_path = "quality/model.bin"\n')
    config = load_build_config(str(config_path))
    manifest = run_build(config, str(tmp_path / "out")).manifest
    in_build = tmp_path / "quality" / "quality_fasttext.bin"
    row = manifest["stage_reports"]["quality_train"][0]
    assert Path(row["name"]).resolve() == in_build.resolve()
    # The stage passes every document through: the build keeps what it would keep without it.
    assert row["documents"] == manifest["totals"]["documents"]

    docs, roles, _ = build_documents(str(tmp_path / "out"))
    outside = train_quality_from_documents(list(reversed(docs)), QualityConfig(),
                                           str(tmp_path / "cli"), roles)
    assert sha256(in_build) == sha256(Path(outside))

    first = sha256(in_build)
    run_build(config, str(tmp_path / "out-multi"), MULTI)
    assert sha256(in_build) == first  # same model on the multi-processing runner
