"""Signatures: shingle definition by hand, xxh32 and MinHash equal to the reference libraries."""

import json
import random

import numpy as np
import pytest
import xxhash
import zstandard
from datasketch import MinHash

from crawl2gpt.dedup import minhash
from crawl2gpt.dedup.minhash import (
    MinHasher,
    exact_jaccard,
    fingerprints,
    normalise,
    normalise_batch,
    shingle_spans,
    shingles,
    xxh32_spans,
)
from tests.dedup.util import brute_jaccard, c4_texts, variant_with_jaccard


def test_shingles_by_hand():
    # Lowercased \w+ words: the cat / cat the / the cat / cat sat (repeats kept).
    assert shingles("The cat, the CAT sat!", 2) == [b"the cat", b"cat the", b"the cat",
                                                     b"cat sat"]
    # Fewer words than n: one shingle of all words.
    assert shingles("Hello,   world", 5) == [b"hello world"]
    # No word at all: NUL + the non-space characters, so "!!" and "??" differ.
    assert shingles("! !", 5) == [b"\x00!!"]
    assert shingles("??", 5) != shingles("!!", 5)


def test_short_documents_never_share_an_empty_signature():
    hasher = MinHasher(ngram=5, num_perm=16)
    sigs = hasher.signatures(["!!", "??", "one", "two words", "", "Hello world"])
    assert len({row.tobytes() for row in sigs}) == 6
    assert not (sigs == np.iinfo(np.uint32).max).all(axis=1).any()


def test_normalise_batch_by_hand():
    # Lowercase; ASCII punctuation and non-word characters (dashes, emoji, NBSP, U+2003, the
    # combining dot that "İ".lower() leaves) separate words; letters of any script and "_" stay.
    texts = ["Héllo, WORLD!! ça va?", "x_y  z\n\n", "emoji \U0001F600 ok", "\u00a0nbsp\u2003em",
             "İstanbul ΣΑΣ", "日本語、です。", "—…", "   ", ""]
    assert normalise_batch(texts) == [
        "héllo world ça va".encode(), b"x_y z", b"emoji ok", b"nbsp em",
        "i stanbul σας".encode(), "日本語 です".encode(),
        # No word at all: NUL + the non-space characters (as `normalise`).
        "\x00—…".encode(), b"\x00", b"\x00"]
    assert normalise_batch([]) == []


def test_normalise_batch_equals_the_regex_on_many_languages(shared_data):
    # The multilingual CC sample: 23 languages (README); line 82 is not valid UTF-8.
    path = shared_data / "commoncrawl/multilingual/hplt-cc-sample100.jsonl.zst"
    raw = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
    rows = [json.loads(line.decode("utf-8", "replace")) for line in raw.splitlines()]
    texts = [r["t"] or "" for r in rows] + [r["h"][:20_000] for r in rows] + c4_texts(
        shared_data, 50)
    assert sum(not t.isascii() for t in texts) > 100
    assert normalise_batch(texts) == [normalise(t) for t in texts]


def test_xxh32_matches_xxhash_for_every_length_and_seed():
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(400))
    buf = np.frombuffer(data, dtype=np.uint8)
    # 0..99 bytes (every tail path, up to 6 stripes), at random offsets and ending at the end.
    lengths = np.tile(np.arange(100, dtype=np.int64), 2)
    starts = np.concatenate(([rng.randrange(300) for _ in range(100)], 400 - lengths[:100]))
    for seed in (0, 1, 0x9E3779B1):
        expected = [xxhash.xxh32_intdigest(data[s:s + n], seed) for s, n in zip(starts, lengths)]
        assert xxh32_spans(buf, starts, lengths, seed).tolist() == expected


def test_spans_are_the_shingles(shared_data):
    texts = c4_texts(shared_data, 20) + ["", "!!", "a b", "Ünïcödé wörds here, ok?"]
    spans = shingle_spans([normalise(t) for t in texts], 5)
    got = [spans.shingle_bytes(i) for i in range(spans.starts.size)]
    assert got == [s for t in texts for s in shingles(t, 5)]


@pytest.mark.parametrize("hash_name,hashfunc", [("xxh32", xxhash.xxh32_intdigest),
                                                ("sha1", None)])
def test_signatures_equal_datasketch(shared_data, monkeypatch, hash_name, hashfunc):
    # A small chunk makes documents straddle permutation chunks.
    monkeypatch.setattr(minhash, "PERMUTE_CHUNK", 97)
    texts = c4_texts(shared_data, 30) + ["!!", "one", "two words here"]
    for num_perm, seed in ((128, 1), (64, 42)):
        ours = MinHasher(5, num_perm, seed, hash_name).signatures(texts)
        for text, row in zip(texts, ours):
            kwargs = {"hashfunc": hashfunc} if hashfunc else {}
            ref = MinHash(num_perm=num_perm, seed=seed, **kwargs)
            ref.update_batch(shingles(text, 5))
            assert np.array_equal(ref.hashvalues, row)


def test_exact_jaccard_equals_brute_force(shared_data):
    base = c4_texts(shared_data, 3)[2]
    for seed, (lo, hi) in enumerate([(0.5, 0.6), (0.78, 0.82), (0.9, 0.95)]):
        variant, expected = variant_with_jaccard(base, lo, hi, seed)
        got = exact_jaccard(*fingerprints([normalise(base), normalise(variant)], 5))
        assert got == pytest.approx(expected, abs=1e-12)
    assert exact_jaccard(*fingerprints([b"a b c d e f", b"x y z w v u"], 5)) == 0.0
    assert brute_jaccard("a b c d e f", "A, b c d e f") == 1.0
