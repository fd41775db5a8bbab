"""`crawl2gpt train-tokenizer`'s core: a byte-level BPE of a chosen size trained on corpus text.

Same design as GPT-2's tokenizer (byte alphabet, GPT-2 split pattern, no prefix space,
`<|endoftext|>` as the only special token), trained with Hugging Face `tokenizers` and saved as
one `tokenizer.json` that `Tokenizer.from_path` loads (kind `hf-json`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from crawl2gpt.core.tokenizer import EOT

# 256 byte tokens plus the end-of-text token.
MIN_VOCAB_SIZE = 257


def train_bpe(texts: Iterable[str], vocab_size: int, out_dir: str | Path,
              min_frequency: int = 2, split_digits: bool = False) -> Path:
    """Train on `texts` and write `out_dir/tokenizer.json`; returns that path.

    Pairs seen fewer than `min_frequency` times are never merged, so a small corpus may end
    below `vocab_size` (the loaded tokenizer's `vocab_size` says how many ids there are).
    `split_digits` makes every digit its own token (as LLaMA's tokenizer does, unlike GPT-2's),
    which lets a small model learn arithmetic digit by digit.
    """
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers, trainers

    if vocab_size < MIN_VOCAB_SIZE:
        raise ValueError(f"vocab_size {vocab_size} is below {MIN_VOCAB_SIZE} "
                         f"(256 bytes + {EOT})")
    tok = HFTokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), byte_level]) if split_digits else byte_level
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "tokenizer.json"
    tok.save(str(path))
    return path
