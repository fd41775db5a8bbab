"""Language identification: ISO 639-1 code and confidence of a text, and the keep decision.

The model is py3langid's (a fork of Lui & Baldwin's langid.py, 97 languages, naive Bayes over
byte n-grams), shipped inside the PyPI wheel: nothing is downloaded at run time. Scores are
its normalised probabilities (0..1). Plain Python; no Beam.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from crawl2gpt.quality_filter.heuristics_config import LanguageIdConfig

STAGE = "language_id"
UNKNOWN = "und"
"""Label of a text without any letter (only digits, symbols and punctuation)."""
_LETTER = re.compile(r"[^\W\d_]")


class LanguageGuess(NamedTuple):
    language: str
    score: float


@lru_cache(maxsize=1)
def packaged_model():
    """py3langid's model, loaded once per process (about 1.5 s), shared by every identifier."""
    from py3langid.langid import MODEL_FILE
    from py3langid.langid import LanguageIdentifier as Model

    return Model.from_model_file(MODEL_FILE, norm_probs=True)


class LanguageIdentifier:
    """`identify` takes about 1 ms per 10 kB once the model is loaded."""

    def __init__(self, max_chars: int = 10_000):
        self._model = packaged_model()
        self._max_chars = max_chars

    def identify(self, text: str) -> LanguageGuess:
        sample = text[:self._max_chars]
        if not _LETTER.search(sample):
            return LanguageGuess(UNKNOWN, 0.0)
        language, score = self._model.classify(sample)
        return LanguageGuess(language, round(float(score), 4))


def keep_verdict(source: str, guess: LanguageGuess, config: LanguageIdConfig
                 ) -> tuple[bool, str | None]:
    """(keep, reason): a source with a keep list keeps only its languages, at min_score or more."""
    allowed = config.keep.get(source)
    if allowed is None:
        return True, None
    if guess.language not in allowed:
        return False, f"{STAGE}_not_kept"
    if guess.score < config.min_score:
        return False, f"{STAGE}_low_score"
    return True, None
