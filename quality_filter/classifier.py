"""The quality classifier: P(a document looks like the reference corpora), two backends.

GPT-3 (Appendix A; `../shared/docs/gpt3-recipe.md` §1.2) scored Common Crawl with a logistic
regression over Spark's tokenizer + `HashingTF` features, trained with curated corpora as
positives and raw crawl as negatives. `hashing-lr` reproduces that with scikit-learn's
`HashingVectorizer` + `LogisticRegression`; `fasttext` (default) is a faster linear model over
word unigrams and bigrams.

Both backends see the same feature text (`prepare_text`): source artefacts stripped, the first
`max_chars` characters only, lower-cased, punctuation split off words. Models are persisted
without pickle: fastText's own `.bin`, or an `.npz` of coefficients plus the vectoriser
parameters as JSON; a `<model>.meta.json` beside either says which backend wrote it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from abc import ABC, abstractmethod
from typing import Any, Sequence

import numpy as np

from crawl2gpt.quality_filter.artefacts import strip_artefacts

BACKENDS = ("fasttext", "hashing-lr")
MODEL_SUFFIX = {"fasttext": ".bin", "hashing-lr": ".npz"}
# Bump when the feature text changes: a model trained on other features must not be reused.
FEATURE_VERSION = 1

_TOKEN = re.compile(r"\w+|[^\w\s]")
# Control characters and lone surrogates: fastText's C++ side cannot take them.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class ModelError(ValueError):
    """A quality model file is missing, unreadable or of another backend; names the file."""


def prepare_text(text: str, max_chars: int) -> tuple[str, bool]:
    """(feature text, truncated): the one input both backends train and score on.

    Only the first `max_chars` characters are read, so a 1 GB document costs what a 100 kB one
    does. Tokens are `\\w+` runs and single punctuation marks, so WikiText's ` , ` spacing and
    ordinary `,` spacing give the same features.
    """
    truncated = len(text) > max_chars
    if truncated:
        text = text[:max_chars]
    text = _UNSAFE.sub(" ", strip_artefacts(text))
    return " ".join(_TOKEN.findall(text.lower())), truncated


def meta_path(model_path: str) -> str:
    return model_path + ".meta.json"


def evaluation_path(model_path: str) -> str:
    return model_path + ".eval.json"


class QualityClassifier(ABC):
    """Scores documents in [0, 1]; higher = more like the reference corpora."""

    backend: str

    def __init__(self, max_chars: int = 100_000) -> None:
        self.max_chars = max_chars

    def score_batch(self, texts: Sequence[str]) -> np.ndarray:
        """P(reference-like) per text; text without a single token (empty, blank) scores 0."""
        return self.score_prepared([prepare_text(t, self.max_chars)[0] for t in texts])

    def score_prepared(self, features: Sequence[str]) -> np.ndarray:
        """Scores of texts already passed through `prepare_text`."""
        scores = np.zeros(len(features), dtype=np.float64)
        nonempty = [i for i, f in enumerate(features) if f]
        if nonempty:
            raw = self._score_features([features[i] for i in nonempty])
            scores[nonempty] = np.clip(raw, 0.0, 1.0)
        return scores

    @classmethod
    @abstractmethod
    def train(cls, features: Sequence[str], labels: Sequence[int], params: dict[str, Any],
              max_chars: int = 100_000) -> QualityClassifier:
        """Fit on feature texts (`prepare_text`) with labels 1 = reference, 0 = raw."""

    @classmethod
    @abstractmethod
    def load(cls, model_path: str, max_chars: int = 100_000) -> QualityClassifier: ...

    @abstractmethod
    def _score_features(self, features: list[str]) -> np.ndarray: ...

    @abstractmethod
    def save(self, model_path: str) -> None: ...

    @abstractmethod
    def parameters(self) -> dict[str, Any]:
        """The backend's hyper-parameters, for the metadata file."""


class FastTextClassifier(QualityClassifier):
    backend = "fasttext"
    LABELS = {1: "__label__reference", 0: "__label__raw"}

    def __init__(self, model: Any, params: dict[str, Any], max_chars: int = 100_000) -> None:
        super().__init__(max_chars)
        self.model = model
        self.params = params

    @classmethod
    def train(cls, features: Sequence[str], labels: Sequence[int], params: dict[str, Any],
              max_chars: int = 100_000) -> FastTextClassifier:
        """Supervised fastText; `params` are train_supervised's keywords (wordNgrams=2, ...)."""
        import fasttext
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "train.txt")
            with open(path, "w", encoding="utf-8") as f:
                for text, label in zip(features, labels):
                    f.write(f"{cls.LABELS[label]} {text}\n")
            model = fasttext.train_supervised(input=path, loss="softmax", verbose=0, **params)
        return cls(model, params, max_chars)

    @classmethod
    def load(cls, model_path: str, max_chars: int = 100_000) -> FastTextClassifier:
        import fasttext
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # a notice about its return type
                model = fasttext.load_model(model_path)
        except ValueError as e:
            raise ModelError(f"{model_path}: not a readable fastText model ({e})") from None
        if sorted(model.labels) != sorted(cls.LABELS.values()):
            raise ModelError(f"{model_path}: fastText model has labels {model.labels}, "
                             f"expected {sorted(cls.LABELS.values())}")
        return cls(model, {}, max_chars)

    def _score_features(self, features: list[str]) -> np.ndarray:
        # The binding's per-line predict, not the wrapper's `predict`: under numpy 2 the
        # wrapper raises on one line (`np.array(copy=False)`) and, for a list, repeats the top
        # probability for every label (fasttext-wheel 0.9.2).
        predict, reference = self.model.f.predict, self.LABELS[1]
        return np.array([dict((label, p) for p, label in predict(f + "\n", 2, 0.0, "strict"))
                         .get(reference, 0.0) for f in features], dtype=np.float64)

    def save(self, model_path: str) -> None:
        self.model.save_model(model_path)

    def parameters(self) -> dict[str, Any]:
        return dict(self.params)


class HashingLRClassifier(QualityClassifier):
    """Logistic regression over hashed term frequencies (the paper's classifier).

    Features are those of scikit-learn's `HashingVectorizer(norm="l2", alternate_sign=False)`
    on the feature text's tokens (and word n-grams up to `ngram_max`), computed with its
    `FeatureHasher` directly: the same numbers, without HashingVectorizer's per-call
    validation, which costs more than hashing one document (the stage scores one at a time).
    """

    backend = "hashing-lr"

    def __init__(self, vectorizer_params: dict[str, Any], coef: np.ndarray, intercept: float,
                 lr_params: dict[str, Any] | None = None, max_chars: int = 100_000) -> None:
        from sklearn.feature_extraction import FeatureHasher
        super().__init__(max_chars)
        if vectorizer_params.get("norm") != "l2":
            raise ValueError(f"hashing-lr supports norm 'l2' only, not {vectorizer_params}")
        self.vectorizer_params = vectorizer_params
        self.hasher = FeatureHasher(n_features=vectorizer_params["n_features"],
                                    input_type="string",
                                    alternate_sign=vectorizer_params["alternate_sign"])
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = float(intercept)
        self.lr_params = lr_params or {}

    @classmethod
    def train(cls, features: Sequence[str], labels: Sequence[int], params: dict[str, Any],
              max_chars: int = 100_000) -> HashingLRClassifier:
        """`params`: n_features, ngram_max, C, max_iter."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import normalize
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
        vec_params = {"n_features": int(params["n_features"]),
                      "ngram_max": int(params["ngram_max"]), "norm": "l2", "alternate_sign": False}
        lr_params = {"C": float(params["C"]), "max_iter": int(params["max_iter"])}
        untrained = cls(vec_params, np.zeros(vec_params["n_features"]), 0.0, lr_params, max_chars)
        lr = LogisticRegression(solver="lbfgs", **lr_params)
        with threadpool_limits(1):  # BLAS threads only contend on vectors this size
            lr.fit(normalize(untrained.hashed_counts(features)), np.asarray(labels))
        sign = 1.0 if lr.classes_[1] == 1 else -1.0  # make the coefficients point to `reference`
        return cls(vec_params, sign * lr.coef_[0], sign * lr.intercept_[0], lr_params, max_chars)

    @classmethod
    def load(cls, model_path: str, max_chars: int = 100_000) -> HashingLRClassifier:
        try:
            with np.load(model_path, allow_pickle=False) as data:
                params = json.loads(str(data["vectorizer"]))
                coef, intercept = data["coef"], float(data["intercept"])
        except (OSError, ValueError, KeyError) as e:
            raise ModelError(f"{model_path}: not a readable hashing-lr model ({e})") from None
        if coef.shape != (params["n_features"],):
            raise ModelError(f"{model_path}: {coef.shape[0]} coefficients for "
                             f"{params['n_features']} hashed features")
        return cls(params, coef, intercept, max_chars=max_chars)

    def hashed_counts(self, features: Sequence[str]):
        """Sparse matrix of hashed term counts, one row per feature text."""
        ngram_max = self.vectorizer_params["ngram_max"]
        return self.hasher.transform(_terms(f, ngram_max) for f in features)

    def decision(self, features: Sequence[str]) -> np.ndarray:
        """The linear score w·x/|x| + b (log-odds of `reference`), x the hashed counts."""
        counts = self.hashed_counts(features)
        norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
        return (counts @ self.coef) / np.maximum(norms, 1e-12) + self.intercept

    def _score_features(self, features: list[str]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.decision(features)))

    def save(self, model_path: str) -> None:
        with open(model_path, "wb") as f:  # np.savez would append ".npz" to a bare name
            np.savez(f, coef=self.coef, intercept=np.float64(self.intercept),
                     vectorizer=np.str_(json.dumps(self.vectorizer_params, sort_keys=True)))

    def parameters(self) -> dict[str, Any]:
        return {**self.vectorizer_params, **self.lr_params}


def _terms(feature_text: str, ngram_max: int) -> list[str]:
    """Tokens then word n-grams joined by a space, as HashingVectorizer's word analyzer makes."""
    tokens = feature_text.split()
    terms = list(tokens)
    for n in range(2, ngram_max + 1):
        terms += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return terms


_CLASSES: dict[str, type[QualityClassifier]] = {
    "fasttext": FastTextClassifier, "hashing-lr": HashingLRClassifier}


def train_classifier(backend: str, features: Sequence[str], labels: Sequence[int],
                     params: dict[str, Any], max_chars: int = 100_000) -> QualityClassifier:
    if backend not in _CLASSES:
        raise ValueError(f"unknown quality backend {backend!r}; known: {list(BACKENDS)}")
    return _CLASSES[backend].train(features, labels, params, max_chars)


def read_meta(model_path: str) -> dict[str, Any]:
    path = meta_path(model_path)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        message = f"{path}: metadata file of quality model {model_path} is missing"
        raise ModelError(message) from None
    except json.JSONDecodeError as e:
        raise ModelError(f"{path}: invalid JSON ({e})") from None


def check_model(model_path: str, backend: str | None = None) -> dict[str, Any]:
    """The model's metadata, after checking that it exists and was written by `backend`.

    Cheap (no model is loaded): a pipeline calls it at construction to fail before it runs.
    """
    if not os.path.isfile(model_path):
        raise ModelError(f"{model_path}: quality model file not found")
    meta = read_meta(model_path)
    saved = meta.get("backend")
    if saved not in _CLASSES:
        raise ModelError(f"{meta_path(model_path)}: unknown backend {saved!r}")
    if backend is not None and saved != backend:
        raise ModelError(f"{model_path}: model was trained with backend {saved!r}, "
                         f"but backend {backend!r} was asked for")
    if meta.get("feature_version") != FEATURE_VERSION:
        raise ModelError(f"{model_path}: feature version {meta.get('feature_version')} != "
                         f"{FEATURE_VERSION} of this code; retrain the model")
    return meta


def load_classifier(model_path: str, backend: str | None = None,
                    max_chars: int = 100_000) -> QualityClassifier:
    """Load a saved model, checking that it exists and was written by `backend`."""
    meta = check_model(model_path, backend)
    return _CLASSES[meta["backend"]].load(model_path, max_chars)


def save_classifier(classifier: QualityClassifier, model_path: str,
                    meta: dict[str, Any]) -> None:
    """Write the model file and its metadata JSON beside it."""
    os.makedirs(os.path.dirname(os.path.abspath(model_path)), exist_ok=True)
    classifier.save(model_path)
    full_meta = {"backend": classifier.backend, "feature_version": FEATURE_VERSION,
                 "parameters": classifier.parameters(), **meta}
    with open(meta_path(model_path), "w", encoding="utf-8") as f:
        json.dump(full_meta, f, indent=2, sort_keys=True)
