"""Real documents for the heuristic-stage tests, read from `../shared/data` with the project's
own readers and normalised as the build does before any optional stage."""

from __future__ import annotations

import gzip
import io
import json
from functools import lru_cache
from pathlib import Path

import zstandard

from crawl2gpt.core.records import Document
from crawl2gpt.pipeline.config import SourceConfig
from crawl2gpt.pipeline.normalize import normalize_text
from crawl2gpt.pipeline.sources import ReadContext
from crawl2gpt.pipeline.sources.html_text import extract_text
from crawl2gpt.pipeline.sources.warc import read_warc
from crawl2gpt.pipeline.sources.wikipedia import read_wikiextractor

MULTILINGUAL_WARC = ("commoncrawl/multilingual/"
                     "CC-MAIN-20200808165417-20200808195417-00395.sample.warc.gz")
HPLT = "commoncrawl/multilingual/hplt-cc-sample100.jsonl.zst"
WIKI_FEATURED = "wikipedia/wikiextractor/enwiki_featured/AA/wiki_00"
WIKI_GOOD = "wikipedia/wikiextractor/enwiki_good/AA/wiki_00"


def _read(path: Path, reader, fmt: str) -> list[Document]:
    ctx = ReadContext(SourceConfig("test", "raw", [str(path)], fmt), str(path))
    with open(path, "rb") as f:
        return [item for item in reader(f, ctx) if isinstance(item, Document)]


@lru_cache(maxsize=None)
def _wikipedia(root: Path, relative: str) -> tuple[Document, ...]:
    docs = _read(root / relative, read_wikiextractor, "wikiextractor")
    return tuple(d.replace(text=normalize_text(d.text)) for d in docs)


def wikipedia_articles(root: Path) -> list[Document]:
    """The 25 featured and 27 good English articles (README, section 2)."""
    return list(_wikipedia(root, WIKI_FEATURED) + _wikipedia(root, WIKI_GOOD))


def wikipedia_article(root: Path, title: str) -> str:
    return next(d.text for d in _wikipedia(root, WIKI_FEATURED) if d.meta.get("title") == title)


@lru_cache(maxsize=None)
def multilingual_warc_pages(root: Path) -> dict[str, Document]:
    """The 16 HTML responses of the multilingual WARC, by URL, whole-page text."""
    docs = _read(root / MULTILINGUAL_WARC, read_warc, "warc")
    return {d.url: d.replace(text=normalize_text(d.text)) for d in docs}


@lru_cache(maxsize=None)
def hplt_lines(root: Path) -> tuple[dict, ...]:
    """The 100 HPLT records, in file order (line n is index n - 1)."""
    raw = zstandard.ZstdDecompressor().stream_reader(open(root / HPLT, "rb")).read()
    return tuple(json.loads(line.decode("utf-8", "replace"))
                 for line in io.BytesIO(raw).read().splitlines())


def readability_page(root: Path, name: str) -> tuple[str, list[str]]:
    """(normalised whole-page text, normalised expected article paragraphs) of one page."""
    folder = root / "webpages" / "readability" / name
    html = gzip.open(folder / "source.html.gz").read()
    full = normalize_text(extract_text(html, mode="full"))
    expected = (folder / "expected.txt").read_text(encoding="utf-8")
    return full, [normalize_text(p) for p in expected.split("\n\n") if p.strip()]
