"""Strip the artefacts that betray a document's source before the classifier sees it.

A classifier trained on WikiText (`<unk>`, ` @-@ `), Project Gutenberg files (header, licence)
or WikiExtractor output (`<doc>` lines) against web pages learns those markers instead of
quality: every web page lacks them, every reference document has them. Training and scoring
both call `strip_artefacts`, so the model never sees them. The function only removes or undoes
markers; spacing around punctuation (WikiText's Moses tokenisation) is neutralised later by the
feature tokeniser in `classifier.py`, which splits punctuation off words either way.
"""

from __future__ import annotations

import re

# --- WikiText (Merity et al. 2016): tokenised Wikipedia --------------------------------------
_WIKITEXT_JOINERS = ((" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."))
_UNK = re.compile(r"[ \t]*<unk>")
# ` = Title = `, ` = = Section = = `: keep the heading words, drop the `=` markup.
_WIKITEXT_HEADING = re.compile(r"^[ \t]*(?:= )+(.*?)(?: =)+[ \t]*$", re.MULTILINE)
_EMPTY_HEADING = re.compile(r"^[ \t]*=(?:[ \t]*=)*[ \t]*$", re.MULTILINE)  # title was all <unk>

# --- WikiExtractor: `<doc id=.. url=.. title=..>` ... `</doc>`, stray inline tags ------------
_DOC_TAG = re.compile(r"^[ \t]*(?:<doc\b[^>\n]*>|</doc>)[ \t]*$", re.MULTILINE)
_INLINE_TAG = re.compile(r"</?(?:chem|poem|ref|br|math|sub|sup|small|big|nowiki)\b[^>\n]{0,300}/?>",
                         re.IGNORECASE)
_FORMULA_PLACEHOLDER = re.compile(r"\bformula_\d+\b")

# --- Speech transcripts: audience reactions ---------------------------------------------------
_REACTION = re.compile(r"[(\[](?:applause|laughter)\.?[)\]]", re.IGNORECASE)

# --- Project Gutenberg -----------------------------------------------------------------------
# START/END markers come as `*** START OF THIS ...`, `***START OF THE ...***`, indented, or
# wrapped over two lines; the 2002 format has no END marker and is cut at its repeated title
# line or its "SMALL PRINT" licence instead.
_PG_START = re.compile(r"^[ \t]*\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG", re.IGNORECASE)
_PG_FOOTER = re.compile(
    r"^[ \t]*(?:\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG"
    r"|End of (?:the )?Project Gutenberg"
    r"|The Project Gutenberg (?:Etext|e-?book) of"
    r"|\*+START\*+THE SMALL PRINT)",
    re.IGNORECASE)
_PG_CREDIT = re.compile(r"^[ \t]*(?:Produced by|Transcribed from|This etext was produced by|"
                        r"E-text prepared by)\b", re.IGNORECASE)
_MAX_MARKER_LINES = 3  # a wrapped START marker ends on a later line with `***`
_CREDIT_WINDOW = 12    # credit paragraphs sit within a few lines after START


def strip_artefacts(text: str) -> str:
    """The text without source markers; text without any marker comes back unchanged."""
    text = text.lstrip("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "PROJECT GUTENBERG" in text.upper():
        text = strip_gutenberg(text)
    if "@" in text or "<unk>" in text or " = " in text:
        text = strip_wikitext(text)
    if "<" in text:
        text = _INLINE_TAG.sub("", _DOC_TAG.sub("", text))
    if "formula_" in text:
        text = _FORMULA_PLACEHOLDER.sub("", text)
    if "pplause" in text or "aughter" in text:
        text = _REACTION.sub("", text)
    return text


def strip_wikitext(text: str) -> str:
    """Undo WikiText's in-number/in-word joiners, drop `<unk>` and heading markup."""
    for marker, joined in _WIKITEXT_JOINERS:
        text = text.replace(marker, joined)
    text = _UNK.sub("", text)
    return _EMPTY_HEADING.sub("", _WIKITEXT_HEADING.sub(r"\1", text))


def strip_gutenberg(text: str) -> str:
    """The book between the START marker and the footer, without credit lines.

    Text without a START marker is returned unchanged (a quotation of "Project Gutenberg" in
    an ordinary document is not a header).
    """
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if _PG_START.match(line)), None)
    if start is None:
        return text
    body_start = start + 1
    if "***" not in lines[start].split("START", 1)[1]:  # wrapped marker: find its end
        for j in range(start + 1, min(start + 1 + _MAX_MARKER_LINES, len(lines))):
            if "***" in lines[j]:
                body_start = j + 1
                break
    end = next((i for i in range(body_start, len(lines)) if _PG_FOOTER.match(lines[i])),
               len(lines))
    body = lines[body_start:end]
    return "\n".join(_drop_credit_paragraphs(body)).strip("\n")


def _drop_credit_paragraphs(lines: list[str]) -> list[str]:
    """Remove "Produced by ..." paragraphs at the top of a Gutenberg body."""
    keep = list(lines)
    i = 0
    while i < min(_CREDIT_WINDOW, len(keep)):
        if _PG_CREDIT.match(keep[i]):
            j = i
            while j < len(keep) and keep[j].strip():
                j += 1
            del keep[i:j]
            continue
        i += 1
    return keep
