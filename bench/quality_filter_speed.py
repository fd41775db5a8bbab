"""Scoring speed of the quality filter per core: the Beam stage, its core, the library alone.

For each backend (fasttext, hashing-lr) the same raw-crawl documents (the C4 sample and the
CC-MAIN-2019-30 page text from `../shared/data/commoncrawl`, repeated) are scored three ways:

- library: a plain loop over the library's own predict on each raw document (fastText's
  `predict` on the text with newlines as spaces; scikit-learn's `HashingVectorizer.transform`
  + `LogisticRegression.predict_proba` on one document), plus, for scikit-learn, one batched
  `predict_proba` over all documents (the library at its best);
- core: `QualityClassifier.score_batch` on one document per call, as the stage calls it
  (artefact stripping, tokenisation and prediction, no Beam);
- stage: `FilterQuality` on Beam's in-memory DirectRunner (one worker): the CPU time of
  `documents -> FilterQuality -> Count` minus that of `documents -> identity Map -> Count`
  (least of 3 runs each), i.e. what the stage adds to a pipeline.

Speeds are per CPU-second (`time.process_time`, every thread of the process), i.e. per core.
The models are trained first on WikiText-2 paragraphs vs the CC page text with the default
settings (`TrainingConfig()`), so the model sizes are the ones a user gets.

    .venv/bin/python bench/quality_filter_speed.py --docs 6000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_NUM_THREADS", "1")

import apache_beam as beam
import numpy as np

from crawl2gpt.core.records import Document
from crawl2gpt.pipeline.config import BuildConfig, SourceConfig
from crawl2gpt.quality_filter.classifier import load_classifier
from crawl2gpt.quality_filter.config import QualityConfig
from crawl2gpt.quality_filter.training import save_trained_model, train_quality_model
from crawl2gpt.quality_filter.transforms import FilterQuality

DATA = ROOT.parent / "shared" / "data"
BUILD = BuildConfig(sources=[SourceConfig("wiki", "reference", ["-"], "text"),
                             SourceConfig("crawl", "raw", ["-"], "text")])


def crawl_texts() -> list[str]:
    texts = []
    for name in ("c4/c4-sample.00000-of-00001.json.gz",
                 "cc_text/CC-MAIN-20190717121559-20190717143559-00140.dolma.jsonl.gz"):
        with gzip.open(DATA / "commoncrawl" / name, "rt", encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f]
    return texts


def wikitext_paragraphs() -> list[str]:
    lines = (DATA / "wikipedia/wikitext-2/valid.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if len(line) > 500]


def train_models(out_dir: str) -> dict[str, str]:
    reference = [Document.create("wiki", t, record_id=str(i))
                 for i, t in enumerate(wikitext_paragraphs())]
    with gzip.open(DATA / "commoncrawl/cc_text/CC-MAIN-20190717121559-20190717143559-00140"
                   ".dolma.jsonl.gz", "rt", encoding="utf-8") as f:
        raw = [Document.create("crawl", json.loads(line)["text"], record_id=str(i))
               for i, line in enumerate(f)]
    return {backend: save_trained_model(
        train_quality_model(reference, raw, QualityConfig(backend=backend)),
        os.path.join(out_dir, backend)) for backend in ("fasttext", "hashing-lr")}


def cpu_time(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def library_loops(backend: str, model_path: str, texts: list[str]) -> dict[str, float]:
    """CPU seconds of the library's own predict, one document per call (and batched)."""
    model = load_classifier(model_path, backend)
    if backend == "fasttext":
        predict = model.model.f.predict  # the binding: fastText's wrapper breaks on numpy 2
        return {"library loop": cpu_time(
            lambda: [predict(t.replace("\n", " ") + "\n", 2, 0.0, "strict") for t in texts])}
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression
    vec = HashingVectorizer(n_features=model.coef.shape[0], norm="l2", alternate_sign=False)
    lr = LogisticRegression()
    lr.coef_, lr.intercept_ = model.coef[None, :], np.array([model.intercept])
    lr.classes_ = np.array([0, 1])
    return {"library loop": cpu_time(lambda: [lr.predict_proba(vec.transform([t]))
                                              for t in texts]),
            "library batched": cpu_time(lambda: lr.predict_proba(vec.transform(texts)))}


def core_seconds(backend: str, model_path: str, texts: list[str]) -> float:
    """`score_batch` on one document per call, as the stage calls it."""
    model = load_classifier(model_path, backend)
    return cpu_time(lambda: [model.score_batch([t]) for t in texts])


def keep_all(doc: Document) -> Document:
    return doc


class DocumentsFn(beam.DoFn):
    """Yields a slice of the benchmark's documents, so that they enter the pipeline without
    being pickled into it (`Create` of 17 MB of documents costs more than scoring them)."""

    def __init__(self, docs_getter) -> None:
        self.docs_getter = docs_getter

    def process(self, bounds: tuple[int, int]):
        yield from self.docs_getter()[bounds[0]:bounds[1]]


_DOCS: list[Document] = []


def benchmark_documents() -> list[Document]:
    return _DOCS


def pipeline_seconds(step: beam.PTransform, repeats: int = 3) -> float:
    """Least CPU seconds of documents -> step -> Count on the in-memory DirectRunner."""
    bounds = [(i, i + 500) for i in range(0, len(_DOCS), 500)]

    def run():
        with beam.Pipeline() as p:
            docs = p | beam.Create(bounds) | beam.ParDo(DocumentsFn(benchmark_documents))
            out = docs | "Step" >> step
            if isinstance(out, tuple):
                out = out | beam.Flatten()
            out | beam.combiners.Count.Globally()
    return min(cpu_time(run) for _ in range(repeats))


def stage_seconds(backend: str, model_path: str, empty_pipeline: float) -> float:
    """FilterQuality's own cost: the pipeline with it minus the same pipeline without it."""
    config = QualityConfig(model_path=model_path, backend=backend)
    return pipeline_seconds(FilterQuality(config, BUILD)) - empty_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=6000)
    args = parser.parse_args()
    base = crawl_texts()
    texts = (base * (args.docs // len(base) + 1))[:args.docs]
    _DOCS[:] = [Document.create("crawl", t, record_id=str(i)) for i, t in enumerate(texts)]
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"{len(texts)} documents, {mb:.1f} MB", flush=True)
    # Beam's own cost of moving the documents through a pipeline, without any scoring.
    empty_pipeline = pipeline_seconds(beam.Map(keep_all))
    print(f"pipeline without the stage: {empty_pipeline:.2f} CPU-s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        models = train_models(tmp)
        rows = []
        for backend, path in models.items():
            timings = library_loops(backend, path, texts)
            timings["core (score_batch)"] = core_seconds(backend, path, texts)
            timings["stage (FilterQuality)"] = stage_seconds(backend, path, empty_pipeline)
            for name, seconds in timings.items():
                rows.append((backend, name, len(texts) / seconds, mb / seconds,
                             seconds / timings["library loop"]))
    print("| backend | path | docs / CPU-s | MB / CPU-s | time vs library loop |")
    print("| --- | --- | ---: | ---: | ---: |")
    for backend, name, docs_s, mb_s, ratio in rows:
        print(f"| {backend} | {name} | {docs_s:,.0f} | {mb_s:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
