"""`FilterQuality` in a pipeline: same survivors on every runner, equal to the core's verdicts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from crawl2gpt.core.config import ConfigError
from crawl2gpt.pipeline.config import BuildConfig, SourceConfig
from crawl2gpt.pipeline.dask_cluster import dask_runner
from crawl2gpt.quality_filter.classifier import ModelError, load_classifier
from crawl2gpt.quality_filter.config import QualityConfig, TrainingConfig
from crawl2gpt.quality_filter.selection import pareto_keep
from crawl2gpt.quality_filter.transforms import FilterQuality

REPO = Path(__file__).resolve().parents[2]
RUNNERS = {"in_memory": [],
           "multi_processing": ["--direct_running_mode", "multi_processing",
                                "--direct_num_workers", "2"],
           "dask": None}  # a local Dask cluster, started by the `runner_args` fixture
BUILD = BuildConfig(sources=[SourceConfig("wiki", "reference", ["wiki/*"], "text"),
                             SourceConfig("crawl", "raw", ["crawl/*"], "text")])


def truncation_flag(doc):
    return doc.meta.get("quality_truncated_chars")


def kept_line(doc):
    return json.dumps(["kept", doc.id, round(doc.quality_score, 6)])


def rejected_line(row):
    return json.dumps([row.doc_id, row.stage, row.reason, round(row.detail["score"], 6)])


@pytest.fixture(scope="module")
def documents(corpus):
    """140 documents: 40 reference (source `wiki`), 100 raw crawl (source `crawl`)."""
    reference, raw = corpus
    return ([d.replace(source="wiki") for d in reference[::15][:40]]
            + [d.replace(source="crawl") for d in raw[::6][:100]])


@pytest.fixture(scope="module", params=sorted(RUNNERS))
def runner_args(request):
    if RUNNERS[request.param] is not None:
        yield RUNNERS[request.param]
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(REPO))  # Dask workers import this module's functions
        with dask_runner(workers=2) as args:
            yield args


def run_to_lines(documents, config, args, out_dir) -> list[str]:
    """Kept and rejected rows as JSON lines, written by one sink: the Dask runner of Beam
    2.77 runs only the branch of the last transform (docs/scaling.md), so a pipeline with
    two `assert_that` branches could pass there without checking anything."""
    with beam.Pipeline(options=PipelineOptions(args)) as p:
        kept, rejected = p | beam.Create(documents) | FilterQuality(config, BUILD)
        lines = ((kept | "KeptLines" >> beam.Map(kept_line),
                  rejected | "RejectedLines" >> beam.Map(rejected_line)) | beam.Flatten())
        lines | beam.io.WriteToText(str(out_dir / "rows"), num_shards=1)
    return sorted((out_dir / "rows-00000-of-00001").read_text().splitlines())


def expected_lines(documents, config):
    """The verdicts computed without Beam, from the scores of the documents one by one:
    Pareto draws, or (top_fraction) the ceil(q n) highest raw scores by sorting."""
    scores = load_classifier(config.model_path).score_batch([d.text for d in documents])
    raw = sorted((s, d.id) for d, s in zip(documents, scores) if d.source == "crawl")
    top = {i for _, i in raw[len(raw) - math.ceil((config.top_fraction or 0) * len(raw)):]}
    reason = f"quality_filter_{config.selection}"
    lines = []
    for doc, score in zip(documents, scores):
        if config.top_fraction:
            keep = doc.source == "wiki" or doc.id in top
        else:
            keep = doc.source == "wiki" or pareto_keep(score, config.alpha, config.seed, doc.id)
        lines.append(json.dumps(["kept", doc.id, round(float(score), 6)] if keep
                                else [doc.id, "quality_filter", reason, round(float(score), 6)]))
    return sorted(lines)


@pytest.mark.parametrize("selection", [
    {"alpha": 3.0, "seed": 5},
    {"selection": "threshold", "top_fraction": 0.3}], ids=["pareto", "top_fraction"])
def test_kept_set_is_the_same_on_every_runner(documents, fasttext_model, runner_args,
                                              tmp_path, selection):
    config = QualityConfig(model_path=fasttext_model, **selection)
    expected = expected_lines(documents, config)
    # A test that could not fail if nothing (or everything) were removed is no test.
    assert 10 <= sum(not line.startswith('["kept"') for line in expected) <= 90
    assert run_to_lines(documents, config, runner_args, tmp_path) == expected


def test_long_document_is_flagged_as_truncated_for_scoring(documents, fasttext_model):
    config = QualityConfig(model_path=fasttext_model, selection="threshold", threshold=0.0,
                           max_chars=500)
    longest = max(documents, key=lambda d: len(d.text))
    with BeamTestPipeline() as p:
        kept, _ = p | beam.Create([longest]) | FilterQuality(config, BUILD)
        assert_that(kept | beam.Map(truncation_flag),
                    equal_to([500]))


def test_stage_config_comes_from_the_build_config_table():
    build = BuildConfig(sources=BUILD.sources, stages=["quality_filter"], stage_options={
        "quality_filter": {"alpha": 4.0, "training": {"cv_folds": 3}}})
    config = build.stage_config("quality_filter")
    assert isinstance(config, QualityConfig) and config.alpha == 4.0
    assert config.training == TrainingConfig(cv_folds=3)
    with pytest.raises(ConfigError, match="quality_filter.selection"):
        QualityConfig(selection="best")
    with pytest.raises(ConfigError, match=r"quality_filter.training.*\['folds'\]"):
        QualityConfig(training={"folds": 3})


def test_missing_model_fails_at_construction(tmp_path):
    with pytest.raises(ConfigError, match="model_path"):
        FilterQuality(QualityConfig(), BUILD)
    with pytest.raises(ModelError, match="missing.bin"):
        FilterQuality(QualityConfig(model_path=str(tmp_path / "missing.bin")), BUILD)
