"""A short fuzzing run of every reader (FUZZ_SECONDS each, default 3); the long run is
`python -m tests.fuzz.targets READER --seconds N` (docs/security.md)."""

from __future__ import annotations

import os
import random

import pytest

from tests.fuzz.targets import READERS, fuzz, mutate, run_reader, seeds

SECONDS = float(os.environ.get("FUZZ_SECONDS", "3"))


@pytest.mark.parametrize("reader", sorted(READERS))
def test_seeds_read_to_documents(shared_data, reader):
    pool = seeds(reader)
    assert len(pool) >= 2 and sum(run_reader(reader, data) for data in pool) > len(pool)


@pytest.mark.parametrize("reader", sorted(READERS))
def test_short_fuzz_run(shared_data, reader, tmp_path):
    assert fuzz(reader, SECONDS, seed=22, crashes=tmp_path) > 0


def test_mutations_change_the_input():
    rng, data = random.Random(1), b"WARC/1.0\r\nContent-Length: 12\r\n\r\nhello world!"
    outputs = {mutate(data, rng, [data]) for _ in range(50)}
    assert len(outputs) > 40
