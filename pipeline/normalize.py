"""Unicode normalisation and length bounds: the first thing every document goes through.

NFC, control characters stripped, whitespace tidied (runs of spaces collapsed, lines trimmed, at
most one blank line in a row), so that exact dedup, shingling and n-gramming downstream see
one canonical form of each text.
"""

from __future__ import annotations

import re
import unicodedata

from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.pipeline.config import NormalizeConfig

STAGE = "normalize"

_LINE_BREAKS = re.compile(r"\r\n|[\r\x85\u2028\u2029\x0b\x0c]")
# C0/C1 controls except tab and newline, plus lone surrogates (undecodable bytes) and BOMs.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff\ud800-\udfff]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """The canonical form of a text (idempotent: normalising twice changes nothing)."""
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROLS.sub("", text)
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip()


def normalize_document(doc: Document, config: NormalizeConfig) -> Document | Rejected:
    """The document with normalised text, or a reject when it is too short or too long."""
    text = normalize_text(doc.text)
    if len(text) < config.min_chars:
        return Rejected.of_document(doc.replace(text=text), STAGE, f"{STAGE}_too_short",
                                    chars=len(text), min_chars=config.min_chars)
    if len(text) > config.max_chars:
        return Rejected.of_document(doc.replace(text=text), STAGE, f"{STAGE}_too_long",
                                    chars=len(text), max_chars=config.max_chars)
    return doc.replace(text=text)
