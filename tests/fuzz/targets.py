"""Fuzz targets, one per reader: mutated seed files from ../shared/data must never make a
reader raise, hang or yield anything but documents, rejects and skips.

    python -m tests.fuzz.targets warc --seconds 600            # plain mutation fuzzer
    python -m tests.fuzz.targets parquet --seconds 600 --atheris   # coverage-guided, if installed

The mutator flips, inserts, deletes, repeats and splices bytes, and writes boundary numbers
(lengths such as 99999999999) over digits; seeds are the decompressed heads of the shared
files. A failing input is written to `--crashes` (default fuzz-crashes/) and named.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import json
import random
import sys
import time
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from crawl2gpt.core.records import Document, Rejected, Skipped
from crawl2gpt.pipeline.config import SourceConfig
from crawl2gpt.pipeline.sources import ReadContext, get_reader

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SEED_BYTES = 64 * 1024
LIMIT = 256 * 1024          # max_record_bytes while fuzzing: the oversized paths get exercised
NUMBERS = [b"0", b"-1", b"99999999999", b"18446744073709551616", str(LIMIT + 1).encode()]
# reader -> (format, file name the reader sees, seed files under shared/data)
READERS = {
    "warc": ("warc", "fuzz.warc", ["commoncrawl/warc/*", "commoncrawl/broken/*.warc*",
                                   "commoncrawl/arc/*.arc", "commoncrawl/whirlwind/*.warc*",
                                   "webarchive/*.warc.gz"]),
    "jsonl": ("jsonl", "fuzz.jsonl", ["commoncrawl/ccnet/*.jsonl*", "commoncrawl/c4/*"]),
    "parquet": ("parquet", "fuzz.parquet", ["commoncrawl/ccnet/*.jsonl*", "commoncrawl/cc_text/*"]),
    "wikipedia-xml": ("wikipedia-xml", "fuzz.xml", ["wikipedia/mediawiki_dump/*.bz2"]),
}


def _head(path: Path) -> bytes:
    """The first SEED_BYTES of a file, decompressed when it is gzip or bzip2 (and intact)."""
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix, open)
    try:
        with opener(path, "rb") as f:
            return f.read(SEED_BYTES)
    except (OSError, EOFError, zlib.error):    # a broken archive is a seed as it is
        return path.read_bytes()[:SEED_BYTES]


def _as_parquet(jsonl: bytes) -> bytes:
    rows = [json.loads(line) for line in jsonl.splitlines()[:-1]]   # the last may be cut
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{"text": r.get("text") or r.get("raw_content", ""),
                                          "url": r.get("url")} for r in rows]), buffer,
                   row_group_size=8)
    return buffer.getvalue()


def seeds(reader: str) -> list[bytes]:
    """The reader's seed inputs (whole small files and decompressed heads), in a fixed order."""
    _, _, patterns = READERS[reader]
    paths = sorted(p for pattern in patterns for p in DATA.glob(pattern) if p.is_file())
    found = [_head(p) for p in paths]
    if reader == "warc":
        found += [p.read_bytes()[:SEED_BYTES] for p in paths if p.suffix == ".gz"]
    if reader == "parquet":
        found = [_as_parquet(data) for data in found]
    return [data for data in found if data]


def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    """A few random byte-level edits of `data`."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out) + 1)
        op = rng.randrange(7)
        if op == 0 and out:
            out[min(i, len(out) - 1)] = rng.randrange(256)
        elif op == 1:
            out[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 2:
            del out[i:i + rng.randint(1, 256)]
        elif op == 3:
            out[i:i] = out[i:i + rng.randint(1, 64)] * rng.randint(2, 200)
        elif op == 4:
            other = rng.choice(pool)
            j = rng.randrange(len(other) + 1)
            out[i:] = other[j:j + rng.randint(1, 4096)] + out[i:]
        elif op == 5:
            digits = [k for k in range(len(out)) if 48 <= out[k] <= 57]
            if digits:
                k = rng.choice(digits)
                out[k:k + 1] = rng.choice(NUMBERS)
        else:
            del out[i:]
    return bytes(out)


def run_reader(reader: str, data: bytes) -> int:
    """Read `data` with the reader; every item must be a record type. Returns the item count."""
    fmt, name, _ = READERS[reader]
    ctx = ReadContext(SourceConfig("fuzz", "raw", [name], fmt), name, LIMIT)
    n = 0
    for item in get_reader(fmt)(io.BytesIO(data), ctx):
        assert isinstance(item, (Document, Rejected, Skipped)), type(item)
        n += 1
    return n


def fuzz(reader: str, seconds: float, seed: int = 0, crashes: Path | None = None,
         max_input_seconds: float = 5.0) -> int:
    """Mutate seeds for `seconds`; raises (after saving the input) on the first failure."""
    pool, rng = seeds(reader), random.Random(seed)
    deadline, runs = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        data = mutate(rng.choice(pool), rng, pool)
        start = time.monotonic()
        try:
            run_reader(reader, data)
            took = time.monotonic() - start
            assert took < max_input_seconds, f"one input took {took:.1f} s"
        except BaseException:
            if crashes is not None:
                crashes.mkdir(parents=True, exist_ok=True)
                path = crashes / f"{reader}-{seed}-{runs}.bin"
                path.write_bytes(data)
                print(f"failing input: {path}", file=sys.stderr)
            raise
        runs += 1
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reader", choices=sorted(READERS))
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"))
    parser.add_argument("--atheris", action="store_true", help="coverage-guided (pip install "
                        "atheris); other arguments after -- go to libFuzzer")
    args, rest = parser.parse_known_args(argv)
    if args.atheris:
        import atheris
        corpus = args.crashes / f"{args.reader}-corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(seeds(args.reader)):
            (corpus / f"seed-{i}").write_bytes(data)
        atheris.Setup([sys.argv[0], str(corpus), *[a for a in rest if a != "--"]],
                      lambda data: run_reader(args.reader, data))
        atheris.Fuzz()
        return 0
    runs = fuzz(args.reader, args.seconds, args.seed, args.crashes)
    print(f"{args.reader}: {runs:,} inputs in {args.seconds:.0f} s, no failure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
