"""A held-out reference set for ablations on the demo corpus: new text of the demo's good kinds.

    python -m crawl2gpt.experiments.demo_reference demo-reference.jsonl --documents 300

Half encyclopedia entries (the demo's `wikipedia` kind), half crawl articles (its `article`
kind, the pages a quality filter should keep), drawn from the demo generators with seeds of
their own ("heldout-reference"), so no document is one the demo corpus contains. One JSON line
`{"id", "kind", "text"}` per document, byte-identical for the same arguments.
"""

from __future__ import annotations

import argparse
import json
import random
import sys

from crawl2gpt.demo import text as demo_text
from crawl2gpt.demo.pages import derived_seed


def reference_documents(documents: int, seed: int = 0) -> list[dict]:
    out = []
    for i in range(documents):
        rng = random.Random(derived_seed(seed, "heldout-reference", i))
        if i % 2 == 0:
            _, body = demo_text.wiki_article(rng)
            out.append({"id": f"wiki-{i}", "kind": "wikipedia", "text": body})
        else:
            a = demo_text.article(rng)
            out.append({"id": f"article-{i}", "kind": "article",
                        "text": "\n\n".join([a.title, *a.paragraphs])})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the JSONL file to write")
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with open(args.out, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(doc, ensure_ascii=False) + "\n"
                     for doc in reference_documents(args.documents, args.seed))
    print(f"{args.documents} documents: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
