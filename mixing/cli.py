"""`crawl2gpt train-tokenizer` and `crawl2gpt export-tokens`: the mixing package's commands."""

from __future__ import annotations

import argparse
import itertools
import json
import posixpath
from typing import Iterator

from crawl2gpt.core.manifest import iter_build_documents, load_manifest


def build_texts(manifest_path: str, sources: list[str] | None, max_documents: int | None
                ) -> Iterator[str]:
    """The kept documents' texts of a build, source by source, shard by shard."""
    texts = (d.text for d in iter_build_documents(manifest_path, sources))
    return itertools.islice(texts, max_documents)


def cmd_train_tokenizer(args: argparse.Namespace) -> int:
    from crawl2gpt.core.tokenizer import Tokenizer
    from crawl2gpt.mixing.train_tokenizer import train_bpe
    try:
        path = train_bpe(build_texts(args.build, args.sources, args.max_documents),
                         args.vocab_size, args.out)
    except ValueError as e:  # an unknown source name
        raise SystemExit(f"crawl2gpt train-tokenizer: {e}") from None
    tokenizer = Tokenizer.from_path(path)
    print(f"tokenizer: {path} ({tokenizer.vocab_size:,} ids, end-of-text {tokenizer.eot_id})")
    return 0


def cmd_export_tokens(args: argparse.Namespace) -> int:
    from crawl2gpt.mixing.export import export_megatron, export_nanogpt
    manifest = load_manifest(args.build)
    if "tokens" not in manifest:
        raise SystemExit(f"{args.build}: this build has no token shards ([tokenize] not set)")
    root = posixpath.dirname(args.build)
    sources = manifest["tokens"]["sources"]
    names = args.sources or sorted(sources)
    paths = [posixpath.join(root, s["path"]) for n in names for s in sources[n]["shards"]]
    export = export_megatron if args.format == "megatron" else export_nanogpt
    info = export(paths, args.out)
    print(json.dumps(info.__dict__, indent=2, default=str))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train-tokenizer", help="train a byte-level BPE on a built corpus")
    train.add_argument("--build", required=True, help="the build's manifest.json")
    train.add_argument("--vocab-size", type=int, required=True)
    train.add_argument("--out", required=True, help="folder for tokenizer.json")
    train.add_argument("--sources", nargs="*", help="only these sources (default: all)")
    train.add_argument("--max-documents", type=int, help="train on at most N documents")
    train.set_defaults(func=cmd_train_tokenizer)
    export = sub.add_parser("export-tokens", help="write token shards as Megatron .bin/.idx "
                            "or a nanoGPT-style flat memmap")
    export.add_argument("--build", required=True, help="the build's manifest.json")
    export.add_argument("--format", choices=["megatron", "nanogpt"], required=True)
    export.add_argument("--out", required=True, help="Megatron prefix, or the .bin path")
    export.add_argument("--sources", nargs="*", help="only these sources (default: all)")
    export.set_defaults(func=cmd_export_tokens)
