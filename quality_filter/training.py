"""Train the quality classifier: reference documents against raw crawl, evaluated held out.

Positives are documents of `reference` sources (Wikipedia, books, WebText-like corpora),
negatives the documents of `raw` crawl sources, as in GPT-3's Appendix A. Every document is
used: the class short of `balance_ratio` is up-weighted (`splits.class_weights`). The held-out
part and the cross-validation folds are separate hash draws per class over whole input files
or URL hosts (`splits`), so they do not depend on input order and a file's documents are never
on both sides. Output beside the model: `<model>.meta.json` (backend, parameters, sizes, data
hash, held-out metrics) and `<model>.eval.json` (the full held-out report).
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
from crawl2gpt.quality_filter.evaluation import (
    SNIPPET_CHARS,
    auc_by_source,
    auc_summary,
    evaluate,
    roc_auc,
)
from crawl2gpt.quality_filter.selection import calibration_table
from crawl2gpt.quality_filter.splits import (
    FOLD_SALT,
    HELDOUT_SALT,
    assign_parts,
    class_weights,
    group_key,
)


@dataclass
class Example:
    """One training document: its id, feature text (see `prepare_text`) and label."""

    id: str
    source: str
    features: str
    label: int  # 1 = reference, 0 = raw
    snippet: str = ""
    """The start of the original text, for the boundary examples of the report."""
    group: str = ""
    """The unit it is held out with (`splits.group_key`); empty: the document alone."""


@dataclass
class TrainedModel:
    classifier: QualityClassifier
    meta: dict[str, Any]
    evaluation: dict[str, Any]


def make_examples(docs: Iterable[Document], label: int, max_chars: int,
                  heldout_by: str = "document") -> tuple[list[Example], int]:
    """Feature texts of `docs`; documents without a single token are counted and left out."""
    examples, empty = [], 0
    for doc in docs:
        features = prepare_text(doc.text, max_chars)[0]
        if features:
            examples.append(Example(doc.id, doc.source, features, label,
                                    doc.text[:SNIPPET_CHARS], group_key(doc, label, heldout_by)))
        else:
            empty += 1
    return examples, empty


def check_class_sizes(n_reference: int, n_raw: int, minimum: int) -> None:
    """Refuse a class too small to train on and hold documents out of."""
    for name, n, what in (("reference", n_reference, "curated corpora"),
                          ("raw", n_raw, "crawl text")):
        if n < minimum:
            raise ValueError(
                f"too few {name} documents to train the quality classifier: {n} with text, "
                f"training.min_class_documents is {minimum}; add {name} sources ({what}) "
                f"or lower the minimum")


def _groups(examples: Sequence[Example]) -> list[str]:
    return [e.group or f"document:{e.id}" for e in examples]


def split_heldout(examples: Sequence[Example], config: QualityConfig,
                  groups: Sequence[str] | None = None
                  ) -> tuple[list[Example], list[Example], dict]:
    """(training, held-out, how each class was divided): `heldout_fraction` of each class.

    `groups` overrides the examples' own units (one per example).
    """
    f = config.training.heldout_fraction
    parts, divided = assign_parts([e.id for e in examples], groups or _groups(examples),
                                  [e.label for e in examples], [1 - f, f], config.seed,
                                  HELDOUT_SALT)
    return ([e for e, p in zip(examples, parts) if p == 0],
            [e for e, p in zip(examples, parts) if p == 1], divided)


def cross_validated_scores(examples: Sequence[Example], config: QualityConfig) -> np.ndarray:
    """Out-of-fold scores: each example scored by the model trained without its fold."""
    folds = config.training.cv_folds
    if folds < 2:
        raise ValueError("cross-validation needs training.cv_folds >= 2")
    fold, _ = assign_parts([e.id for e in examples], _groups(examples),
                           [e.label for e in examples], [1.0] * folds, config.seed, FOLD_SALT)
    scores = np.zeros(len(examples))
    for k in range(folds):
        train = [e for e, f in zip(examples, fold) if f != k]
        test = np.flatnonzero(fold == k)
        model = _fit(train, config)
        scores[test] = model.score_prepared([examples[i].features for i in test])
    return scores


def document_level_auc(examples: Sequence[Example], config: QualityConfig) -> dict[str, Any]:
    """AUC of a model held out document by document: leaks a file's style into training."""
    train, test, _ = split_heldout(examples, config, [f"document:{e.id}" for e in examples])
    scores = _fit(train, config).score_prepared([e.features for e in test])
    return auc_summary([e.label for e in test], scores)


def train_quality_model(positives: Iterable[Document], negatives: Iterable[Document],
                        config: QualityConfig) -> TrainedModel:
    """Split each class by file (or document), train weighted, evaluate held out."""
    opts = config.training
    pos, empty_pos = make_examples(positives, 1, config.max_chars, opts.heldout_by)
    neg, empty_neg = make_examples(negatives, 0, config.max_chars, opts.heldout_by)
    check_class_sizes(len(pos), len(neg), opts.min_class_documents)
    examples = sorted(pos + neg, key=lambda e: e.id)
    train, test, divided = split_heldout(examples, config)
    classifier = _fit(train, config)
    scores = classifier.score_prepared([e.features for e in test])
    labels = [e.label for e in test]
    report = evaluate([e.id for e in test], labels, scores, [e.snippet for e in test],
                      bins=opts.histogram_bins, examples=opts.boundary_examples)
    report["heldout_by"] = {"setting": opts.heldout_by, **divided}
    report["by_source"] = auc_by_source([e.source for e in test], labels, scores)
    if any(not g.startswith("document:") for g in _groups(examples)):
        report["document_level"] = document_level_auc(examples, config)
    if opts.cv_folds >= 2:
        oof = cross_validated_scores(examples, config)
        report["cross_validation"] = {"folds": opts.cv_folds, "n": len(examples),
                                      "roc_auc": roc_auc([e.label for e in examples], oof)}
    train_labels = [e.label for e in train]
    weights = class_weights(train_labels, opts.balance_ratio)
    meta = {
        "sizes": {"reference_input": len(pos) + empty_pos, "raw_input": len(neg) + empty_neg,
                  "empty_dropped": empty_pos + empty_neg,
                  "train_reference": sum(train_labels),
                  "train_raw": len(train) - sum(train_labels),
                  "heldout_reference": sum(labels),
                  "heldout_raw": len(test) - sum(labels)},
        "class_weights": {"reference": weights[1], "raw": weights[0]},
        "data_hash": data_hash(examples),
        "max_chars": config.max_chars,
        "scoring_note": f"only the first {config.max_chars} characters of a document are scored",
        "training": dataclasses.asdict(opts),
        "seed": config.seed,
        "heldout": {k: v for k, v in report.items()
                    if k in ("n_reference", "n_raw", "roc_auc", "roc_auc_bootstrap_95",
                             "operating_point", "heldout_by", "by_source", "document_level",
                             "cross_validation")},
    }
    return TrainedModel(classifier, meta, report)


def _fit(examples: Sequence[Example], config: QualityConfig) -> QualityClassifier:
    labels = [e.label for e in examples]
    return train_classifier(config.backend, [e.features for e in examples], labels,
                            config.training.backend_params(config.backend), config.max_chars,
                            class_weights(labels, config.training.balance_ratio))


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
