"""GPT-2 BPE from local files: every form gives tiktoken r50k_base's ids; errors name files."""

import base64
import json
import shutil

import numpy as np
import pytest

from crawl2gpt.core.tokenizer import FORMS, GPT2_PATTERN, Tokenizer, TokenizerError
from crawl2gpt.mixing.train_tokenizer import train_bpe

KINDS = list(FORMS)


def test_pattern_is_tiktokens_r50k_pattern():
    from tiktoken_ext.openai_public import r50k_pat_str
    assert GPT2_PATTERN == r50k_pat_str


@pytest.mark.parametrize("kind", KINDS)
def test_every_form_gives_r50k_ids_on_real_texts(kind, gpt2_tokenizers, r50k_reference,
                                                 real_texts):
    tok = gpt2_tokenizers[kind]
    assert tok.kind == kind
    assert (tok.vocab_size, tok.eot_id, tok.id_dtype) == (50257, 50256, np.uint16)
    got = tok.encode_batch(real_texts)
    want = [ids + [50256] for ids in r50k_reference.encode_ordinary_batch(real_texts)]
    assert len(real_texts) > 350
    mismatched = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert not mismatched, f"first mismatch on text {mismatched[0]}"
    assert all(tok.decode(ids[:-1]) == text for ids, text in zip(got, real_texts))


def test_known_gpt2_ids(gpt2_dir):
    # The well-known GPT-2 encoding of "Hello world" (also in the tokenizer folder's README).
    tok = Tokenizer.from_path(gpt2_dir / "tokenizer.json")
    assert tok.encode_batch(["Hello world", ""]) == [[15496, 995, 50256], [50256]]


def test_literal_separator_in_text_is_spelled_out(gpt2_tokenizers):
    for kind, tok in gpt2_tokenizers.items():
        ids = tok.encode_batch(["a<|endoftext|>b"])[0]
        assert ids.count(50256) == 1 and ids[-1] == 50256, kind


def test_files_sha256_are_the_readme_hashes(gpt2_tokenizers):
    # sha256 values copied from ../shared/data/tokenizers/gpt2/README.md.
    tok = gpt2_tokenizers["openai"]
    assert tok.files_sha256 == {
        "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
        "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"}
    assert tok.describe()["files_sha256"] == tok.files_sha256


def test_auto_picks_first_form_present(gpt2_dir, tmp_path):
    assert Tokenizer.from_path(gpt2_dir).kind == "tiktoken"
    shutil.copy(gpt2_dir / "vocab.json", tmp_path)
    shutil.copy(gpt2_dir / "merges.txt", tmp_path)
    assert Tokenizer.from_path(tmp_path).kind == "hf-bpe"


def test_missing_file_is_named(gpt2_dir, tmp_path):
    shutil.copy(gpt2_dir / "encoder.json", tmp_path)
    with pytest.raises(TokenizerError, match=r"missing: vocab\.bpe"):
        Tokenizer.from_path(tmp_path, "openai")
    with pytest.raises(TokenizerError, match="not found"):
        Tokenizer.from_path(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TokenizerError, match="no tokenizer files"):
        Tokenizer.from_path(empty)
    with pytest.raises(TokenizerError, match="unknown tokenizer kind"):
        Tokenizer.from_path(tmp_path, "sentencepiece")


def test_malformed_rank_file_names_line(tmp_path):
    bad = tmp_path / "bad.tiktoken"
    bad.write_bytes(b"IQ== 0\nnot-base64!! 1\n")
    with pytest.raises(TokenizerError, match=r"bad\.tiktoken:2"):
        Tokenizer.from_path(bad)


def _swap_ids(vocab: dict, a: str, b: str) -> None:
    vocab[a], vocab[b] = vocab[b], vocab[a]


@pytest.mark.parametrize("kind", ["hf-bpe", "hf-json"])
def test_not_rank_ordered_vocab_runs_on_merge_list(kind, gpt2_dir, r50k_reference, tmp_path):
    # Swap the ids of two merged tokens: tiktoken's rank order no longer equals merge order,
    # so the loader must apply the merge list itself (HF tokenizers); the same token strings
    # come out, with the two swapped ids exchanged.
    a, b = "Ġthe", "Ġworld"   # ids 262 and 995 in GPT-2
    if kind == "hf-bpe":
        vocab = json.loads((gpt2_dir / "vocab.json").read_text(encoding="utf-8"))
        _swap_ids(vocab, a, b)
        (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        shutil.copy(gpt2_dir / "merges.txt", tmp_path)
    else:
        cfg = json.loads((gpt2_dir / "tokenizer.json").read_text(encoding="utf-8"))
        _swap_ids(cfg["model"]["vocab"], a, b)
        (tmp_path / "tokenizer.json").write_text(json.dumps(cfg), encoding="utf-8")
    tok = Tokenizer.from_path(tmp_path, kind)
    assert tok.describe()["engine"] == "tokenizers"
    swap = {262: 995, 995: 262}
    text = "Hello world, the world of the web <|endoftext|>"
    want = [swap.get(i, i) for i in r50k_reference.encode_ordinary(text)] + [50256]
    assert 262 in want and 995 in want
    assert tok.encode_batch([text]) == [want]
    assert tok.decode(want[:-1]) == text


def test_large_vocabulary_uses_uint32(tmp_path):
    # 256 bytes + 65,536 two-byte + 1,000 three-byte tokens = ranks 0..66,791; the separator
    # takes 66,792, so 66,793 ids, more than uint16 holds.
    tokens = ([bytes([i]) for i in range(256)] + [bytes([i // 256, i % 256]) for i in range(65_536)]
              + [bytes([0, i // 256, i % 256]) for i in range(1_000)])
    lines = [base64.b64encode(t) + b" %d" % r for r, t in enumerate(tokens)]
    path = tmp_path / "big.tiktoken"
    path.write_bytes(b"\n".join(lines) + b"\n")
    tok = Tokenizer.from_path(path)
    assert (tok.vocab_size, tok.eot_id, tok.id_dtype) == (66_793, 66_792, np.uint32)
    ids = tok.encode_batch(["\x00\x00\x07"])[0]
    assert ids == [256 + 65_536 + 7, 66_792]


def test_trained_bpe_loads_and_round_trips(real_texts, tmp_path):
    from tokenizers import Tokenizer as HFTokenizer

    corpus = real_texts[:150]  # C4 documents
    path = train_bpe(corpus, 600, tmp_path / "a")
    again = train_bpe(corpus, 600, tmp_path / "b")
    assert path.read_bytes() == again.read_bytes()  # training is deterministic
    tok = Tokenizer.from_path(tmp_path / "a")
    assert tok.kind == "hf-json" and tok.vocab_size == 600 and tok.id_dtype == np.uint16
    held_out = [t for t in real_texts[150:] if "<|endoftext|>" not in t]  # other languages,
    ids = tok.encode_batch(held_out)                                     # books, odd spaces
    # Reference: Hugging Face tokenizers running the same file itself.
    reference = HFTokenizer.from_file(str(path)).encode_batch(held_out)
    assert ids == [r.ids + [tok.eot_id] for r in reference]
    assert all(tok.eot_id not in x[:-1] for x in ids)
    assert [tok.decode(x[:-1]) for x in ids] == held_out  # byte-level: every text round trips
    english = real_texts[:150]
    num_bytes = sum(len(t.encode()) for t in english)
    assert sum(len(x) for x in tok.encode_batch(english)) < num_bytes / 2
    # The same tokenizer as vocab.json + merges.txt gives the same ids.
    HFTokenizer.from_file(str(path)).model.save(str(tmp_path / "b"))
    assert Tokenizer.from_path(tmp_path / "b", "hf-bpe").encode_batch(held_out) == ids


def test_vocab_size_below_bytes_is_refused(tmp_path):
    with pytest.raises(ValueError, match="below 257"):
        train_bpe(["abc"], 100, tmp_path)
