"""The WARC/ARC/WET reader on real archives (counts from the data READMEs) and on built inputs.

Real files: record counts per type come from `commoncrawl/README.md` and `webarchive/README.md`
(counted there with warcio); which responses become documents (2xx text/html, xhtml or
text/plain) was counted with `zcat | grep` over status lines and Content-Type headers.
Built inputs exercise one fault each, with the expected result known by construction.
"""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zlib

import pytest

from crawl2gpt.core.records import Document
from crawl2gpt.pipeline.sources.http_payload import dechunk, decode_body, parse_response
from crawl2gpt.pipeline.sources.text_metrics import token_containment
from crawl2gpt.pipeline.sources.warc import read_warc
from tests.pipeline.warc_helpers import context, read_bytes, read_file

# path under shared data -> (documents, {reject reason: n}, {skip reason: n})
REAL_FILES = {
    # commoncrawl/README.md: warcinfo 1, request 1, response 1 (200 text/html), metadata 1
    "commoncrawl/whirlwind/whirlwind.warc.gz": (1, {}, {"warcinfo": 1, "request": 1,
                                                        "metadata": 1}),
    "commoncrawl/whirlwind/whirlwind.warc": (1, {}, {"warcinfo": 1, "request": 1, "metadata": 1}),
    # WET: warcinfo 1, conversion 1; WAT: warcinfo 1, metadata (JSON) 1
    "commoncrawl/whirlwind/whirlwind.warc.wet.gz": (1, {}, {"warcinfo": 1}),
    "commoncrawl/whirlwind/whirlwind.warc.wet": (1, {}, {"warcinfo": 1}),
    "commoncrawl/whirlwind/whirlwind.warc.wat.gz": (0, {}, {"warcinfo": 1, "wat": 1}),
    "commoncrawl/whirlwind/whirlwind.warc.wat": (0, {}, {"warcinfo": 1, "wat": 1}),
    # 50 records: warcinfo 1, request 17, response 16 (all HTTP 200 HTML, README table),
    # metadata 16
    "commoncrawl/multilingual/CC-MAIN-20200808165417-20200808195417-00395.sample.warc.gz": (
        16, {}, {"warcinfo": 1, "request": 17, "metadata": 16}),
    # 10 records: warcinfo 1, request 3, response 3 (HTTP 200), metadata 3
    "commoncrawl/warc/CC-MAIN-20140820021320-00000.head.warc": (
        3, {}, {"warcinfo": 1, "request": 3, "metadata": 3}),
    "commoncrawl/warc/commoncrawl.org-2019-12-10.warc.gz": (1, {}, {}),
    # filedesc + 8 responses: dns (text/dns), robots.txt (200 text/plain), / and index.php
    # (200 text/html), 3 images, RSS (text/xml); the .arc has no blank lines between records
    "commoncrawl/arc/IAH-20080430204825-00000-blackbook-truncated.arc.gz": (
        3, {}, {"arc_filedesc": 1, "non_text_content": 5}),
    "commoncrawl/arc/IAH-20080430204825-00000-blackbook-truncated.arc": (
        3, {}, {"arc_filedesc": 1, "non_text_content": 5}),
    "commoncrawl/arc/warcio-example.arc.gz": (1, {}, {"arc_filedesc": 1}),
    "commoncrawl/arc/warcio-example.arc": (1, {}, {"arc_filedesc": 1}),
    # 343 records: warcinfo 1, request 171, response 48, revisit 123; of the responses 16
    # are HTML 200, 4 HTML redirects, 28 other 2xx media (JS, CSS, SVG, PNG, octet-stream)
    "webarchive/iana.warc.gz": (
        16, {}, {"warcinfo": 1, "request": 171, "revisit": 123, "http_3xx": 4,
                 "non_text_content": 28}),
    # the intact base of broken/IAH-urls-wget.corrupt-member: one more HTML 200 page
    "webarchive/IAH-urls-wget.warc.gz": (
        3, {}, {"warcinfo": 1, "request": 16, "http_3xx": 9, "non_text_content": 4,
                "resource_not_web": 3}),
    # WARC/0.17, 822 records: warcinfo 1, request 261, response 299, metadata 261. The
    # responses (grep): 2xx 94 text/html + 36 text/plain + 84 media, 7 3xx, 40 4xx, and 38
    # `dns:` records (text/dns, no HTTP).
    # Two of the 130 text responses have nothing to read: http://www.hideout.com.br/ (an
    # empty <body>, only a meta refresh) and http://g-images.amazon.com/robots.txt
    # (HTTP Content-Length: 0), both read with zcat at their member offsets.
    "webarchive/IAH-20080430204825-00000-blackbook.warc.gz": (
        128, {"empty_text": 1, "empty_payload": 1},
        {"warcinfo": 1, "request": 261, "metadata": 261, "http_3xx": 7, "http_4xx": 40,
         "non_text_content": 122}),
    # WARC/1.1, no warcinfo: 30 requests, 30 responses of which 1 is HTML 200
    "webarchive/books.toscrape.warc": (1, {}, {"request": 30, "non_text_content": 29}),
    # ARC v1: filedesc + 5 responses, 3 HTML 200, 2 images
    "webarchive/small_BNF.arc": (3, {}, {"arc_filedesc": 1, "non_text_content": 2}),
    # ARC v1.1: filedesc + 101: 2xx = 12 html + 1 text/plain + 14 gif, 5 dns, 6 3xx, 63 4xx
    "webarchive/1-1-20110922131213-00000-svc-VirtualBox.arc": (
        13, {}, {"arc_filedesc": 1, "non_text_content": 19, "http_3xx": 6, "http_4xx": 63}),
}


@pytest.mark.parametrize("path", sorted(REAL_FILES))
def test_real_file_counts(shared_data, path):
    assert read_file(shared_data / path).summary() == REAL_FILES[path]


def test_whirlwind_full_text_agrees_with_common_crawl_wet(shared_data):
    base = shared_data / "commoncrawl" / "whirlwind"
    full = read_file(base / "whirlwind.warc.gz", extract="full").docs[0]
    main = read_file(base / "whirlwind.warc.gz", extract="main").docs[0]
    wet = read_file(base / "whirlwind.warc.wet.gz").docs[0]
    assert full.url == wet.url == "https://an.wikipedia.org/wiki/Escopete"
    assert token_containment(full.text, wet.text) >= 0.9
    assert token_containment(wet.text, full.text) >= 0.9
    assert token_containment(main.text, wet.text) >= 0.9
    assert len(main.text) < len(full.text)


def test_whirlwind_provenance(shared_data):
    base = shared_data / "commoncrawl" / "whirlwind"
    page = read_file(base / "whirlwind.warc.gz").docs[0]
    # README: the response's gzip member starts at byte 1023, the WET conversion's at 466
    assert page.source_offset == 1023
    assert read_file(base / "whirlwind.warc.wet.gz").docs[0].source_offset == 466
    # `grep -a -b '^WARC/1' whirlwind.warc`: the third record (the response) starts at 1375
    assert read_file(base / "whirlwind.warc").docs[0].source_offset == 1375
    assert page.record_id == "<urn:uuid:2aabeff2-67f5-4608-8466-e87c6296e2b6>"
    assert page.crawl_date == "2024-05-18T01:58:10Z"
    assert page.source_file.endswith("whirlwind.warc.gz")
    assert (page.meta["http_status"], page.meta["content_type"]) == (200, "text/html")


def test_wet_text_is_the_block_as_is(shared_data):
    path = shared_data / "commoncrawl" / "whirlwind" / "whirlwind.warc.wet"
    data = path.read_bytes()
    start = data.index(b"\r\n\r\n", data.index(b"WARC-Type: conversion")) + 4
    # the conversion record declares Content-Length: 4456
    assert read_file(path).docs[0].text == data[start:start + 4456].decode("utf-8")


def test_chunked_and_compressed_bodies(shared_data):
    chunked = read_file(shared_data / "webarchive" / "example-iana.org-chunked.warc").docs[0]
    # the body is framed: size line "001c37" (line 38) ... "0" (line 206)
    assert "Internet Assigned Numbers Authority" in chunked.text
    assert "001c37" not in chunked.text and not chunked.text.rstrip().endswith("0")
    # the same page (ETag "f6-5902687a3a5e3-…") fetched with gzip and with brotli coding
    archive = shared_data / "webarchive"
    by_gzip, by_brotli = (read_file(archive / f"transfer_compression_{c}.warc.gz").docs[0]
                          for c in ("gzip", "brotli"))
    assert by_gzip.text == by_brotli.text
    assert "Extremely simple webpage" in by_gzip.text


def test_arc_recognised_whatever_the_declared_format(shared_data):
    path = shared_data / "webarchive" / "small_BNF.arc"
    as_warc, as_arc = read_file(path, fmt="warc"), read_file(path, fmt="arc")
    assert as_warc.summary() == as_arc.summary() == REAL_FILES["webarchive/small_BNF.arc"]
    assert as_warc.docs[0].crawl_date == "19970417175710"
    assert as_warc.docs[0].record_id is None


# ---- built inputs -------------------------------------------------------------------------

HTML = b"<html><body><p>Hello from a built page with some words.</p></body></html>"


def record(warc_type: str = "response", block: bytes | None = None, length: int | None = None,
           uri: str = "http://example.org/", eol: bytes = b"\r\n", **fields: str) -> bytes:
    """One WARC record; `length` overrides the Content-Length, -1 leaves it out."""
    if block is None:
        block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + HTML
    names = {"WARC-Type": warc_type, "WARC-Record-ID": f"<urn:uuid:{len(block)}-{warc_type}>",
             "WARC-Date": "2024-01-01T00:00:00Z", "WARC-Target-URI": uri, **fields}
    if length != -1:
        names["Content-Length"] = str(len(block) if length is None else length)
    head = b"WARC/1.0" + eol + b"".join(f"{k}: {v}".encode() + eol for k, v in names.items())
    return head + eol + block + eol + eol


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def test_corrupt_member_in_the_middle_resyncs():
    members = [gz(record(uri=f"http://example.org/{i}")) for i in range(3)]
    middle = bytearray(members[1])
    middle[20:40] = bytes(20)                       # damage the deflate data
    data = members[0] + bytes(middle) + members[2]
    tally = read_bytes(data)
    assert [d.url for d in tally.docs] == ["http://example.org/0", "http://example.org/2"]
    assert tally.reject_reasons == {"gzip_corrupt_member": 1}
    assert tally.rejected[0].source_offset == len(members[0])
    assert tally.docs[1].source_offset == len(members[0]) + len(middle)


def test_bytes_between_members_and_truncated_last_member():
    one, two = gz(record(uri="http://example.org/1")), gz(record(uri="http://example.org/2"))
    junk = b"junk between members"
    tally = read_bytes(one + junk + two + two[:30])
    assert [d.url for d in tally.docs] == ["http://example.org/1", "http://example.org/2"]
    assert tally.reject_reasons == {"gzip_garbage": 1, "gzip_truncated_member": 1}
    assert [r.source_offset for r in tally.rejected] == [len(one), len(one + junk + two)]


def test_lf_only_missing_and_wrong_lengths():
    data = (record(eol=b"\n", uri="http://example.org/lf")
            + record(length=-1, uri="http://example.org/no-length")
            + record(length=5, uri="http://example.org/short")
            + record(length=len(HTML) + 500, uri="http://example.org/long")
            + record(uri="http://example.org/last"))
    tally = read_bytes(data)
    assert [d.url for d in tally.docs] == [f"http://example.org/{n}" for n in
                                           ("lf", "no-length", "short", "long", "last")]
    assert all("Hello from a built page" in d.text for d in tally.docs)
    assert tally.rejected == []


def test_plain_offsets_and_truncated_plain_file():
    first = record(uri="http://example.org/a")
    tally = read_bytes(first + record(uri="http://example.org/b")[:-40])
    assert [d.source_offset for d in tally.docs] == [0]
    assert tally.reject_reasons == {"truncated_record": 1}
    assert tally.rejected[0].source_offset == len(first)


def test_record_over_the_limit_is_passed_over_without_holding_it():
    big = record(block=b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + b" " * (40 << 20))
    data = gz(big) + gz(record(uri="http://example.org/after"))
    tracemalloc.start()
    try:
        tally = read_bytes(data, max_record_bytes=1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert tally.reject_reasons == {"record_too_large": 1}
    assert [d.url for d in tally.docs] == ["http://example.org/after"]
    assert peak < 8 << 20, f"peak {peak} bytes while skipping a 40 MB record"


def test_record_over_the_limit_without_a_length():
    long_page = b"HTTP/1.1 200 OK\r\n\r\n<p>" + b"word " * 50_000 + b"</p>"
    data = record(block=long_page, length=-1) + record(uri="http://example.org/after")
    tally = read_bytes(data, max_record_bytes=100_000)
    assert tally.summary() == (1, {"record_too_large": 1}, {})
    assert tally.docs[0].url == "http://example.org/after"


def test_record_types_and_http_statuses():
    data = (record("warcinfo", block=b"software: test\r\n")
            + record("request", block=b"GET / HTTP/1.1\r\n\r\n")
            + record("metadata", block=b"fetchTimeMs: 1\r\n")
            + record("revisit", block=b"")
            + record(block=b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n" + HTML)
            + record(block=b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG")
            + record(block=b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n")
            + record(block=b"not an http response at all", **{"Content-Type": "application/http"})
            + record("resource", block=HTML, uri="http://example.org/r",
                     **{"Content-Type": "text/html"})
            + record("conversion", block=b"Plain WET text."))
    tally = read_bytes(data)
    assert tally.summary() == (
        2, {"empty_payload": 1, "bad_http_status_line": 1},
        {"warcinfo": 1, "request": 1, "metadata": 1, "revisit": 1, "http_4xx": 1,
         "non_text_content": 1})
    assert tally.docs[1].text == "Plain WET text."


@pytest.mark.parametrize("cut", range(0, 43582, 1553))
def test_any_truncation_point_is_read_without_error(shared_data, cut):
    """Cut the valid 36-member file anywhere: records wholly before the cut always come out."""
    data = (shared_data / "webarchive" / "IAH-urls-wget.warc.gz").read_bytes()
    tally = read_bytes(data[:cut])
    kept = len(tally.docs) + sum(tally.skipped.values())
    assert len(tally.rejected) <= 1 and kept + len(tally.rejected) == len(tally.order)
    if cut:
        # a cut inside a member's 8-byte trailer still leaves its whole record readable
        complete = _members_before(data, cut)
        assert complete <= kept <= complete + 1
        assert len(tally.rejected) == (cut not in _member_ends(data))


@pytest.mark.parametrize("at", range(100, 43582, 2711))
def test_damage_anywhere_loses_only_the_damaged_members(shared_data, at):
    """Zero 16 bytes anywhere in the valid 36-member file: only the members they touch go."""
    data = bytearray((shared_data / "webarchive" / "IAH-urls-wget.warc.gz").read_bytes())
    data[at:at + 16] = bytes(16)
    tally = read_bytes(bytes(data))
    ends = _member_ends(bytes((shared_data / "webarchive" / "IAH-urls-wget.warc.gz").read_bytes()))
    starts = [0] + ends[:-1]
    touched = sum(s < at + 16 and at < e for s, e in zip(starts, ends))
    kept = len(tally.docs) + sum(tally.skipped.values())
    # a member whose damage only shows in its CRC trailer has already given its whole record
    assert 36 - touched <= kept <= 36
    assert len(tally.rejected) >= 1 or kept == 36


def _member_ends(data: bytes) -> list[int]:
    """Member end offsets, by a plain zlib loop (the README's way of counting members)."""
    ends, pos = [], 0
    while pos < len(data):
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        pos = len(data) - len(d.unused_data)
        ends.append(pos)
    return ends


def _members_before(data: bytes, cut: int) -> int:
    return sum(end <= cut for end in _member_ends(data))


def test_garbage_bytes_never_raise():
    noise = bytes((i * 7919 + 13) % 256 for i in range(20000))
    for data in (noise, b"\x1f\x8b\x08\x00" + noise, b"WARC/1.0\r\n" + noise,
                 b"filedesc://x 0.0.0.0 20200101000000 text/plain 5\n" + noise):
        tally = read_bytes(data)
        assert tally.docs == [] and tally.rejected


def test_unknown_extract_mode_is_a_config_error():
    with pytest.raises(ValueError, match="extract"):
        list(read_warc(io.BytesIO(record()), context("x.warc", extract="article")))


# ---- HTTP payload decoding ----------------------------------------------------------------

def test_http_parsing_is_lenient():
    assert parse_response(b"HTTP/1.0 302 \r\r\nLocation: x\r\r\n\r\r\n").status == 302
    assert parse_response(b"HTTPX/1.1 200 OK\r\n\r\nbody").body == b"body"
    lf_only = parse_response(b"HTTP/1.1 200 OK\nContent-Type: text/html\n\n<p>x</p>")
    assert (lf_only.headers["content-type"], lf_only.body) == ("text/html", b"<p>x</p>")
    assert parse_response(b"<html>no status line</html>") is None


def test_codings_undone_only_when_really_there():
    page = b"<html>" + b"x" * 100 + b"</html>"
    assert decode_body(page, {"content-encoding": "gzip"}, 1 << 20) == page     # ClueWeb quirk
    assert decode_body(gz(page), {"content-encoding": "gzip"}, 1 << 20) == page
    assert decode_body(zlib.compress(page), {"content-encoding": "deflate"}, 1 << 20) == page
    framed = b"5\r\nHello\r\n6\r\n world\r\n0\r\n\r\n"
    assert decode_body(framed, {"transfer-encoding": "chunked"}, 1 << 20) == b"Hello world"
    assert dechunk(b"cafe\nnot chunked at all") == b"cafe\nnot chunked at all"


def test_token_containment():
    # "a a b c" in "a b d": shared a (once), b -> 2 of 4 tokens
    assert token_containment("a a b c", "a b d") == 0.5
    assert token_containment("A, b!", "b a") == 1.0
    assert token_containment("", "anything") == 1.0
    assert token_containment("word", "") == 0.0


def test_reader_core_has_no_beam_import():
    import crawl2gpt.pipeline.sources.archive_framing as framing
    import crawl2gpt.pipeline.sources.gzip_members as members
    import crawl2gpt.pipeline.sources.http_payload as http
    import crawl2gpt.pipeline.sources.warc as warc
    for module in (framing, members, http, warc):
        assert "apache_beam" not in open(module.__file__).read()


def test_documents_are_documents(shared_data):
    tally = read_file(shared_data / "commoncrawl" / "warc" / "commoncrawl.org-2019-12-10.warc.gz")
    assert all(isinstance(d, Document) and d.source == "crawl" for d in tally.docs)
