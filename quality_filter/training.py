"""Train the quality classifier: reference documents against raw crawl, evaluated held out.

Positives are documents of `reference` sources (Wikipedia, books, WebText-like corpora),
negatives the documents of `raw` crawl sources, as in GPT-3's Appendix A. The larger class is
subsampled to `balance_ratio` negatives per positive; the held-out split and the
cross-validation folds are chosen by a hash of the document id, so they do not depend on input
order. Output beside the model: `<model>.meta.json` (backend, parameters, sizes, data hash,
held-out metrics) and `<model>.eval.json` (the full held-out report).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from crawl2gpt.core.records import Document
from crawl2gpt.quality_filter.classifier import (
    MODEL_SUFFIX,
    QualityClassifier,
    evaluation_path,
    prepare_text,
    save_classifier,
    train_classifier,
)
from crawl2gpt.quality_filter.config import QualityConfig
from crawl2gpt.quality_filter.evaluation import SNIPPET_CHARS, evaluate, roc_auc
from crawl2gpt.quality_filter.selection import calibration_table


@dataclass
class Example:
    """One training document: its id, feature text (see `prepare_text`) and label."""

    id: str
    source: str
    features: str
    label: int  # 1 = reference, 0 = raw
    snippet: str = ""
    """The start of the original text, for the boundary examples of the report."""


@dataclass
class TrainedModel:
    classifier: QualityClassifier
    meta: dict[str, Any]
    evaluation: dict[str, Any]


def unit_hash(seed: int, key: str) -> float:
    """A number in [0, 1) determined by (seed, key) alone."""
    digest = hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2.0 ** 64


def make_examples(docs: Iterable[Document], label: int,
                  max_chars: int) -> tuple[list[Example], int]:
    """Feature texts of `docs`; documents without a single token are counted and left out."""
    examples, empty = [], 0
    for doc in docs:
        features = prepare_text(doc.text, max_chars)[0]
        if features:
            examples.append(Example(doc.id, doc.source, features, label,
                                    doc.text[:SNIPPET_CHARS]))
        else:
            empty += 1
    return examples, empty


def balance(examples: list[Example], ratio: float, seed: int) -> list[Example]:
    """Subsample the larger class to `ratio` negatives per positive, by id hash."""
    pos = sorted((e for e in examples if e.label == 1), key=lambda e: unit_hash(seed, e.id))
    neg = sorted((e for e in examples if e.label == 0), key=lambda e: unit_hash(seed, e.id))
    if len(neg) > ratio * len(pos):
        neg = neg[:max(1, round(ratio * len(pos)))]
    else:
        pos = pos[:max(1, round(len(neg) / ratio))]
    return sorted(pos + neg, key=lambda e: e.id)


def fold_of(seed: int, doc_id: str, folds: int) -> int:
    return int(unit_hash(seed + 1, doc_id) * folds)


def cross_validated_scores(examples: Sequence[Example], config: QualityConfig) -> np.ndarray:
    """Out-of-fold scores: each example scored by the model trained without its fold."""
    folds = config.training.cv_folds
    if folds < 2:
        raise ValueError("cross-validation needs training.cv_folds >= 2")
    fold = np.array([fold_of(config.seed, e.id, folds) for e in examples])
    scores = np.zeros(len(examples))
    for k in range(folds):
        train = [e for e, f in zip(examples, fold) if f != k]
        test = np.flatnonzero(fold == k)
        model = _fit(train, config)
        scores[test] = model.score_prepared([examples[i].features for i in test])
    return scores


def train_quality_model(positives: Iterable[Document], negatives: Iterable[Document],
                        config: QualityConfig) -> TrainedModel:
    """Balance, split by id hash, train, and evaluate on the held-out documents."""
    opts = config.training
    pos, empty_pos = make_examples(positives, 1, config.max_chars)
    neg, empty_neg = make_examples(negatives, 0, config.max_chars)
    if not pos or not neg:
        raise ValueError(f"training needs reference and raw documents with text; got "
                         f"{len(pos)} reference and {len(neg)} raw")
    examples = balance(pos + neg, opts.balance_ratio, config.seed)
    held = [unit_hash(config.seed, e.id) < opts.heldout_fraction for e in examples]
    train = [e for e, h in zip(examples, held) if not h]
    test = [e for e, h in zip(examples, held) if h]
    classifier = _fit(train, config)
    scores = classifier.score_prepared([e.features for e in test])
    report = evaluate([e.id for e in test], [e.label for e in test], scores,
                      [e.snippet for e in test], bins=opts.histogram_bins,
                      examples=opts.boundary_examples)
    if opts.cv_folds >= 2:
        oof = cross_validated_scores(examples, config)
        labels = [e.label for e in examples]
        report["cross_validation"] = {"folds": opts.cv_folds, "n": len(examples),
                                      "roc_auc": roc_auc(labels, oof)}
    meta = {
        "sizes": {"reference_input": len(pos) + empty_pos, "raw_input": len(neg) + empty_neg,
                  "empty_dropped": empty_pos + empty_neg,
                  "train_reference": sum(e.label for e in train),
                  "train_raw": sum(1 - e.label for e in train),
                  "heldout_reference": sum(e.label for e in test),
                  "heldout_raw": sum(1 - e.label for e in test)},
        "data_hash": data_hash(examples),
        "max_chars": config.max_chars,
        "scoring_note": f"only the first {config.max_chars} characters of a document are scored",
        "training": dataclasses.asdict(opts),
        "seed": config.seed,
        "heldout": {k: v for k, v in report.items()
                    if k in ("n_reference", "n_raw", "roc_auc", "roc_auc_bootstrap_95",
                             "operating_point", "cross_validation")},
    }
    return TrainedModel(classifier, meta, report)


def _fit(examples: Sequence[Example], config: QualityConfig) -> QualityClassifier:
    return train_classifier(config.backend, [e.features for e in examples],
                            [e.label for e in examples],
                            config.training.backend_params(config.backend), config.max_chars)


def data_hash(examples: Sequence[Example]) -> str:
    """sha256 over (label, id, feature text) of every example, in id order."""
    h = hashlib.sha256()
    for e in sorted(examples, key=lambda e: e.id):
        h.update(f"{e.label}\x00{e.id}\x00{e.features}\x01".encode("utf-8"))
    return h.hexdigest()


def model_filename(backend: str) -> str:
    return f"quality_{backend.replace('-', '_')}{MODEL_SUFFIX[backend]}"


def save_trained_model(trained: TrainedModel, out_dir: str) -> str:
    """Write model, metadata and evaluation into `out_dir`; returns the model path."""
    path = os.path.join(out_dir, model_filename(trained.classifier.backend))
    save_classifier(trained.classifier, path, trained.meta)
    with open(evaluation_path(path), "w", encoding="utf-8") as f:
        json.dump(trained.evaluation, f, indent=2, sort_keys=True)
    return path


def split_by_role(docs: Iterable[Document],
                  roles: Mapping[str, str]) -> tuple[list[Document], list[Document]]:
    """(reference documents, raw documents); `roles` maps source name to its role."""
    reference, raw = [], []
    for doc in docs:
        role = roles.get(doc.source)
        if role == "reference":
            reference.append(doc)
        elif role == "raw":
            raw.append(doc)
        else:
            raise ValueError(f"document {doc.id} comes from source {doc.source!r}, which has "
                             f"no role; known sources: {sorted(roles)}")
    return reference, raw


def train_quality_from_documents(docs: Iterable[Document], config: QualityConfig,
                                 out_dir: str, roles: Mapping[str, str]) -> str:
    """What `crawl2gpt train-quality` runs on the documents the build's readers produced.

    `roles` is `{source.name: source.role for source in build_config.sources}`.
    Returns the path of the saved model.
    """
    # Id order: the same documents give the same model whatever order they arrive in.
    reference, raw = split_by_role(sorted(docs, key=lambda d: d.id), roles)
    return save_trained_model(train_quality_model(reference, raw, config), out_dir)


def calibrate(classifier: QualityClassifier, reference: Sequence[Document],
              raw: Sequence[Document], alphas: Sequence[float] = (1, 2, 4, 9, 16, 32),
              thresholds: Sequence[float] = (0.5, 0.7, 0.9)) -> list[dict]:
    """Score both sets and tabulate what each alpha / threshold keeps of each."""
    return calibration_table(classifier.score_batch([d.text for d in reference]),
                             classifier.score_batch([d.text for d in raw]),
                             alphas=alphas, thresholds=thresholds)
