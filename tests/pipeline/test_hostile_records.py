"""Issue 22, rows 2, 4 and 10: hostile records cost only themselves, never the records after.

Expected outcomes are known by construction: the inputs are built here record by record.
"""

from __future__ import annotations

import pytest

from tests.pipeline.test_warc_reader import gz, record
from tests.pipeline.warc_helpers import read_bytes

URLS = [f"http://example.org/{i}" for i in range(1, 15)]


def fourteen_records(bad_length: int) -> list[bytes]:
    """14 response records; the 4th declares `bad_length` bytes for a normal block."""
    return [record(uri=url, length=bad_length if i == 3 else None) for i, url in enumerate(URLS)]


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip-per-record"])
@pytest.mark.parametrize("bad_length", [99_999_999_999, 1_000_001])
def test_lying_content_length_loses_only_its_record(compress, bad_length):
    records = fourteen_records(bad_length)
    data = b"".join(gz(r) if compress else r for r in records)
    tally = read_bytes(data, max_record_bytes=1_000_000)
    assert [d.url for d in tally.docs] == URLS[:3] + URLS[4:]
    assert tally.reject_reasons == {"record_too_large": 1}
    bad = tally.rejected[0]
    assert bad.source_offset == len(b"".join(gz(r) if compress else r for r in records[:3]))
    assert bad.detail["declared_length"] == bad_length
