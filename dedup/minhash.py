"""MinHash signatures over word n-gram shingles, vectorised in numpy.

A document's shingles are its `n`-word windows: the text is lowercased, split into `\\w+` words,
and each window is the words joined by one space, UTF-8 encoded (`shingles()` lists them). A
document with fewer than `n` words has one shingle, all its words; one with no word at all has one
shingle made of its non-space characters after a NUL byte, so it matches only the same characters
(never every other short document).

Signatures equal `datasketch.MinHash(num_perm, seed, hashfunc=...)` (its default "affine32"
scheme) fed the same shingles: each shingle is hashed to 32 bits (xxh32 seed 0, or datasketch's
`sha1_hash32`), pre-mixed with the MurmurHash3 finalizer, then permuted by `a*h + b mod 2^32`
with `(a, b)` drawn from `numpy.random.RandomState(seed)` exactly as datasketch draws them. Here
xxh32 itself runs vectorised over all shingles of a batch of documents, and the permutation
minimum is one `reduceat` per batch, instead of a Python call per shingle and per document.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np

WORD_RE = re.compile(r"\w+")
HASHES = ("xxh32", "sha1")
"""Shingle hash functions: xxh32 (seed 0, vectorised) or datasketch's default sha1_hash32."""
# Shingles of one batch are permuted this many at a time (bounds the (chunk, num_perm) array).
PERMUTE_CHUNK = 8192
# Seed of the second xxh32 that widens a shingle hash to a 64-bit fingerprint for exact Jaccard.
FINGERPRINT_SEED = 0x9E3779B1

_U32 = np.uint32
_P1, _P2, _P3, _P4, _P5 = (_U32(p) for p in (2654435761, 2246822519, 3266489917, 668265263,
                                               374761393))


def words(text: str) -> list[str]:
    """The shingling tokens: lowercase `\\w+` runs; a word-less text becomes one pseudo-word."""
    found = WORD_RE.findall(text.lower())
    return found if found else ["\x00" + "".join(text.split())]


def normalise(text: str) -> bytes:
    """The text as the shingles see it: its words joined by single spaces, UTF-8."""
    return " ".join(words(text)).encode("utf-8")


# Byte table for lowercased UTF-8: ASCII non-word bytes -> space; word bytes and the bytes of
# multi-byte characters (>= 0x80, sorted out by `_blank_non_word_chars`) unchanged.
_ASCII_SEPARATORS = bytes(c if c >= 0x80 or chr(c).isalnum() or c == 0x5F else 0x20
                          for c in range(256))
_UTF8_LENGTH = np.zeros(256, dtype=np.int64)
_UTF8_LENGTH[0xC0:0xE0], _UTF8_LENGTH[0xE0:0xF0], _UTF8_LENGTH[0xF0:0xF8] = 2, 3, 4


def normalise_batch(texts: list[str]) -> list[bytes]:
    """`[normalise(t) for t in texts]`, vectorised over the batch (the regex costs ~5x more).

    The lowercased texts are joined into one UTF-8 buffer; ASCII separators become spaces by a
    byte table, non-word multi-byte characters by one lookup per distinct character; runs of
    spaces are then squeezed with numpy. Word-less texts take `normalise`'s pseudo-word.
    """
    if not texts:
        return []
    joined = b"\n".join(t.lower().encode("utf-8").translate(_ASCII_SEPARATORS) for t in texts)
    buf = np.frombuffer(joined, dtype=np.uint8).copy()
    _blank_non_word_chars(buf)
    space = buf == 0x20
    after_separator = np.concatenate(([True], space[:-1] | (buf[:-1] == 0x0A)))
    buf = buf[~(space & after_separator)]
    before_break = np.concatenate((buf[1:] == 0x0A, [True]))
    buf = buf[~((buf == 0x20) & before_break)]
    out = buf.tobytes().split(b"\n")
    return [o if o else normalise(t) for o, t in zip(out, texts)]


def _blank_non_word_chars(buf: np.ndarray) -> None:
    """Overwrite each multi-byte UTF-8 character that `\\w` does not match with spaces."""
    lead = np.flatnonzero(buf >= 0xC0)
    if not lead.size:
        return
    length = _UTF8_LENGTH[buf[lead]]
    padded = np.concatenate((buf, np.zeros(3, dtype=np.uint8))).astype(np.uint32)
    code = np.zeros(lead.size, dtype=np.uint32)
    for k in range(4):
        code |= np.where(k < length, padded[lead + k], 0) << np.uint32(24 - 8 * k)
    distinct, which = np.unique(code, return_inverse=True)
    chars = [int(c).to_bytes(4, "big").rstrip(b"\0").decode("utf-8") for c in distinct]
    blank = np.array([WORD_RE.fullmatch(c) is None for c in chars])[which]
    for k in range(4):
        at = lead[blank & (k < length)] + k
        buf[at] = 0x20


def shingles(text: str, n: int) -> list[bytes]:
    """The document's shingles as bytes, in order (repeats kept), as datasketch is fed them."""
    ws = words(text)
    if len(ws) < n:
        return [" ".join(ws).encode("utf-8")]
    return [" ".join(ws[i:i + n]).encode("utf-8") for i in range(len(ws) - n + 1)]


@dataclass
class ShingleSpans:
    """All shingles of a batch of documents as spans of one byte buffer.

    `buffer` holds each document's words joined by spaces, documents separated by newlines;
    shingle `i` is `buffer[starts[i]:starts[i] + lengths[i]]`; document `d` owns shingles
    `doc_offsets[d]:doc_offsets[d + 1]` (at least one each).
    """

    buffer: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    doc_offsets: np.ndarray

    def shingle_bytes(self, i: int) -> bytes:
        return self.buffer[self.starts[i]:self.starts[i] + self.lengths[i]].tobytes()


def shingle_spans(normalised: list[bytes], n: int) -> ShingleSpans:
    """Locate every shingle of every `normalise`d document without building shingle strings."""
    if n < 1:
        raise ValueError(f"shingle size must be >= 1, got {n}")
    buffer = np.frombuffer(b"\n".join(normalised), dtype=np.uint8)
    breaks = np.flatnonzero((buffer == 32) | (buffer == 10))
    word_starts = np.concatenate(([0], breaks + 1))
    word_ends = np.concatenate((breaks, [buffer.size]))
    word_counts = np.fromiter((d.count(b" ") + 1 for d in normalised), dtype=np.int64,
                              count=len(normalised))
    first_word = np.concatenate(([0], np.cumsum(word_counts)[:-1]))
    counts = np.maximum(word_counts - n + 1, 1)
    doc_offsets = np.concatenate(([0], np.cumsum(counts)))
    owner = np.repeat(np.arange(len(normalised)), counts)
    start_word = first_word[owner] + (np.arange(doc_offsets[-1]) - doc_offsets[owner])
    end_word = np.minimum(start_word + n - 1, first_word[owner] + word_counts[owner] - 1)
    starts = word_starts[start_word]
    return ShingleSpans(buffer, starts, word_ends[end_word] - starts, doc_offsets)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << _U32(r)) | (x >> _U32(32 - r))


def xxh32_spans(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                seed: int = 0) -> np.ndarray:
    """xxh32 (as `xxhash.xxh32_intdigest(span, seed)`) of many spans of a buffer at once."""
    m = buffer.size // 4 + 2
    padded = np.zeros(4 * m + 4, dtype=np.uint8)
    padded[:buffer.size] = buffer
    # The little-endian uint32 at byte offset p is aligned[(p & 3) * m + (p >> 2)]: four aligned
    # copies shifted by 0-3 bytes gather much faster than one unaligned stride-1 view.
    aligned = np.concatenate([padded[k:k + 4 * m].view("<u4") for k in range(4)])

    def lanes(p: np.ndarray) -> np.ndarray:
        return aligned[(p & 3) * m + (p >> 2)]

    stripes = lengths // 16
    h = np.full(starts.size, _U32((seed + int(_P5)) & 0xFFFFFFFF), dtype=_U32)
    long_ = np.flatnonzero(stripes > 0)
    if long_.size:
        # Longest first (a radix sort), so the spans still striping at step k are a prefix.
        key = stripes[long_]
        key = (key.max() - key).astype(np.uint16 if key.max() < 1 << 16 else np.int64)
        long_ = long_[np.argsort(key, kind="stable")]
        pos, n_stripes = starts[long_], stripes[long_]
        acc = [np.full(long_.size, _U32((seed + v) & 0xFFFFFFFF), dtype=_U32)
               for v in (int(_P1) + int(_P2), int(_P2), 0, -int(_P1))]
        live = long_.size - np.cumsum(np.bincount(n_stripes))  # spans with > k stripes
        for k in range(int(n_stripes[0])):
            at = pos[:live[k]] + 16 * k
            for lane, v in enumerate(acc):
                v[:live[k]] = _rotl(v[:live[k]] + lanes(at + 4 * lane) * _P2, 13) * _P1
        h[long_] = _rotl(acc[0], 1) + _rotl(acc[1], 7) + _rotl(acc[2], 12) + _rotl(acc[3], 18)
    h += lengths.astype(_U32)
    # The tail: up to three 4-byte words, then up to three single bytes.
    pos, rest = starts + 16 * stripes, lengths - 16 * stripes
    for k in range(3):
        live = np.flatnonzero(rest >= 4 * (k + 1))
        h[live] = _rotl(h[live] + lanes(pos[live] + 4 * k) * _P3, 17) * _P4
    pos, rest = pos + 4 * (rest // 4), rest % 4
    for k in range(3):
        live = np.flatnonzero(rest > k)
        h[live] = _rotl(h[live] + padded[pos[live] + k].astype(_U32) * _P5, 11) * _P1
    h ^= h >> _U32(15)
    h *= _P2
    h ^= h >> _U32(13)
    h *= _P3
    h ^= h >> _U32(16)
    return h


def shingle_hashes(spans: ShingleSpans, hash_name: str = "xxh32") -> np.ndarray:
    """The 32-bit hash of every shingle, as datasketch's `hashfunc` would return it."""
    if hash_name == "xxh32":
        return xxh32_spans(spans.buffer, spans.starts, spans.lengths)
    if hash_name == "sha1":
        return np.fromiter(
            (int.from_bytes(hashlib.sha1(spans.shingle_bytes(i)).digest()[:4], "little")
             for i in range(spans.starts.size)), dtype=_U32, count=spans.starts.size)
    raise ValueError(f"unknown shingle hash {hash_name!r}; expected one of {HASHES}")


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch's pre-mix before the permutations)."""
    h = h ^ (h >> _U32(16))
    h = h * _U32(0x85EBCA6B)
    h = h ^ (h >> _U32(13))
    h = h * _U32(0xC2B2AE35)
    return h ^ (h >> _U32(16))


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutation parameters `(a, b)` for `(num_perm, seed)`."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=_U32) * _U32(2) + _U32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=_U32)
    return a, b


class MinHasher:
    """Signatures of documents for fixed shingle size, permutations and shingle hash."""

    def __init__(self, ngram: int = 5, num_perm: int = 128, seed: int = 1,
                 hash_name: str = "xxh32") -> None:
        if hash_name not in HASHES:
            raise ValueError(f"unknown shingle hash {hash_name!r}; expected one of {HASHES}")
        self.ngram, self.num_perm, self.hash_name = ngram, num_perm, hash_name
        self.a, self.b = permutations(num_perm, seed)

    def signatures(self, texts: list[str]) -> np.ndarray:
        """One row of `num_perm` uint32 minima per text."""
        return self.signatures_of_normalised(normalise_batch(texts))

    def signatures_of_normalised(self, normalised: list[bytes]) -> np.ndarray:
        spans = shingle_spans(normalised, self.ngram)
        mixed = fmix32(shingle_hashes(spans, self.hash_name))
        # Layout (num_perm, shingles): the minimum runs along contiguous rows, much faster.
        out = np.full((self.num_perm, len(normalised)), np.iinfo(_U32).max, dtype=_U32)
        offsets = spans.doc_offsets
        for lo in range(0, mixed.size, PERMUTE_CHUNK):
            hi = min(lo + PERMUTE_CHUNK, mixed.size)
            permuted = np.multiply.outer(self.a, mixed[lo:hi])
            permuted += self.b[:, None]
            # Documents overlapping [lo, hi): the first may have started in an earlier chunk.
            first = int(np.searchsorted(offsets, lo, side="right")) - 1
            last = int(np.searchsorted(offsets, hi, side="left"))
            cuts = np.concatenate(([lo], offsets[first + 1:last])) - lo
            out[:, first:last] = np.minimum(out[:, first:last],
                                            np.minimum.reduceat(permuted, cuts, axis=1))
        return np.ascontiguousarray(out.T)

    def signature(self, text: str) -> np.ndarray:
        return self.signatures([text])[0]


def fingerprints(normalised: list[bytes], n: int) -> list[np.ndarray]:
    """Each `normalise`d document's distinct shingles as sorted 64-bit fingerprints.

    A fingerprint is two xxh32 hashes (seeds 0 and FINGERPRINT_SEED) of the shingle. Jaccard
    over these equals Jaccard over the shingle strings unless two distinct shingles collide in
    64 bits (about 2^-64 per pair): the "exact" verification.
    """
    spans = shingle_spans(normalised, n)
    high = xxh32_spans(spans.buffer, spans.starts, spans.lengths).astype(np.uint64)
    low = xxh32_spans(spans.buffer, spans.starts, spans.lengths, FINGERPRINT_SEED)
    both = (high << np.uint64(32)) | low.astype(np.uint64)
    cuts = spans.doc_offsets
    return [_sorted_distinct(both[cuts[d]:cuts[d + 1]]) for d in range(len(normalised))]


def _sorted_distinct(values: np.ndarray) -> np.ndarray:
    values = np.sort(values)
    return values[np.concatenate(([True], values[1:] != values[:-1]))]


def exact_jaccard(fp_a: np.ndarray, fp_b: np.ndarray) -> float:
    """Jaccard of two sorted distinct non-empty fingerprint sets (a merge by binary search)."""
    at = np.minimum(np.searchsorted(fp_b, fp_a), fp_b.size - 1)
    common = int(np.count_nonzero(fp_b[at] == fp_a))
    return common / (fp_a.size + fp_b.size - common)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The MinHash estimate: the fraction of permutations whose minima agree."""
    return float(np.count_nonzero(sig_a == sig_b)) / sig_a.size
