"""`quality_train`: train GPT-3's quality classifier inside a build, as a Beam stage.

The stage passes every document through unchanged; on the side it gathers the documents it
sees and trains the classifier exactly as `crawl2gpt train-quality` does (in id order, so any
runner trains on the same sequence), and writes the model, its metadata and held-out evaluation
next to the configured `model_path`. A later build's `quality_filter` stage uses that model
(the filter stage needs the model when the pipeline is built, so the two do not share a build).
The stage's report row (model path, training-set sizes, held-out AUC) goes into the manifest.
"""

from __future__ import annotations

import os

import apache_beam as beam

from crawl2gpt.core.records import Document
from crawl2gpt.quality_filter.config import QualityConfig
from crawl2gpt.quality_filter.training import train_quality_from_documents


def train_on(docs: list[Document], config: QualityConfig, roles: dict[str, str]) -> dict:
    """Train on the gathered documents; the stage's report row."""
    path = train_quality_from_documents(docs, config, os.path.dirname(config.model_path) or ".",
                                        roles)
    n_reference = sum(roles[d.source] == "reference" for d in docs)
    return {"kind": "model", "name": path, "documents": len(docs),
            "reference_documents": n_reference, "raw_documents": len(docs) - n_reference}


class TrainQualityModel(beam.PTransform):
    """Documents pass through; the classifier is trained on them and written to disk."""

    def __init__(self, config: QualityConfig, build_config):
        super().__init__()
        if not config.model_path:
            raise ValueError("quality_train.model_path: where to write the model is required")
        self._config = config
        self._roles = {s.name: s.role for s in build_config.sources}
        self.report = None  # PCollection[dict], set by expand

    def expand(self, docs):
        self.report = (docs
                       | "GatherDocuments" >> beam.combiners.ToList()
                       | "Train" >> beam.Map(train_on, self._config, self._roles))
        no_rejects = docs.pipeline | "NoRejects" >> beam.Create([])
        return docs, no_rejects
