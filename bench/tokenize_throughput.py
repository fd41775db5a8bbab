"""Tokens per CPU-second of the tokenise stage's core vs tiktoken on the same text.

Ours: `Tokenizer.encode_batch` on one document per call plus the conversion to the compact id
array, i.e. what the stage's `TokenizeFn` does. Reference: tiktoken's `encode_ordinary_batch`
(one thread), called on one document at a time and on all texts at once, the faster counting,
with GPT-2's ranks built by tiktoken directly from
`r50k_base.tiktoken`. CPU time (`time.process_time`, all threads of the process) makes both
per-core figures, so library threads cannot flatter either side. Each side is warmed up on the
first 200 documents first. For scale, Hugging Face `tokenizers` running GPT-2's
`tokenizer.json` itself (the engine used for vocabularies tiktoken cannot run) is timed too.

    .venv/bin/python bench/tokenize_throughput.py --mb 30
"""

# This file shares its name with the standard library's `tokenize`: keep its folder off the
# import path so that nothing imports it by mistake, and import the project from the repo root.
import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

from crawl2gpt.core.tokenizer import EOT, FORMS, GPT2_PATTERN, Tokenizer

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT.parent / "shared" / "data"


def load_texts(target_mb: float) -> tuple[list[str], int]:
    """Real documents (books cut at ~5,000 characters, C4, page text, speeches), repeated."""
    docs = []
    for book in sorted((DATA / "books").glob("*.txt")):
        text = book.read_text(encoding="utf-8")
        docs += [text[i:i + 5000] for i in range(0, len(text), 5000)]
    for name in ("c4/c4-sample.00000-of-00001.json.gz",
                 "cc_text/CC-MAIN-20190717121559-20190717143559-00140.dolma.jsonl.gz"):
        with gzip.open(DATA / "commoncrawl" / name, "rt", encoding="utf-8") as f:
            docs += [json.loads(line)["text"] for line in f]
    docs += [p.read_text(encoding="utf-8", errors="replace")  # 7 files are not UTF-8
             for p in sorted((DATA / "speeches").rglob("*.txt"))]
    unique_bytes = sum(len(d.encode()) for d in docs)
    texts = []
    while sum(len(t) for t in texts) < target_mb * 1e6:
        texts += docs
    return texts, unique_bytes


def cpu_seconds(fn) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, out


def ours(tok: Tokenizer, texts: list[str]) -> int:
    """One document per call, as the stage's `TokenizeFn` encodes them."""
    return sum(np.array(tok.encode_batch([text])[0], dtype=tok.id_dtype).size for text in texts)


def reference(enc, texts: list[str], batch_size: int) -> int:
    """tiktoken on batches of `batch_size` (one document, or all texts at once)."""
    n = 0
    for i in range(0, len(texts), batch_size):
        n += sum(map(len, enc.encode_ordinary_batch(texts[i:i + batch_size], num_threads=1)))
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=30, help="megabytes of text (repeated data)")
    ap.add_argument("--tokenizer", default=str(DATA / "tokenizers" / "gpt2"))
    ap.add_argument("--kinds", default=",".join(FORMS), help="tokenizer forms to time")
    args = ap.parse_args()

    import tiktoken
    import tiktoken.load
    from tokenizers import Tokenizer as HFTokenizer

    texts, unique_bytes = load_texts(args.mb)
    num_bytes = sum(len(t.encode()) for t in texts)
    ranks = tiktoken.load.load_tiktoken_bpe(str(Path(args.tokenizer) / "r50k_base.tiktoken"))
    ref = tiktoken.Encoding("r50k_base", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                            special_tokens={EOT: 50256})
    reference(ref, texts[:200], 1)
    timings = {size: cpu_seconds(lambda: reference(ref, texts, size)) for size in (1, len(texts))}
    ref_cpu, ref_wall, ref_tokens = min(timings.values())  # the faster way of calling it
    print(json.dumps({"text_bytes": num_bytes, "unique_text_bytes": unique_bytes,
                      "documents": len(texts), "tiktoken_tokens": ref_tokens,
                      "tiktoken_tokens_per_cpu_s": round(ref_tokens / ref_cpu),
                      "tiktoken_cpu_s_by_batch_size": {k: round(v[0], 2)
                                                       for k, v in timings.items()},
                      "tiktoken_wall_s": round(ref_wall, 2)}))
    for kind in args.kinds.split(","):
        tok = Tokenizer.from_path(args.tokenizer, kind)
        ours(tok, texts[:200])
        cpu, wall, n = cpu_seconds(lambda: ours(tok, texts))
        assert n == ref_tokens + len(texts), (kind, n)  # same ids plus one separator each
        print(json.dumps({"kind": kind, "engine": tok.describe()["engine"],
                          "tokens": n, "tokens_per_cpu_s": round(n / cpu),
                          "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                          "ratio_vs_tiktoken": round(ref_cpu / cpu, 3)}))
    hf = HFTokenizer.from_file(str(Path(args.tokenizer) / "tokenizer.json"))
    hf.encode_batch_fast(texts[:200], add_special_tokens=False)
    cpu, wall, n = cpu_seconds(lambda: sum(
        len(e.ids) for i in range(0, len(texts), 1000)
        for e in hf.encode_batch_fast(texts[i:i + 1000], add_special_tokens=False)))
    assert n == ref_tokens
    print(json.dumps({"peer": "tokenizers (tokenizer.json)", "tokens_per_cpu_s": round(
        ref_tokens / cpu), "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        "tiktoken_speedup": round(cpu / ref_cpu, 2)}))


if __name__ == "__main__":
    main()
