"""The quality classifier at a real crawl's class ratio, judged on documents of the other half.

Real text from ../shared/data (reference: WikiText-2 articles, speeches, Project Gutenberg
chunks; raw: C4, cc_text, cc_net) is split into halves A and B by a hash of the document id,
each half written as JSONL files that keep the original files apart (one output file per input
file), so `train-quality`'s held-out split by file and by URL host sees real files and hosts.
Then, per reference count in half A and per backend:

    crawl2gpt build --config A.toml --output A/build          (read, normalise, exact dedup)
    crawl2gpt train-quality --build A/build --out M --set backend=...   (default settings)
    crawl2gpt build --config B.toml --output B/build          (stage quality_filter, model M,
                                                               threshold 0: every score kept)

and reports the model's own held-out AUC (by file / host, with its bootstrap interval, and the
document-level figure) beside the AUC of half B's scores. Nothing is tuned on half B.

    .venv/bin/python bench/quality_ratio.py --reference 40,60,all \
        --out docs/results/quality-ratio.json
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from crawl2gpt.core.manifest import iter_build_documents
from crawl2gpt.core.records import make_doc_id
from crawl2gpt.quality_filter.artefacts import strip_artefacts
from crawl2gpt.quality_filter.evaluation import auc_summary

REFERENCE = ("wikitext", "speeches", "books")
RAW = ("c4", "cc_text", "ccnet")
BOOK_CHUNK_CHARS = 11_500  # about 1.6 reference : 1 raw in a half, as in issue #23


def _chunks(text: str, min_chars: int) -> list[str]:
    """Consecutive paragraphs merged into pieces of at least `min_chars` characters."""
    pieces, current = [], []
    for paragraph in re.split(r"\n\s*\n", text):
        current.append(paragraph)
        if sum(map(len, current)) >= min_chars:
            pieces.append("\n\n".join(current).strip())
            current = []
    return pieces


def read_corpus(data: Path) -> list[dict]:
    """Rows {source, file, id, text, url}: one per document, `file` the original input file."""
    rows = []

    def add(source: str, path: Path, key: str, text: str, url: str | None = None) -> None:
        if text.strip():
            rows.append({"source": source, "file": path.name.split(".")[0], "id": key,
                         "text": text, "url": url})

    for path in sorted((data / "wikipedia/wikitext-2").glob("*.txt")):
        articles = re.split(r"\n \n(?= = [^=].* = \n)", path.read_text(encoding="utf-8"))
        for i, article in enumerate(articles):
            add("wikitext", path, f"{path.name}#{i}", article)
    for path in sorted((data / "speeches").glob("*/*.txt")):
        add("speeches", path, path.name, path.read_bytes().decode("utf-8", errors="replace"))
    for path in sorted((data / "books").glob("*.txt")):
        if path.name == "Candide.txt":  # French (books/README.md)
            continue
        book = strip_artefacts(path.read_text(encoding="utf-8", errors="replace"))
        for i, chunk in enumerate(_chunks(book, BOOK_CHUNK_CHARS)):
            add("books", path, f"{path.name}#{i}", chunk)
    cc = data / "commoncrawl"
    for path in sorted(cc.glob("c4/*.json.gz")) + sorted(cc.glob("cc_text/*.jsonl.gz")) + \
            sorted(cc.glob("ccnet/*.jsonl*")):
        source = path.parent.name
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            for i, record in enumerate(map(json.loads, f)):
                text = record["text"] if "text" in record else record["raw_content"]
                add(source, path, f"{path.name}#{i}", text, _url(record))
    return rows


def _url(record: dict) -> str | None:
    """The page URL of a C4, cc_text (Dolma: `metadata.warc_url`) or cc_net row."""
    if "url" in record:
        return record["url"]
    if "warc_url" in record.get("metadata", {}):
        return record["metadata"]["warc_url"]
    return record["id"] if str(record.get("id", "")).startswith("http") else None


def doc_id(row: dict) -> str:
    """The id the build gives the document (jsonl reader: the URL, else the id field)."""
    return make_doc_id(row["source"], row["url"] or row["id"], row["text"])


def half_of(row: dict) -> str:
    return "AB"[hashlib.blake2b(doc_id(row).encode(), digest_size=8).digest()[0] & 1]


def write_half(rows: list[dict], folder: Path) -> None:
    for row in rows:
        path = folder / row["source"] / f"{row['file']}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({k: row[k] for k in ("id", "text", "url") if row[k]}) + "\n")


def build_config(folder: Path, model: Path | None = None, backend: str = "") -> str:
    """Read, normalise, exact dedup; with `model`, the quality_filter stage keeping every score."""
    text = 'stages = ["quality_filter"]\n\n' if model else ""
    for role, names in (("reference", REFERENCE), ("raw", RAW)):
        for name in names:
            text += (f'[[sources]]\nname = "{name}"\nrole = "{role}"\n'
                     f'inputs = ["{folder}/{name}/*.jsonl"]\nformat = "jsonl"\n\n')
    if model:
        text += (f'[quality_filter]\nmodel_path = "{model}"\nbackend = "{backend}"\n'
                 f'selection = "threshold"\nthreshold = 0.0\n')
    return text


def crawl2gpt(*args: str) -> str:
    cmd = [sys.executable, "-m", "crawl2gpt.cli", *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def build(config_text: str, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    config = out / "build.toml"
    config.write_text(config_text)
    crawl2gpt("build", "--config", str(config), "--output", str(out / "build"))
    return out / "build"


def reference_subset(rows: list[dict], n: str) -> list[dict]:
    """All of half A's rows, or its raw rows and `n` reference rows (a separately salted hash)."""
    if n == "all":
        return rows
    ref = sorted((r for r in rows if r["source"] in REFERENCE),
                 key=lambda r: hashlib.blake2b(f"subset\x00{doc_id(r)}".encode()).digest())
    return ref[:int(n)] + [r for r in rows if r["source"] in RAW]


def score_half_b(model: Path, backend: str, half_b: Path, out: Path) -> dict:
    """Half B through the quality_filter stage (threshold 0 keeps every score): its AUC."""
    built = build(build_config(half_b, model, backend), out)
    docs = list(iter_build_documents(str(built / "manifest.json")))
    labels = [int(d.source in REFERENCE) for d in docs]
    return auc_summary(labels, [d.quality_score for d in docs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--work", default="/tmp/quality_ratio")
    parser.add_argument("--reference", default="60,all",
                        help="reference documents of half A to train on: counts or 'all'")
    parser.add_argument("--backends", default="fasttext,hashing-lr")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    shutil.rmtree(work, ignore_errors=True)
    rows = read_corpus(Path(args.data))
    halves = {h: [r for r in rows if half_of(r) == h] for h in "AB"}
    write_half(halves["B"], work / "half-B")
    results = []
    for n in args.reference.split(","):
        subset = reference_subset(halves["A"], n)
        write_half(subset, work / f"half-A-{n}")
        built_a = build(build_config(work / f"half-A-{n}"), work / f"A-{n}")
        manifest = json.loads((built_a / "manifest.json").read_text())
        counts = {s: v["documents"] for s, v in manifest["sources"].items()}
        for backend in args.backends.split(","):
            model_dir = work / f"model-{n}-{backend}"
            crawl2gpt("train-quality", "--build", str(built_a), "--out", str(model_dir),
                      "--set", f"backend={backend}")
            model = next(p for p in model_dir.iterdir() if p.suffix in (".bin", ".npz"))
            evaluation = json.loads(Path(f"{model}.eval.json").read_text())
            half_b = score_half_b(model, backend, work / "half-B", work / f"B-{n}-{backend}")
            results.append({
                "reference_in_A": n, "backend": backend, "half_A_documents": counts,
                "heldout": {k: evaluation[k] for k in ("n_reference", "n_raw", "roc_auc",
                                                       "roc_auc_bootstrap_95", "heldout_by",
                                                       "by_source", "document_level")},
                "half_B": half_b})
            print(json.dumps(_line(results[-1])), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"command": " ".join(sys.argv),
                                              "results": results}, indent=2) + "\n")


def _line(result: dict) -> dict:
    """The headline figures of one run."""
    h, b, d = result["heldout"], result["half_B"], result["heldout"]["document_level"]
    ref = sum(v for k, v in result["half_A_documents"].items() if k in REFERENCE)
    return {"reference_in_A": ref, "raw_in_A": sum(result["half_A_documents"].values()) - ref,
            "backend": result["backend"],
            "heldout_by_file_auc": round(h["roc_auc"], 3),
            "heldout_interval": [round(x, 3) for x in h["roc_auc_bootstrap_95"]],
            "heldout_by_document_auc": round(d["roc_auc"], 3),
            "half_B_auc": round(b["roc_auc"], 3),
            "half_B_interval": [round(x, 3) for x in b["roc_auc_bootstrap_95"]]}


if __name__ == "__main__":
    main()
