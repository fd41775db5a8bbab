"""Real English test corpora for the quality classifier, read from `../shared/data`.

Reference (positives): WikiText-2, WikiExtractor articles, Project Gutenberg books and
presidential speeches, cut into paragraph-sized documents after their source artefacts are
stripped. Raw crawl (negatives): whole-page text of real web pages (`webarchive/` WARCs,
Readability's real pages, HPLT's Common Crawl HTML, via `extract_text(mode="full")`) and
Common Crawl text (cc_text, cc_net, C4). Non-English documents are left out by the check the
`commoncrawl/README.md` describes: > 90 % ASCII letters and > 15 % common English stop words.
Each group is a `Document.source`, so tests can hold whole sources out of training.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import json
import re
from pathlib import Path

import zstandard
from fastwarc.warc import ArchiveIterator, WarcRecordType

from crawl2gpt.core.records import Document
from crawl2gpt.pipeline.sources.html_text import extract_text
from crawl2gpt.quality_filter.artefacts import strip_artefacts

REFERENCE_GROUPS = ("wikitext", "wikiextractor", "books", "speeches")
RAW_GROUPS = ("cc_text", "webarchive", "readability", "hplt", "ccnet", "c4")

_STOP = set("the of and to in a is that for it as was with be by on not he i this are or his "
            "from at which but have an they you were her she there been one all we their has "
            "would will what if can more when no so who".split())
_WORD = re.compile(r"[^\W\d_]+")


def is_english(text: str, min_words: int = 50) -> bool:
    words = _WORD.findall(text.lower())
    if len(words) < min_words:
        return False
    letters = [c for c in text if c.isalpha()]
    ascii_share = sum(c.isascii() for c in letters) / len(letters)
    return ascii_share > 0.9 and sum(w in _STOP for w in words) / len(words) > 0.15


def paragraph_chunks(text: str, min_chars: int = 800, max_chars: int = 4000) -> list[str]:
    """Consecutive paragraphs merged into documents of at least `min_chars` characters."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n(?=\s*\S.{200,})", text)]
    chunks, current = [], ""
    for p in filter(None, paragraphs):
        current = f"{current}\n\n{p}" if current else p
        if len(current) >= min_chars:
            chunks.append(current[:max_chars])
            current = ""
    return chunks


def _docs(source: str, key: str, texts: list[str]) -> list[Document]:
    return [Document.create(source, t, record_id=f"{key}#{i}") for i, t in enumerate(texts)]


def sample(docs: list[Document], n: int) -> list[Document]:
    """n documents chosen by a hash of their id (independent of reading order)."""
    return sorted(docs, key=lambda d: hashlib.sha1(d.id.encode()).hexdigest())[:n]


def reference_documents(data: Path, per_group: int) -> list[Document]:
    groups: dict[str, list[Document]] = {g: [] for g in REFERENCE_GROUPS}
    for path in sorted((data / "wikipedia/wikitext-2").glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        # Articles start at ` = Title = ` lines (README: 60 per file); each is stripped alone.
        for i, article in enumerate(re.split(r"\n \n(?= = [^=].* = \n)", text)):
            groups["wikitext"] += _docs("wikitext", f"{path.name}/{i}",
                                        paragraph_chunks(strip_artefacts(article)))
    for path in sorted((data / "wikipedia/wikiextractor").glob("enwiki_*/AA/wiki_00")):
        for i, article in enumerate(path.read_text(encoding="utf-8").split("</doc>")):
            groups["wikiextractor"] += _docs("wikiextractor", f"{path.parent.parent.name}/{i}",
                                             paragraph_chunks(strip_artefacts(article)))
    for path in sorted((data / "books").glob("*.txt")):
        if path.name == "Candide.txt":  # French (books/README.md)
            continue
        book = strip_artefacts(path.read_text(encoding="utf-8", errors="replace"))
        groups["books"] += _docs("books", path.name, paragraph_chunks(book))
    for path in sorted((data / "speeches").glob("*/*.txt")):
        speech = strip_artefacts(path.read_bytes().decode("utf-8", errors="replace"))
        groups["speeches"] += _docs("speeches", path.name, paragraph_chunks(speech))
    return [d for g in REFERENCE_GROUPS for d in sample(
        [d for d in groups[g] if is_english(d.text)], per_group)]


def _webarchive_pages(data: Path) -> list[str]:
    pages = []
    for path in sorted(glob.glob(str(data / "webarchive/*.warc*"))):
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
                if "html" in (rec.http_content_type or "") and rec.http_headers.status_code == 200:
                    pages.append(extract_text(rec.reader.read(), "full", rec.http_charset))
    return pages


def raw_documents(data: Path, per_group: int) -> list[Document]:
    groups: dict[str, list[str]] = {g: [] for g in RAW_GROUPS}
    cc = data / "commoncrawl"
    with gzip.open(next((cc / "cc_text").glob("*.jsonl.gz")), "rt", encoding="utf-8") as f:
        groups["cc_text"] = [json.loads(line)["text"] for line in f]
    groups["webarchive"] = _webarchive_pages(data)
    index = data / "webpages/readability/index.jsonl"
    for row in map(json.loads, index.read_text(encoding="utf-8").splitlines()):
        if not row["synthetic"] and row["content_language"] == "en":
            html = gzip.decompress((index.parent / row["name"] / "source.html.gz").read_bytes())
            groups["readability"].append(extract_text(html, "full"))
    with open(cc / "multilingual/hplt-cc-sample100.jsonl.zst", "rb") as f:
        reader = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f),
                                  encoding="utf-8", errors="replace")
        groups["hplt"] = [extract_text(json.loads(line)["h"], "full") for line in reader]
    redpajama = cc / "ccnet/redpajama-v2-ccnet-CC-MAIN-2023-06-sample50.jsonl"
    with open(redpajama, encoding="utf-8") as f:
        groups["ccnet"] = [json.loads(line)["raw_content"] for line in f]
    for path in sorted((cc / "ccnet").glob("dolma-*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            groups["ccnet"] += [json.loads(line)["text"] for line in f]
    with gzip.open(cc / "c4/c4-sample.00000-of-00001.json.gz", "rt", encoding="utf-8") as f:
        groups["c4"] = [json.loads(line)["text"] for line in f]
    docs = []
    for g in RAW_GROUPS:
        unique = list(dict.fromkeys(t.strip() for t in groups[g]))  # the same page crawled twice
        docs += sample([d for d in _docs(g, g, unique) if is_english(d.text)], per_group)
    return docs
