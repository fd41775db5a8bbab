"""The classifier: feature text, persistence without pickle, bad input and bad model files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from crawl2gpt.quality_filter.classifier import (
    FEATURE_VERSION,
    HashingLRClassifier,
    ModelError,
    load_classifier,
    meta_path,
    prepare_text,
    save_classifier,
    train_classifier,
)
from crawl2gpt.quality_filter.config import TrainingConfig
from tests.quality_filter.conftest import SMALL_FASTTEXT

PARAMS = {"fasttext": TrainingConfig(**SMALL_FASTTEXT).backend_params("fasttext"),
          "hashing-lr": TrainingConfig().backend_params("hashing-lr")}


@pytest.fixture(scope="module")
def small_set(corpus):
    reference, raw = corpus
    docs = reference[::10] + raw[::10]
    labels = [1] * len(reference[::10]) + [0] * len(raw[::10])
    return [d.text for d in docs], labels


@pytest.fixture(scope="module", params=["fasttext", "hashing-lr"])
def saved_model(request, small_set, tmp_path_factory):
    texts, labels = small_set
    features = [prepare_text(t, 100_000)[0] for t in texts]
    model = train_classifier(request.param, features, labels, PARAMS[request.param])
    suffix = ".bin" if request.param == "fasttext" else ".npz"
    path = str(tmp_path_factory.mktemp(request.param) / f"model{suffix}")
    save_classifier(model, path, {"note": "test"})
    return request.param, path, model


def test_wikitext_spacing_and_markers_give_the_same_features_as_plain_text():
    wikitext = "It is a species of <unk> lobster , known as 1 @,@ 000 @-@ year @-@ old ."
    plain = "It is a species of lobster, known as 1,000-year-old."
    assert prepare_text(wikitext, 1000) == prepare_text(plain, 1000)


def test_reload_gives_identical_scores(saved_model, small_set):
    backend, path, model = saved_model
    texts, _ = small_set
    loaded = load_classifier(path, backend)
    assert np.array_equal(loaded.score_batch(texts), model.score_batch(texts))
    meta = json.loads(open(meta_path(path)).read())
    assert meta["backend"] == backend and meta["feature_version"] == FEATURE_VERSION


@pytest.mark.parametrize("ngram_max", [1, 2])
def test_hashing_lr_matches_scikit_learn_pipeline(small_set, ngram_max):
    # Reference: scikit-learn's own HashingVectorizer + LogisticRegression.predict_proba.
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression
    texts, labels = small_set
    features = [prepare_text(t, 100_000)[0] for t in texts]
    params = {**PARAMS["hashing-lr"], "ngram_max": ngram_max}
    ours = HashingLRClassifier.train(features, labels, params)
    vec = HashingVectorizer(n_features=params["n_features"], ngram_range=(1, ngram_max),
                            norm="l2", alternate_sign=False, token_pattern=r"\S+",
                            lowercase=False)
    lr = LogisticRegression(C=params["C"], max_iter=params["max_iter"]).fit(
        vec.transform(features), labels)
    expected = lr.predict_proba(vec.transform(features))[:, list(lr.classes_).index(1)]
    np.testing.assert_allclose(ours.score_prepared(features), expected, atol=1e-6)
    one_at_a_time = [ours.score_prepared([f])[0] for f in features[:20]]
    np.testing.assert_allclose(one_at_a_time, expected[:20], atol=1e-6)


def test_bad_text_is_scored_not_raised(saved_model):
    backend, path, _ = saved_model
    model = load_classifier(path, backend, max_chars=5000)
    garbage = bytes(range(256)).decode("latin-1") * 20 + "\ud800\x00\n\r\t"
    scores = model.score_batch(["", "   \n\n ", garbage, "ok text here"])
    assert scores[0] == 0.0 and scores[1] == 0.0  # nothing to score: not reference-like
    assert np.all((scores >= 0) & (scores <= 1))


def test_long_document_is_scored_on_its_first_max_chars(saved_model, small_set):
    backend, path, _ = saved_model
    model = load_classifier(path, backend, max_chars=3000)
    long_text = " ".join(small_set[0])  # several hundred kB of real text
    assert len(long_text) > 100_000
    assert prepare_text(long_text, 3000)[1] is True
    assert model.score_batch([long_text])[0] == model.score_batch([long_text[:3000]])[0]


def test_missing_model_names_the_file(tmp_path):
    path = str(tmp_path / "nope.bin")
    with pytest.raises(ModelError, match="nope.bin"):
        load_classifier(path)


def test_missing_metadata_names_the_metadata_file(saved_model, tmp_path):
    _, path, _ = saved_model
    copy = tmp_path / "copy.model"
    shutil.copy(path, copy)
    with pytest.raises(ModelError, match="copy.model.meta.json"):
        load_classifier(str(copy))


def test_wrong_backend_names_the_file_and_both_backends(saved_model):
    backend, path, _ = saved_model
    other = "hashing-lr" if backend == "fasttext" else "fasttext"
    with pytest.raises(ModelError, match=f"{path}.*{backend}.*{other}"):
        load_classifier(path, other)


def test_model_file_of_another_format_names_the_file(saved_model, tmp_path):
    backend, path, _ = saved_model
    fake = tmp_path / "fake.model"
    fake.write_bytes(b"this is not a model" * 100)
    shutil.copy(meta_path(path), meta_path(str(fake)))
    with pytest.raises(ModelError, match="fake.model"):
        load_classifier(str(fake), backend)


def test_model_of_an_older_feature_version_is_refused(saved_model, tmp_path):
    _, path, _ = saved_model
    copy = tmp_path / "old.model"
    shutil.copy(path, copy)
    meta = json.loads(open(meta_path(path)).read())
    meta["feature_version"] = FEATURE_VERSION - 1
    (tmp_path / "old.model.meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="old.model.*retrain"):
        load_classifier(str(copy))
