"""`crawl2gpt sample`: generate text from a checkpoint.

    crawl2gpt sample --checkpoint runs/train/checkpoints --prompt "The President said" \
        --tokenizer ../shared/data/tokenizers/gpt2 --max-new-tokens 100 --top-k 200

The tokenizer defaults to the path the corpus build recorded; its files must hash to what the
checkpoint was trained with. An empty prompt starts from end-of-text, as a new document.
"""

from __future__ import annotations

import argparse
import sys

import torch

from crawl2gpt.training.checkpoint import CheckpointError, load_model
from crawl2gpt.training.model import generate
from crawl2gpt.training.trainer import resolve_device

SEPARATOR = "-" * 40


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crawl2gpt sample", description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True,
                        help="a checkpoint folder, or a run's checkpoint folder (newest is used)")
    parser.add_argument("--tokenizer", help="tokenizer folder or file (default: the build's)")
    parser.add_argument("--prompt", default="")
    parser.add_argument("--num-samples", type=int, default=1)
    parser.add_argument("--max-new-tokens", type=int, default=200)
    parser.add_argument("--temperature", type=float, default=0.8,
                        help="0 = greedy (always the most likely token)")
    parser.add_argument("--top-k", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--device", default="auto")
    return parser


def load_tokenizer(path: str | None, trained_with: dict):
    """The tokenizer at `path` (or the recorded one), checked against the checkpoint's."""
    from crawl2gpt.core.tokenizer import Tokenizer
    path = path or trained_with.get("path")
    if not path:
        raise CheckpointError("the checkpoint records no tokenizer path: pass --tokenizer")
    tokenizer = Tokenizer.from_path(path)
    recorded = trained_with.get("files_sha256")
    if recorded and recorded != tokenizer.files_sha256:
        raise CheckpointError(f"tokenizer {path} is not the one the model was trained with "
                              f"(files_sha256 {tokenizer.files_sha256} != {recorded})")
    return tokenizer


def sample_main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from crawl2gpt.core.tokenizer import TokenizerError
    device = resolve_device(args.device)
    try:
        model, state = load_model(args.checkpoint, device)
        tokenizer = load_tokenizer(args.tokenizer, state.get("tokenizer", {}))
    except (CheckpointError, TokenizerError) as e:
        print(f"crawl2gpt sample: {e}", file=sys.stderr)
        return 2
    prompt = tokenizer.encode_batch([args.prompt])[0][:-1] if args.prompt else []
    prompt = prompt or [tokenizer.eot_id]
    generator = torch.Generator(device).manual_seed(args.seed)
    for i in range(args.num_samples):
        idx = torch.tensor([prompt], dtype=torch.long, device=device)
        out = generate(model, idx, args.max_new_tokens, args.temperature, args.top_k, generator)
        if i:
            print(SEPARATOR)
        print(args.prompt + tokenizer.decode(out[0, len(prompt):].tolist()))
    return 0


if __name__ == "__main__":
    sys.exit(sample_main())
