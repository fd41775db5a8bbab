"""A text-only corpus of any size from real sentences: unique documents of 8-30 sentences
drawn from a C4 sample, as JSONL files of about `file_mb` MB each. The build's scale bench and
its memory test use it (documents unlike the generated demo pages, in files of a fixed size)."""

from __future__ import annotations

import gzip
import json
import random
import re
from pathlib import Path


def read_sentences(c4_path: Path) -> list[str]:
    sentences = []
    with gzip.open(c4_path, "rt", encoding="utf-8") as f:
        for line in f:
            sentences += [s for s in re.split(r"(?<=[.!?])\s+", json.loads(line)["text"])
                          if len(s) > 20]
    return sentences


def write_sentence_corpus(c4_path: Path, mb: float, folder: Path, file_mb: float = 25,
                          seed: int = 0) -> Path:
    """`mb` MB of text in `folder/part-NNNN.jsonl`; the same arguments give the same files."""
    sentences = read_sentences(c4_path)
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written, part, out = 0, 0, None
    while written < mb * 1e6:
        if out is None or out.tell() > file_mb * 1e6:
            if out is not None:
                out.close()
            out = open(folder / f"part-{part:04d}.jsonl", "w", encoding="utf-8")
            part += 1
        text = " ".join(rng.choice(sentences) for _ in range(rng.randint(8, 30)))
        out.write(json.dumps({"id": f"d{written}", "text": text}) + "\n")
        written += len(text.encode())
    out.close()
    return folder
