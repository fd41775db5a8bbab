"""The dedup composites on Beam's Dask runner give the rows of the direct runner.

The Dask runner of apache-beam 2.77 runs only the ancestors of the pipeline's last transform
(docs/scaling.md), so every checked row is flattened into one PCollection whose list is written
to a JSON file by the last transform; `assert_that` would not be run there. A partition size of
16 elements spreads the small inputs over several bundles and both workers.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import apache_beam as beam
import distributed  # noqa: E402 - a main dependency (the Dask runner)
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from crawl2gpt.dedup.config import FuzzyDedupConfig
from crawl2gpt.dedup.contamination_transforms import RemoveContamination, SplitCleanDirty
from crawl2gpt.dedup.transforms import DedupFuzzy
from crawl2gpt.pipeline.dask_cluster import runner_args
from tests.dedup.test_contamination_beam import contamination_corpus, doc_row, json_row
from tests.dedup.test_contamination_beam import rejected_row as contamination_row
from tests.dedup.test_transforms import build_config, rejected_row
from tests.dedup.util import small_corpus


@pytest.fixture(scope="module")
def dask_options():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        yield runner_args(cluster.scheduler_address, partition_size=16)


@pytest.fixture(scope="module")
def contamination(shared_data):
    return contamination_corpus(shared_data)


def tagged(value, tag: str) -> str:
    return json.dumps([tag, value], sort_keys=True)


def kept_id(doc) -> str:
    return tagged(doc.id, "kept")


def fuzzy_row(row) -> str:
    return tagged(rejected_row(row), "rejected")


def kept_row(doc) -> str:
    return tagged(doc_row(doc), "kept")


def cut_row(row) -> str:
    return tagged(contamination_row(row), "rejected")


def report_row(record) -> str:
    return tagged(json_row(record), "report")


def discard(_value) -> None:
    """The last step of a pipeline that is expected to fail before it."""


def write_rows(rows: list[str], path: str) -> None:
    Path(path).write_text(json.dumps(sorted(rows)), encoding="utf-8")


def run(pipeline: beam.Pipeline) -> None:
    """Runs to the end; closes the Dask runner's client, which would linger otherwise."""
    result = pipeline.run()
    try:
        result.wait_until_finish()
    finally:
        if hasattr(result, "client"):
            result.client.close()


def collected_rows(options: list[str], path: Path, make_rows) -> list[str]:
    """Runs `make_rows(pipeline) -> PCollection[str]`; its rows, gathered by the last step."""
    p = beam.Pipeline(options=PipelineOptions(options))
    _ = (make_rows(p) | "AllRows" >> beam.combiners.ToList()
         | "WriteRows" >> beam.Map(write_rows, str(path)))
    run(p)
    return json.loads(path.read_text(encoding="utf-8"))


def on_both_runners(tmp_path: Path, dask_options: list[str], make_rows) -> list[str]:
    direct = collected_rows([], tmp_path / "direct.json", make_rows)
    dask = collected_rows(dask_options, tmp_path / "dask.json", make_rows)
    assert dask == direct
    return direct


def test_dedup_fuzzy_on_dask(tmp_path, dask_options, shared_data):
    docs, expected = small_corpus(shared_data)
    # Star rounds: the path with the convergence check, which must run on Dask too.
    config = FuzzyDedupConfig(max_rounds=6, union_find_max_nodes=0)

    def make_rows(p):
        kept, rejected = p | beam.Create(docs) | "DedupFuzzy" >> DedupFuzzy(config,
                                                                           build_config())
        return ((kept | "KeptIds" >> beam.Map(kept_id),
                 rejected | "RejectedRows" >> beam.Map(fuzzy_row)) | "Rows" >> beam.Flatten())

    rows = [json.loads(r) for r in on_both_runners(tmp_path, dask_options, make_rows)]
    # Both runners make the removals of the corpus design (tests/dedup/util.py).
    assert {r[0]: (r[2], r[3]) for tag, r in rows if tag == "rejected"} == expected
    assert sorted(i for tag, i in rows if tag == "kept") == \
        sorted(d.id for d in docs if d.id not in expected)


def test_not_converged_fails_on_dask(dask_options, shared_data):
    """The convergence check is flattened into the labels, so Dask runs it too."""
    docs, _ = small_corpus(shared_data)
    chain = [d for d in docs if d.record_id.startswith("chain")]
    config = FuzzyDedupConfig(max_rounds=1, union_find_max_nodes=0)
    p = beam.Pipeline(options=PipelineOptions(dask_options))
    _, rejected = p | beam.Create(chain) | DedupFuzzy(config, build_config())
    _ = rejected | beam.combiners.Count.Globally() | beam.Map(discard)
    with pytest.raises(Exception, match="did not converge in 1 star rounds"):
        run(p)


@pytest.mark.parametrize("mode", ["side_input", "keyed_join"])
def test_remove_contamination_on_dask(tmp_path, dask_options, contamination, mode):
    cfg, docs, expected = contamination
    docs = docs[:20]  # the documents of every outcome are the first 17 of the corpus

    def make_rows(p):
        stage = RemoveContamination(dataclasses.replace(cfg, mode=mode), None)
        kept, rejected = p | beam.Create(docs) | "Contamination" >> stage
        return ((kept | "KeptRows" >> beam.Map(kept_row),
                 rejected | "RejectedRows" >> beam.Map(cut_row),
                 stage.report | "ReportRows" >> beam.Map(report_row)) | "Rows" >> beam.Flatten())

    rows = [json.loads(r) for r in on_both_runners(tmp_path, dask_options, make_rows)]
    # The documents cut or dropped are all among the first 20, with every n-gram that hits them
    # (the core's rows on the whole corpus, itself checked against a brute force).
    assert sorted(r for tag, r in rows if tag == "rejected") == \
        sorted(list(contamination_row(r)) for r in expected.rejected)
    assert sorted(r for tag, r in rows if tag == "report") == \
        sorted(json_row(r) for r in expected.report)
    assert sum(tag == "kept" for tag, _ in rows) > 20 - len(expected.rejected)


def test_split_clean_dirty_on_dask(tmp_path, dask_options, contamination):
    cfg, docs, _ = contamination

    def make_rows(p):
        return (p | beam.Create(docs[:20]) | "CleanDirty" >> SplitCleanDirty(cfg)
                | "RecordRows" >> beam.Map(json_row))

    records = {r["benchmark"]: r for r in map(json.loads, on_both_runners(tmp_path, dask_options,
                                                                           make_rows))}
    # All 8 LAMBADA passages are pasted into the second document of the corpus.
    assert records["lambada_openai_small"]["dirty_count"] == 8
    assert len(records) == 4
