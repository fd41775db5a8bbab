"""Shared fixtures: the real corpora (read once) and a small fastText model trained on them."""

from __future__ import annotations

import pytest

from crawl2gpt.quality_filter.config import QualityConfig, TrainingConfig
from crawl2gpt.quality_filter.training import save_trained_model, train_quality_model
from tests.quality_filter.corpora import raw_documents, reference_documents

# Small, fast fastText settings for tests (the defaults are sized for real crawls).
SMALL_FASTTEXT = dict(dim=16, bucket=2 ** 18, epochs=10, lr=0.5)
# Sources kept out of the session model's training entirely.
HELD_OUT_SOURCES = ("speeches", "webarchive")


@pytest.fixture(scope="session")
def corpus(shared_data):
    """(reference, raw) English documents: 150 per reference group, up to 200 per raw group."""
    return reference_documents(shared_data, 150), raw_documents(shared_data, 200)


@pytest.fixture(scope="session")
def fasttext_model(corpus, tmp_path_factory):
    """A fastText model trained on every group except HELD_OUT_SOURCES; returns its path."""
    reference, raw = corpus
    config = QualityConfig(training=TrainingConfig(**SMALL_FASTTEXT))
    trained = train_quality_model([d for d in reference if d.source not in HELD_OUT_SOURCES],
                                  [d for d in raw if d.source not in HELD_OUT_SOURCES], config)
    return save_trained_model(trained, str(tmp_path_factory.mktemp("fasttext_model")))
