"""Readers of the two reference page sets in `../shared/data/webpages/` (tests and benchmarks).

`readability/`: Mozilla Readability's test pages, reference text `expected.txt` (scored by token
F1). `snippets/`: trafilatura's comparison pages, each with sentences the main text must
contain (`with`) and boilerplate it must not (`without`). Both READMEs describe the files.
Every page comes back as a dict with its decoded `html` and `html_bytes` (uncompressed size).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from crawl2gpt.pipeline.sources.html_text import decode_html


def load_readability(folder: Path) -> list[dict]:
    """Every page of `index.jsonl` with its HTML and `expected` text (all pages are UTF-8)."""
    pages = []
    for entry in _index(folder):
        page_dir = folder / entry["name"]
        html = _gunzip(page_dir / "source.html.gz")
        entry.update(html=html.decode("utf-8"), html_bytes=len(html),
                     expected=(page_dir / "expected.txt").read_text(encoding="utf-8"))
        pages.append(entry)
    return pages


def load_snippets(folder: Path) -> list[dict]:
    """Every page of `index.jsonl` with its HTML, decoded by meta charset or detection."""
    pages = []
    for entry in _index(folder):
        html = _gunzip(folder / "html" / f"{entry['key']}.html.gz")
        entry.update(html=decode_html(html), html_bytes=len(html))
        pages.append(entry)
    return pages


def _index(folder: Path) -> list[dict]:
    path = folder / "index.jsonl"
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable page index ({e})") from None


def _gunzip(path: Path) -> bytes:
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: not a readable gzip file ({e})") from None
