"""GPT-2 byte-level BPE loaded from local files (GPT-3 §2.1 uses GPT-2's 50,257-token BPE).

One `Tokenizer` over four on-disk forms (never the network):

| kind       | files                          | engine                                     |
|------------|--------------------------------|--------------------------------------------|
| `tiktoken` | `*.tiktoken` (base64 token, rank) | tiktoken                                |
| `openai`   | `encoder.json` + `vocab.bpe`   | tiktoken if rank-ordered, else `tokenizers`|
| `hf-bpe`   | `vocab.json` + `merges.txt`    | same as `openai`                           |
| `hf-json`  | `tokenizer.json` (`train_bpe`) | tiktoken if GPT-2-style and rank-ordered,  |
|            |                                | else `tokenizers`                          |

tiktoken merges by the rank of a pair's concatenation, which equals BPE's merge order when token
ids follow merge order ("rank-ordered", as GPT-2's files are; tiktoken's own converter asserts
the same for GPT-2) and is about 5 times faster per core than HF `tokenizers`. Others,
and tokenizer.json files with a normalizer, dropout or another split, run on HF `tokenizers`,
which applies the merge list itself. Text is encoded as ordinary text: a literal
`<|endoftext|>` inside a document is spelled out, never turned into the separator, which is
appended once per document.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path

import numpy as np

EOT = "<|endoftext|>"

# tiktoken's `r50k_pat_str` (tiktoken_ext/openai_public.py): GPT-2's split pattern with
# possessive quantifiers; it splits text as GPT-2's `encoder.py` pattern does (same splits on
# 95,060 strings, see ../shared/data/tokenizers/gpt2/README.md).
GPT2_PATTERN = (r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++"""
                r"""|\s++$|\s+(?!\S)|\s""")

# Files of each form, in the order `kind="auto"` tries them on a folder.
FORMS: dict[str, tuple[str, ...]] = {
    "tiktoken": ("*.tiktoken",),
    "openai": ("encoder.json", "vocab.bpe"),
    "hf-bpe": ("vocab.json", "merges.txt"),
    "hf-json": ("tokenizer.json",),
}

UINT16_VOCAB = 2**16
UINT32_VOCAB = 2**32


class TokenizerError(ValueError):
    """Tokenizer files are missing or malformed; the message names the file (and line)."""


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's table mapping each byte to a printable character (a space becomes 'Ġ')."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


UNICODE_TO_BYTE = {c: b for b, c in _byte_to_unicode().items()}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def id_dtype_for(vocab_size: int) -> np.dtype:
    """uint16 when every id fits (vocab ≤ 65,536), else uint32; larger is an error."""
    if vocab_size <= UINT16_VOCAB:
        return np.dtype(np.uint16)
    if vocab_size <= UINT32_VOCAB:
        return np.dtype(np.uint32)
    raise TokenizerError(f"vocabulary of {vocab_size} ids exceeds uint32 token ids")


class _TiktokenEngine:
    name = "tiktoken"

    def __init__(self, name: str, ranks: dict[bytes, int], specials: dict[str, int]):
        import tiktoken
        self._enc = tiktoken.Encoding(name, pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                                      special_tokens=specials)
        self.max_id = self._enc.max_token_value

    def encode(self, texts: list[str]) -> list[list[int]]:
        encode = self._enc.encode_ordinary  # one thread: Beam parallelises across workers
        return [encode(t) for t in texts]

    def decode(self, ids: list[int]) -> str:
        return self._enc.decode(ids)


class _HFEngine:
    name = "tokenizers"

    def __init__(self, tok):
        tok.encode_special_tokens = True  # a literal <|endoftext|> in text stays text
        self._tok = tok
        self.max_id = max(tok.get_vocab(with_added_tokens=True).values())

    def encode(self, texts: list[str]) -> list[list[int]]:
        encodings = self._tok.encode_batch_fast(texts, add_special_tokens=False)
        return [e.ids for e in encodings]

    def decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids, skip_special_tokens=False)


class Tokenizer:
    """A byte-level BPE with an end-of-text id, the files it came from and their sha256."""

    def __init__(self, kind: str, engine, eot_id: int, files: dict[str, Path]):
        self.kind = kind
        self._engine = engine
        self.eot_id = eot_id
        self.files = files
        self.files_sha256 = {name: sha256_file(p) for name, p in sorted(files.items())}
        self.vocab_size = engine.max_id + 1
        self.id_dtype = id_dtype_for(self.vocab_size)

    @classmethod
    def from_path(cls, path: str | Path, kind: str = "auto") -> Tokenizer:
        """Load from a folder (or one file) in form `kind` (see `FORMS`; auto: first found)."""
        kind, files = resolve_files(Path(path), kind)
        engine, eot_id = _LOADERS[kind](files)
        return cls(kind, engine, eot_id, files)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Ids of each text as ordinary text, each followed by the end-of-text id."""
        eot = self.eot_id
        out = self._engine.encode(texts)
        for ids in out:
            ids.append(eot)
        return out

    def decode(self, ids) -> str:
        return self._engine.decode([int(i) for i in ids])

    def describe(self) -> dict:
        """What the manifest records: form, engine, file hashes, vocabulary, separator, id type."""
        return {"kind": self.kind, "engine": self._engine.name, "files_sha256": self.files_sha256,
                "vocab_size": self.vocab_size, "eot_id": self.eot_id,
                "id_dtype": self.id_dtype.name}


def resolve_files(path: Path, kind: str) -> tuple[str, dict[str, Path]]:
    """The form and its files under `path`; an error names what is missing where."""
    if kind != "auto" and kind not in FORMS:
        raise TokenizerError(f"unknown tokenizer kind {kind!r}; known: auto, {', '.join(FORMS)}")
    if not path.exists():
        raise TokenizerError(f"tokenizer path not found: {path}")
    if path.is_file():
        found = _kind_of_file(path)
        if found is None or kind not in ("auto", found):
            raise TokenizerError(f"{path}: not a tokenizer file of kind {kind!r} "
                                 f"(single files: *.tiktoken, tokenizer.json)")
        return found, {path.name: path}
    kinds = FORMS if kind == "auto" else {kind: FORMS[kind]}
    for name, patterns in kinds.items():
        files = {p.name: p for pattern in patterns for p in sorted(path.glob(pattern))[:1]}
        if len(files) == len(patterns):
            return name, files
    if kind == "auto":
        raise TokenizerError(f"no tokenizer files in {path}; expected one of: "
                             + "; ".join(" + ".join(p) for p in FORMS.values()))
    missing = [p for p in FORMS[kind] if not any(path.glob(p))]
    raise TokenizerError(f"tokenizer kind {kind!r} needs {' + '.join(FORMS[kind])} in {path}; "
                         f"missing: {', '.join(missing)}")


def _kind_of_file(path: Path) -> str | None:
    if path.suffix == ".tiktoken":
        return "tiktoken"
    if path.name.endswith(".json"):
        return "hf-json"
    return None


def _load_tiktoken(files: dict[str, Path]):
    (path,) = files.values()
    ranks: dict[bytes, int] = {}
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split()
            try:
                if len(parts) != 2:
                    raise ValueError
                token, rank = base64.b64decode(parts[0], validate=True), int(parts[1])
            except (ValueError, binascii.Error):
                raise TokenizerError(f"{path}:{lineno}: expected 'base64 rank', got "
                                     f"{line[:80]!r}") from None
            ranks[token] = rank
    if not ranks:
        raise TokenizerError(f"{path}: no tokens")
    eot_id = max(ranks.values()) + 1  # as r50k_base: the separator follows the last rank
    return _TiktokenEngine(path.stem, ranks, {EOT: eot_id}), eot_id


def _read_json(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TokenizerError(f"{path}: invalid JSON: {e}") from None


def _read_merges(path: Path) -> list[tuple[str, str]]:
    merges = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or (lineno == 1 and line.startswith("#version")):
                continue
            pair = line.split(" ")
            if len(pair) != 2 or not all(pair):
                raise TokenizerError(f"{path}:{lineno}: expected a merge 'left right', "
                                     f"got {line[:80]!r}")
            merges.append((pair[0], pair[1]))
    return merges


def _decode_token(token: str, path: Path) -> bytes:
    try:
        return bytes(UNICODE_TO_BYTE[c] for c in token)
    except KeyError:
        raise TokenizerError(f"{path}: token {token!r} is not in GPT-2's byte-level "
                             f"alphabet") from None


def _tiktoken_ranks(vocab: dict[str, int], merges: list[tuple[str, str]], specials: set[str],
                    path: Path) -> dict[bytes, int] | None:
    """Byte-string ranks for tiktoken when ids follow merge order, else None.

    Rank-ordered: the vocabulary (less `specials`) is exactly the 256 bytes plus one token per
    merge, and merged tokens' ids increase in merge order.
    """
    products = [_decode_token(a, path) + _decode_token(b, path) for a, b in merges]
    by_bytes = {_decode_token(t, path): i for t, i in vocab.items() if t not in specials}
    missing = [p for p in [*(bytes([b]) for b in range(256)), *products] if p not in by_bytes]
    if missing:
        raise TokenizerError(f"{path}: {len(missing)} byte or merged token(s) missing from the "
                             f"vocabulary, e.g. {missing[0]!r}")
    product_ids = [by_bytes[p] for p in products]
    rank_ordered = all(a < b for a, b in zip(product_ids, product_ids[1:]))
    return by_bytes if rank_ordered and len(by_bytes) == 256 + len(products) else None


def _load_vocab_merges(files: dict[str, Path]):
    vocab_path, merges_path = files.values()
    vocab = _read_json(vocab_path)
    merges = _read_merges(merges_path)
    if EOT not in vocab:
        raise TokenizerError(f"{vocab_path}: no {EOT} token")
    ranks = _tiktoken_ranks(vocab, merges, {EOT}, vocab_path)
    if ranks is not None:
        return _TiktokenEngine(vocab_path.stem, ranks, {EOT: vocab[EOT]}), vocab[EOT]
    from tokenizers import AddedToken, decoders, models, pre_tokenizers
    from tokenizers import Tokenizer as HFTokenizer
    tok = HFTokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(EOT, special=True)])
    return _HFEngine(tok), vocab[EOT]


def _is_gpt2_style(cfg: dict) -> bool:
    """A tokenizer.json that tiktoken can run: plain byte-level BPE with GPT-2's split."""
    model, pre = cfg.get("model") or {}, cfg.get("pre_tokenizer") or {}
    return (model.get("type", "BPE") == "BPE" and cfg.get("normalizer") is None
            and not any(model.get(k) for k in ("dropout", "continuing_subword_prefix",
                                               "end_of_word_suffix", "byte_fallback",
                                               "ignore_merges"))
            and pre.get("type") == "ByteLevel" and pre.get("add_prefix_space") is False
            and pre.get("use_regex", True) is True
            and all(t.get("special") for t in cfg.get("added_tokens", [])))


def _load_hf_json(files: dict[str, Path]):
    from tokenizers import Tokenizer as HFTokenizer
    (path,) = files.values()
    try:
        tok = HFTokenizer.from_file(str(path))
    except Exception as e:  # the Rust loader raises a bare Exception with its parse error
        raise TokenizerError(f"{path}: not a Hugging Face tokenizer.json: {e}") from None
    eot_id = tok.token_to_id(EOT)
    if eot_id is None:
        raise TokenizerError(f"{path}: no {EOT} token")
    cfg = _read_json(path)
    if _is_gpt2_style(cfg):
        specials = {t["content"]: t["id"] for t in cfg.get("added_tokens", [])}
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m)
                  for m in cfg["model"]["merges"]]
        ranks = _tiktoken_ranks(cfg["model"]["vocab"], merges, set(specials), path)
        if ranks is not None:
            return _TiktokenEngine(path.stem, ranks, specials), eot_id
    return _HFEngine(tok), eot_id


_LOADERS = {"tiktoken": _load_tiktoken, "openai": _load_vocab_merges,
            "hf-bpe": _load_vocab_merges, "hf-json": _load_hf_json}
