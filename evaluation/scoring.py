"""Scoring rules over plain numbers and strings (GPT-3 §2.4); no model here.

Multiple choice: the choice with the highest log-likelihood, in total (`acc`), per token
(`acc_norm`), per character (`acc_char`), or divided by its unconditional probability given
only an answer context (`acc_uncond`, ARC and OpenBookQA in the paper). Free-form answers:
exact match, SQuAD-style token F1 and alias match after SQuAD's answer normalisation. Beam
search ranks hypotheses with GNMT's length penalty ((5 + |Y|) / 6) ** alpha.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


@dataclass(frozen=True)
class ChoiceScore:
    loglikelihood: float
    tokens: int
    chars: int
    unconditional: float | None = None
    """log P(choice | answer context), where the task uses unconditional normalisation."""


def argmax(values: Sequence[float]) -> int:
    """Index of the largest value; ties go to the first (as lm-eval's np.argmax)."""
    return max(range(len(values)), key=lambda i: (values[i], -i))


def choice_predictions(scores: Sequence[ChoiceScore]) -> dict[str, int]:
    """The chosen index under each normalisation available for these scores."""
    predictions = {
        "acc": argmax([s.loglikelihood for s in scores]),
        "acc_norm": argmax([s.loglikelihood / max(s.tokens, 1) for s in scores]),
        "acc_char": argmax([s.loglikelihood / max(s.chars, 1) for s in scores]),
    }
    if all(s.unconditional is not None for s in scores):
        predictions["acc_uncond"] = argmax([s.loglikelihood - s.unconditional for s in scores])
    return predictions


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> bool:
    """Exact match after stripping surrounding whitespace (GPT-3's synthetic tasks)."""
    return prediction.strip() == reference.strip()


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD's bag-of-words F1 between normalised answers."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def free_form_metrics(prediction: str, answer: str, aliases: Sequence[str]) -> dict[str, float]:
    """TriviaQA-style: alias match and best F1 over the answer and its aliases."""
    references = [answer, *aliases]
    normalized = normalize_answer(prediction)
    return {
        "alias_match": float(any(normalized == normalize_answer(r) for r in references)),
        "exact_match": float(normalized == normalize_answer(answer)),
        "f1": max(token_f1(prediction, r) for r in references),
    }


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """`text` up to the first stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def gnmt_length_penalty(length: int, alpha: float = 0.6) -> float:
    """GNMT (Wu et al. 2016): lp(Y) = ((5 + |Y|) / 6) ** alpha; beam scores are logP / lp."""
    return ((5 + length) / 6) ** alpha


def mean_and_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % normal-approximation confidence interval."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = sum(values) / n
    if n == 1:
        return mean, math.nan
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, 1.96 * math.sqrt(var / n)
