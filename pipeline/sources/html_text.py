"""HTML → text: the whole visible page (`full`, as Common Crawl's WET) or the main content (`main`).

Plain functions over bytes; no Beam. Decoding follows the HTTP/meta charset when it is valid,
else detection, and never raises on bad bytes (they are replaced). `main` is the project's own
extractor (`main_content.py`), measured against trafilatura and resiliparse by
`bench/extraction_quality.py`.
"""

from __future__ import annotations

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding
from resiliparse.parse.html import HTMLTree

from crawl2gpt.pipeline.sources.main_content import extract_main_text

EXTRACT_MODES = ("full", "main")


def decode_html(payload: bytes, charset: str | None = None) -> str:
    """Decode HTML bytes with the declared charset if it works, else a detected one."""
    if charset:
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return bytes_to_str(payload, detect_encoding(payload))


def extract_text(html: str | bytes, mode: str = "full", charset: str | None = None) -> str:
    """Visible text of a page: `full` keeps everything a reader sees, `main` the article body."""
    if mode not in EXTRACT_MODES:
        raise ValueError(f"extract mode {mode!r} is not one of {EXTRACT_MODES}")
    if isinstance(html, bytes):
        html = decode_html(html, charset)
    if mode == "main":
        return extract_main_text(html)
    tree = HTMLTree.parse(html)
    return extract_plain_text(tree, main_content=False, alt_texts=False, links=False)
