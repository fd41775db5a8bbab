"""Issue 22, rows 2, 4 and 10: hostile records cost only themselves, never the records after.

Expected outcomes are known by construction: the inputs are built here record by record.
"""

from __future__ import annotations

import io
import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.pipeline.config import SourceConfig
from crawl2gpt.pipeline.sources import ReadContext, get_reader
from crawl2gpt.pipeline.sources.html_depth import MAX_NESTING, nesting_depth
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


def nested(depth_groups: int) -> bytes:
    return (b"<html><body>" + b"<div><span><p><b><i>" * depth_groups + b"deep text"
            + b"</i></b></p></span></div>" * depth_groups + b"</body></html>")


def page(html: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + html


@pytest.mark.parametrize("mode", ["full", "main"])
def test_a_page_nested_100k_deep_is_rejected_in_bounded_time(mode):
    deep = nested(100_000)             # 4.5 MB; parsing it took 59 s and 832 MB in `main` mode
    data = record(block=page(deep), uri="http://example.org/deep") + record(uri=URLS[0])
    start = time.monotonic()
    tally = read_bytes(data, extract=mode)
    assert time.monotonic() - start < 10
    assert [d.url for d in tally.docs] == [URLS[0]]
    assert tally.reject_reasons == {"html_too_deep": 1}
    # html, body and 4 of each group's 5 tags nest (an unclosed `p` is closed by the parser)
    assert tally.rejected[0].detail == {"url": "http://example.org/deep",
                                        "depth": 2 + 4 * 100_000, "limit": MAX_NESTING}


def test_a_page_below_the_limit_is_read():
    tally = read_bytes(record(block=page(nested(200))), extract="full")
    assert tally.reject_reasons == {} and tally.docs[0].text == "deep text"


def test_nesting_depth_by_hand():
    # div 1, p/br do not nest, <img/> and <path/> close themselves, svg 2, stray </div>s stop at 0
    html = "<div><p>a<br><img/><svg><path d=''/></svg></div></div></div><div>" + "<b>" * 3
    assert nesting_depth(html) == 4
    assert nesting_depth("</i>" * 5 + "<i>" * 3) == 3      # closing first cannot hide depth
    assert nesting_depth("no tags") == 0


LIMIT = 1000
BIG = "big " * 500                      # 2,000 bytes: over the limit
SMALL = ["first document text", "third document text"]


def parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": [SMALL[0], BIG, SMALL[1]]}), buffer)
    return buffer.getvalue()


def wikiextractor_bytes() -> bytes:
    return "".join(f'<doc id="{i}" url="u{i}" title="T{i}">\nT{i}\n{text}\n</doc>\n'
                   for i, text in enumerate([SMALL[0], BIG, SMALL[1]])).encode()


def wikipedia_xml_bytes() -> bytes:
    pages = "".join(f"<page><title>T{i}</title><ns>0</ns><id>{i}</id><revision>"
                    f"<timestamp>2020-01-01T00:00:00Z</timestamp><text>{text}</text></revision>"
                    f"</page>" for i, text in enumerate([SMALL[0], BIG, SMALL[1]]))
    return f"<mediawiki>{pages}</mediawiki>".encode()


@pytest.mark.parametrize("fmt, data, suffix", [
    ("parquet", parquet_bytes, "parquet"),
    ("jsonl", lambda: "".join(json.dumps({"text": t}) + "\n"
                              for t in [SMALL[0], BIG, SMALL[1]]).encode(), "jsonl"),
    ("wikiextractor", wikiextractor_bytes, "txt"),
    ("wikipedia-xml", wikipedia_xml_bytes, "xml"),
    ("text", lambda: BIG.encode(), "txt"),
])
def test_max_record_bytes_applies_to_every_reader(tmp_path, fmt, data, suffix):
    path = tmp_path / f"input.{suffix}"
    path.write_bytes(data())
    ctx = ReadContext(SourceConfig("s", "reference", [str(path)], fmt), str(path), LIMIT)
    with open(path, "rb") as stream:
        items = list(get_reader(fmt)(stream, ctx))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.reason for r in rejected] == ["read_record_too_large"]
    texts = [i.text for i in items if isinstance(i, Document)]
    assert len(texts) == (0 if fmt == "text" else 2) and all("big" not in t for t in texts)
    if fmt == "parquet":
        assert rejected[0].source_offset == 1 and rejected[0].detail["size"] == len(BIG)
