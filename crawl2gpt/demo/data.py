"""The built-in demo corpus: a small web crawl and a reference part, generated deterministically.

`make demo` must not depend on `../shared`, so the project writes its own corpus:

    crawl/CC-DEMO-0000N.warc.gz      WARC/1.0 as Common Crawl writes it: warcinfo, then request,
                                     response (HTTP headers + HTML) and metadata per page
    crawl/CC-DEMO-00000.warc.wet.gz  WET `conversion` records (visible text) for the first file
    reference/wiki.jsonl             encyclopedic articles {"id", "url", "title", "text"}
    reference/books/*.txt            a few long novel-like texts
    reference/exercises.jsonl        arithmetic worksheets, the operation hidden behind one
                                     symbol (`evaluation.synthetic_corpus`): the task the demo
                                     model learns and is evaluated on, 0/1/10-shot
    demo_corpus.json                 files, documents per kind, and the ground truth

The crawl mixes decent articles with spam and boilerplate pages, exact duplicates (same HTML at
other URLs), near-duplicates at planned Jaccard levels (`crawl2gpt.demo.dups`), pages in six
other languages, very short pages, redirects, two-digit addition worksheets, and pages that
paste held-out evaluation problems (`arithmetic_eval_pairs`) for contamination removal to find;
the crawl's worksheets spell the operation out and the heuristic rules remove them.
Output is byte-identical for the same (scale, seed) on every run and machine with the same zlib.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import zlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone

from crawl2gpt.demo import text
from crawl2gpt.demo.pages import Page, PageFactory, derived_seed, render, slug
from crawl2gpt.demo.warc import (
    WarcWriter,
    http_response,
    record_id,
    write_capture,
    write_conversion,
)
from crawl2gpt.evaluation.synthetic_corpus import problem, worksheets

LANGUAGES = ("de", "fr", "es", "it", "pt", "nl")
CRAWL_COUNTS = {
    "article": 1000, "arithmetic": 80, "contamination": 1,
    "spam/keyword_stuffing": 50, "spam/buy_cheap": 50, "spam/cookie_banner": 40,
    "spam/navigation_only": 40, "spam/lorem_ipsum": 40,
    **{f"non_english/{lang}": 35 for lang in LANGUAGES},
    "short": 60, "redirect": 30, "exact_duplicate": 80, "near_duplicate": 160,
}
"""Pages per kind at scale 1.0; `scale` multiplies each (at least one of each)."""
REFERENCE_COUNTS = {"wikipedia": 300, "books": 6, "exercises": 2000}
BOOK_CHAPTERS = 8
PAGES_PER_FILE = 800
EVAL_PAIRS = 200
CRAWL_NAME = "CC-DEMO-2024-12"
CRAWL_START = datetime(2024, 3, 18, 0, 0, 0, tzinfo=timezone.utc)


def scaled_counts(base: dict[str, int], scale: float) -> dict[str, int]:
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    return {kind: max(1, round(n * scale)) for kind, n in base.items()}


def arithmetic_eval_pairs(seed: int = 0) -> list[tuple[int, int]]:
    """Two-digit operand pairs (a, b) held out of every worksheet, for evaluation.

    Only the `contamination` pages contain them, so a model trained on the decontaminated
    build has never seen them.
    """
    pairs = [(a, b) for a in range(10, 100) for b in range(10, 100)]
    return random.Random(derived_seed(seed, "arithmetic-eval")).sample(pairs, EVAL_PAIRS)


def generate_demo_corpus(out_dir: str, scale: float = 1.0, seed: int = 0,
                         workers: int = 1) -> dict:
    """Write the demo corpus under `out_dir` and return its summary (also `demo_corpus.json`).

    The summary holds `files` (path -> WARC records per type or documents, bytes, sha256),
    `documents` (crawl pages per kind, reference documents per source), `arithmetic` (the
    held-out evaluation pairs) and `ground_truth`: `spam` {url: how}, `non_english` {url:
    language}, `exact_duplicates` {url: original url}, `near_duplicates` [{url,
    near_duplicate_of, edit, target_jaccard, jaccard}], `redirects` {url: target}, `short`
    [url], `arithmetic` [url] and `contamination` [{url, benchmark, pairs}]; every other page
    is an article. `workers` > 1 writes the crawl files in that many processes: same output.
    """
    counts = scaled_counts(CRAWL_COUNTS, scale)
    slots = [(kind, i) for kind, n in counts.items() for i in range(n)]
    random.Random(derived_seed(seed, "crawl-order")).shuffle(slots)
    n_files = max(3, math.ceil(len(slots) / PAGES_PER_FILE))
    per_file = math.ceil(len(slots) / n_files)
    os.makedirs(os.path.join(out_dir, "crawl"), exist_ok=True)
    jobs = [(out_dir, number, slots[number * per_file:(number + 1) * per_file], counts, seed)
            for number in range(n_files)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_write_crawl_file, *zip(*jobs)))
    else:
        results = [_write_crawl_file(*job) for job in jobs]
    truth = GroundTruth()
    files = {}
    for crawl_files, file_truth in results:
        files.update(crawl_files)
        truth.merge(file_truth)
    reference_counts = scaled_counts(REFERENCE_COUNTS, scale)
    files.update(_write_wikipedia(out_dir, reference_counts["wikipedia"], seed))
    files.update(_write_books(out_dir, reference_counts["books"], seed))
    files.update(_write_exercises(out_dir, reference_counts["exercises"], seed))
    summary = {
        "crawl": CRAWL_NAME, "scale": scale, "seed": seed,
        "files": dict(sorted(files.items())),
        "documents": {"crawl": dict(sorted(truth.kinds.items())),
                      "reference": reference_counts},
        "arithmetic": {"example": "".join(problem(48, 76, "plus")).lstrip(),
                       "eval_pairs": [list(p) for p in arithmetic_eval_pairs(seed)]},
        "ground_truth": truth.as_dict(),
    }
    with open(os.path.join(out_dir, "demo_corpus.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    return summary


class GroundTruth:
    """What each crawl page is, collected as the pages are written."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.spam: dict[str, str] = {}
        self.non_english: dict[str, str] = {}
        self.exact_duplicates: dict[str, str] = {}
        self.near_duplicates: list[dict] = []
        self.redirects: dict[str, str] = {}
        self.lists: dict[str, list] = {"short": [], "arithmetic": [], "contamination": []}

    def add(self, page: Page) -> None:
        self.kinds[page.kind] = self.kinds[page.kind] + 1
        kind, _, sub = page.kind.partition("/")
        if kind == "spam":
            self.spam[page.url] = sub
        elif kind == "non_english":
            self.non_english[page.url] = sub
        elif kind == "exact_duplicate":
            self.exact_duplicates[page.url] = page.truth["duplicate_of"]
        elif kind == "near_duplicate":
            self.near_duplicates.append({"url": page.url, **page.truth})
        elif kind == "redirect":
            self.redirects[page.url] = page.redirect_to
        elif kind == "contamination":
            self.lists[kind].append({"url": page.url, **page.truth})
        elif kind in self.lists:
            self.lists[kind].append(page.url)

    def merge(self, other: GroundTruth) -> None:
        self.kinds.update(other.kinds)
        for name in ("spam", "non_english", "exact_duplicates", "redirects"):
            getattr(self, name).update(getattr(other, name))
        self.near_duplicates += other.near_duplicates
        for kind, items in other.lists.items():
            self.lists[kind] += items

    def as_dict(self) -> dict:
        return {"spam": self.spam, "non_english": self.non_english,
                "exact_duplicates": self.exact_duplicates,
                "near_duplicates": sorted(self.near_duplicates, key=lambda d: d["url"]),
                "redirects": self.redirects,
                **{k: sorted(v, key=str) for k, v in self.lists.items()}}


def _warcinfo_fields() -> dict[str, str]:
    return {"isPartOf": CRAWL_NAME, "publisher": "crawl2gpt demo (generated, not a real crawl)",
            "description": "Synthetic crawl generated by pipeline.demo_data",
            "operator": "crawl2gpt", "software": "crawl2gpt demo_data",
            "format": "WARC File Format 1.0",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                          "warc-format/warc-1.0/"}


def _write_crawl_file(out_dir: str, number: int, slots: list[tuple[str, int]],
                      counts: dict[str, int], seed: int) -> tuple[dict[str, dict], GroundTruth]:
    """One WARC file of the crawl (plus its WET for file 0); a pure function of its arguments."""
    factory = PageFactory(seed, counts, arithmetic_eval_pairs(seed))
    truth = GroundTruth()
    with_wet = number == 0
    name = f"crawl/CC-DEMO-{number:05d}.warc.gz"
    wet_name = name.replace(".warc.gz", ".warc.wet.gz")
    start = CRAWL_START + timedelta(hours=number)
    with open(os.path.join(out_dir, name), "wb") as f, \
            (open(os.path.join(out_dir, wet_name), "wb") if with_wet else nullcontext()) as g:
        warc, wet = WarcWriter(f), WarcWriter(g) if g else None
        info_id = record_id(seed, name, "warcinfo")
        warc.warcinfo(info_id, start, os.path.basename(name), _warcinfo_fields())
        if wet:
            wet.warcinfo(record_id(seed, wet_name, "warcinfo"), start,
                         os.path.basename(wet_name), _warcinfo_fields())
        for position, (kind, index) in enumerate(slots):
            page = factory.page(kind, index)
            truth.add(page)
            when = start + timedelta(seconds=7 * position)
            html, visible = render(page)
            payload = html.encode(page.charset)
            if page.redirect_to:
                response = http_response("301 Moved Permanently", when, payload, page.charset,
                                         [("Location", page.redirect_to)])
            else:
                response = http_response("200 OK", when, payload, page.charset)
            ids = tuple(record_id(seed, page.url, part)
                        for part in ("request", "response", "metadata"))
            url_hash = zlib.crc32(page.url.encode())
            ip = f"203.0.{url_hash >> 8 & 255}.{url_hash & 255}"
            metadata = {"fetchTimeMs": str(40 + url_hash % 900),
                        "charset-detected": page.charset.upper()}
            write_capture(warc, ids, info_id, when, page.url, ip, response, payload, metadata)
            if wet and not page.redirect_to:
                write_conversion(wet, record_id(seed, page.url, "conversion"), ids[1], when,
                                 page.url, visible)
    files = {name: {"records": dict(sorted(warc.counts.items()))}}
    if wet:
        files[wet_name] = {"records": dict(sorted(wet.counts.items()))}
    return {path: dict(info, **_file_digest(os.path.join(out_dir, path)))
            for path, info in files.items()}, truth


def _write_wikipedia(out_dir: str, count: int, seed: int) -> dict[str, dict]:
    path = "reference/wiki.jsonl"
    os.makedirs(os.path.join(out_dir, "reference"), exist_ok=True)
    taken: set[str] = set()
    with open(os.path.join(out_dir, path), "w", encoding="utf-8", newline="\n") as f:
        for i in range(count):
            rng = random.Random(derived_seed(seed, "wikipedia", i))
            title, body = text.wiki_article(rng)
            while title in taken:  # made-up names can repeat: draw again from the same stream
                title, body = text.wiki_article(rng)
            taken.add(title)
            row = {"id": f"demo-wiki-{i:06d}",
                   "url": f"https://en.demo-wiki.org/wiki/{title.replace(' ', '_')}",
                   "title": title, "text": body}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return {path: {"documents": count, **_file_digest(os.path.join(out_dir, path))}}


def _write_books(out_dir: str, count: int, seed: int) -> dict[str, dict]:
    os.makedirs(os.path.join(out_dir, "reference", "books"), exist_ok=True)
    files = {}
    for i in range(count):
        title, body = text.book(random.Random(derived_seed(seed, "book", i)), BOOK_CHAPTERS)
        path = f"reference/books/book-{i:04d}-{slug(title)}.txt"
        with open(os.path.join(out_dir, path), "w", encoding="utf-8", newline="\n") as f:
            f.write(body + "\n")
        files[path] = {"documents": 1, **_file_digest(os.path.join(out_dir, path))}
    return files


def _write_exercises(out_dir: str, count: int, seed: int) -> dict[str, dict]:
    path = "reference/exercises.jsonl"
    sheets = worksheets(count, arithmetic_eval_pairs(seed), derived_seed(seed, "exercises"))
    with open(os.path.join(out_dir, path), "w", encoding="utf-8", newline="\n") as f:
        f.writelines(json.dumps({"id": f"demo-exercise-{i:06d}", "text": sheet}) + "\n"
                     for i, sheet in enumerate(sheets))
    return {path: {"documents": count, **_file_digest(os.path.join(out_dir, path))}}


def _file_digest(path: str) -> dict:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"bytes": os.path.getsize(path), "sha256": h.hexdigest()}


def demo_build_config(corpus_dir: str) -> str:
    """TOML build config reading the demo corpus: the crawl's WARCs (raw) and the references.

    Input globs are `corpus_dir` joined with the corpus layout; a relative `corpus_dir` is taken
    relative to the folder the config file is saved in (`pipeline.config.resolve_inputs`), so
    `demo_build_config(".")` suits a config written inside the corpus folder. The WET file
    covers only part of the crawl and is not read here, so no page is read twice.
    """
    root = corpus_dir.rstrip("/") or "/"

    def glob(pattern: str) -> str:
        return json.dumps(f"{root}/{pattern}")

    return f"""# Build config for the generated demo corpus (crawl2gpt.demo.data).

[[sources]]
name = "commoncrawl"
role = "raw"
inputs = [{glob("crawl/*.warc.gz")}]
format = "warc"
options = {{ extract = "full" }}

[[sources]]
name = "wikipedia"
role = "reference"
inputs = [{glob("reference/wiki.jsonl")}]
format = "jsonl"
options = {{ text_field = "text" }}

[[sources]]
name = "books"
role = "reference"
inputs = [{glob("reference/books/*.txt")}]
format = "text"

[[sources]]
name = "exercises"
role = "reference"
inputs = [{glob("reference/exercises.jsonl")}]
format = "jsonl"
options = {{ text_field = "text" }}
"""
