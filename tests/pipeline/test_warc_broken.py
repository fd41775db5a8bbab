"""Every file of `commoncrawl/broken/`: how many documents, rejects (by reason) and skips come out.

Expected counts were established by hand, not by running the reader: `gzip -t`, `zcat | grep -a`
for record types, HTTP status lines and content types, `xxd`/`cat -A` for line ends and bytes
after a declared length, a plain `zlib.decompressobj(31)` loop listing gzip members (offset,
record type, status, content type), and the inspection notes of `broken/README.md`. Where the
right answer is a judgement, the comment says what was decided and why.

Skipped reasons: warcinfo/request/metadata/revisit records, `http_3xx` (non-2xx responses),
`non_text_content` (images, XML, DNS), `resource_not_web` (crawler logs under metadata://),
`arc_filedesc` (the ARC version block).
"""

from __future__ import annotations

import pytest

from tests.pipeline.warc_helpers import read_file

# file name -> (documents, {reject reason: n}, {skip reason: n})
EXPECTED = {
    # 36 members; `members` loop: 10 clean, member at 5046 raises "invalid distance too far
    # back", resync on the next 1f 8b 08 at 11944, 25 clean after. Before: warcinfo, 5
    # requests, responses 302/200 text/plain (robots.txt)/302/301. After: 11 requests,
    # 5x302 + 1x301, 200 text/html (https://archive.org/), 3 images, text/xml RSS, 3 wget
    # resources (metadata://). The lost member held the other archive.org home page.
    "IAH-urls-wget.corrupt-member.warc.gz": (
        2, {"gzip_corrupt_member": 1},
        {"warcinfo": 1, "request": 16, "http_3xx": 9, "non_text_content": 4,
         "resource_not_web": 3}),
    # gzip -t: "unexpected end of file"; one member, no end of stream; zcat gives 75,657 of
    # the 88,275 bytes the one response declares. Decision: a clipped page is rejected, not
    # kept half (its text would be a cut-off page with no footer, and digests fail).
    "clipped.warc.gz": (0, {"gzip_truncated_member": 1}, {}),
    # 30 `WARC/0.18` records (zcat | grep -c '^WARC/'): warcinfo + 29 "HTTP/1.1 200 OK"
    # text/html EUC-JP responses. They say Content-Encoding: gzip but every body starts
    # with "<html>" (checked the first bytes of each); each has ~250 words outside tags.
    "clueweb-quirk.warc.gz": (29, {}, {"warcinfo": 1}),
    # 0 bytes: nothing in, nothing out.
    "empty.warc": (0, {}, {}),
    # 6 records: warcinfo x2, response, request, revisit, request. The response declares
    # 974; the byte after it is 0x00 followed by CRLFCRLF WARC/1.0, i.e. the last byte of
    # the gzip body's trailer. Decision: re-delimit the block by the next header and keep
    # the page, because the gzip CRC32 in the full body then verifies the whole payload.
    # The revisit declares 371 for 369 (skipped anyway).
    "example-bad-length.warc": (1, {}, {"warcinfo": 2, "request": 2, "revisit": 1}),
    # gzip -t ok, 1 member holding 6 records (zcat: warcinfo x2, response 200 text/html,
    # request, revisit, request).
    "example-bad-non-chunked.warc.gz": (1, {}, {"warcinfo": 2, "request": 2, "revisit": 1}),
    # grep 'WARC-Type': 4 requests.
    "example-digest.warc": (0, {}, {"request": 4}),
    # response 200 html, request, revisit (Content-Length 0), then the same with a
    # "HTTPX/1.1 200 OK" status line and "GETX" request. Decision: the status line is read
    # leniently (pywb indexes it as 200 without HTTP verification); the body is intact.
    "example-extra.warc": (2, {}, {"request": 2, "revisit": 2}),
    # warcinfo x2, response, request. The response declares 973 but 975 bytes precede
    # CRLFCRLF WARC/1.0; the 2 missing bytes are 00 00, the end of the gzip trailer (xxd).
    # Same decision as example-bad-length: re-delimit and keep, the gzip CRC verifies.
    "example-trunc.warc": (1, {}, {"warcinfo": 2, "request": 1}),
    # 3 members: response headers | HTML body | CRLFCRLF + request (README member layout).
    "example-wrong-chunks.warc.gz": (1, {}, {"request": 1}),
    # FEXTRA header (1f 8b 08 04, XLEN 12); zcat: one warcinfo record.
    "gzip_extra_sl.warc.gz": (0, {}, {"warcinfo": 1}),
    # No filedesc: starts with a record header (text/html 2248, HTTP 200, Danish page);
    # after 2248 bytes comes "\n" and a cut-off header line without fields or newline.
    "invalid-arcfile-record-then-garbage.arc": (1, {"unrecognised_bytes": 1}, {}),
    # Second byte 0x7b (xxd): not gzip; `grep -c '^WARC/'` 0 and no ARC header line.
    "invalid-magic.gz": (0, {"not_an_archive": 1}, {}),
    # One warcinfo with every field twice (both Content-Length: 483).
    "invalid-warcfile-duplicate-fields.warc": (0, {}, {"warcinfo": 1}),
    # 4 members: warcinfo, 2 responses 200 text/html Big5 ("charset=Big5_Solaris"), a PNG.
    "invalid-warcfile-encoding-headers.warc.gz": (2, {}, {"warcinfo": 1, "non_text_content": 1}),
    # cat -A: every field empty, including WARC-Type: the record cannot be interpreted.
    "invalid-warcfile-fields-empty.warc": (0, {"missing_warc_type": 1}, {}),
    # `WARC-Type: request` with malformed values elsewhere: a request, skipped as such.
    "invalid-warcfile-fields-invalidformat.warc": (0, {}, {"request": 1}),
    # cat -A: `WARC-Type: monkeys` and nothing else.
    "invalid-warcfile-lonely-monkeys.warc": (0, {"unknown_record_type": 1}, {}),
    # 4 records with only WARC-Type and empty blocks: request skipped, resource without a
    # target URI skipped (no web page), response and conversion have nothing to read.
    "invalid-warcfile-lonely-request-response-resource-conversion.warc": (
        0, {"empty_block": 2}, {"request": 1, "resource_not_web": 1}),
    # cat -A: one response (robots.txt, 200 text/plain), then "The monkeys are a coming!"...
    "invalid-warcfile-record-then-garbage.warc": (1, {"unrecognised_bytes": 1}, {}),
    # warcinfo + 7 responses 200 html/xhtml (lengths off by -4..+1, README). One page's only
    # body text is the fallback inside <video> ("Your browser doesn't support HTML5 video
    # tag."), which a browser that plays video does not show: no visible text.
    "link-extraction-test.warc": (6, {"empty_text": 1}, {"warcinfo": 1}),
    # CR CR LF line ends; status line "HTTP/1.0 302 ".
    "missing-status-text.warc": (0, {}, {"http_3xx": 1}),
    # filedesc with garbage fields and length "one"; one record "html 4270" whose HTTP
    # header says text/html 200 (the Turner Stream Team page).
    "test-arc-1.0-invalid-fields.arc": (1, {}, {"arc_filedesc": 1}),
    # warcinfo, request, response 200 text/html (WARC-Date 2019-08-15T01:02), metadata,
    # resource <metadata://gnu.org/software/wget/warc/wget_arguments.txt>.
    "truncated_datetime.warc": (1, {}, {"warcinfo": 1, "request": 1, "metadata": 1,
                                        "resource_not_web": 1}),
    # cat -A: filedesc (length -1), then records with length -1, 1 (a lone "\n") and "abc",
    # none with any content after its header line.
    "bad.arc": (0, {"empty_block": 3}, {"arc_filedesc": 1}),
}


@pytest.fixture
def broken(shared_data):
    return shared_data / "commoncrawl" / "broken"


def test_every_broken_file_has_an_expectation(broken):
    files = {p.name for p in broken.iterdir()} - {"README.md"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_counts(broken, name):
    tally = read_file(broken / name)
    assert tally.summary() == EXPECTED[name]
    for rejected in tally.rejected:
        assert rejected.source_file.endswith(name) and rejected.source_offset is not None


def test_corrupt_member_resync_keeps_members_before_and_after(broken):
    """10 records before the corrupt member, 1 reject for it, 25 records after (README layout)."""
    tally = read_file(broken / "IAH-urls-wget.corrupt-member.warc.gz")
    at = tally.order.index("rejected")
    assert (at, len(tally.order) - at - 1) == (10, 25)
    # README: member 11 covers bytes 5046-11943, the intact members start again at 11944
    assert tally.rejected[0].source_offset == 5046
    assert tally.rejected[0].detail["resumed_at"] == 11944
    # member offsets from the `members` listing: robots.txt at 1841, archive.org home at 14426
    assert [(d.url, d.source_offset) for d in tally.docs] == [
        ("http://archive.org/robots.txt", 1841), ("https://archive.org/", 14426)]


def test_clueweb_quirks_decoded(broken):
    tally = read_file(broken / "clueweb-quirk.warc.gz")
    first = tally.docs[0]
    # `zcat | head -c 1500 | iconv -f EUC-JP -t UTF-8` shows the title "…【ヘッドポーター
    # HEADPORTER 吉田かばん】": EUC-JP decoded, the declared gzip coding not applied.
    assert "ヘッドポーター" in first.text and "HEADPORTER" in first.text
    assert first.crawl_date == "2008-10-294T05:21:46-0700"          # kept as given
    assert first.meta["warc_version"] == "WARC/0.18"


def test_big5_pages_with_bogus_charset(broken):
    tally = read_file(broken / "invalid-warcfile-encoding-headers.warc.gz")
    # `zcat | iconv -f BIG5 -t UTF-8 | grep` shows the heading 除權(現金增資)歷年資料
    assert "歷年資料" in tally.docs[0].text


def test_recovered_lengths_are_noted(broken):
    tally = read_file(broken / "example-trunc.warc")
    page = tally.docs[0]
    assert page.url == "http://example.com/" and "Example Domain" in page.text
    assert (page.meta["declared_length"], page.meta["actual_length"]) == ("973", 975)


def test_single_member_and_split_member_offsets(broken):
    non_chunked = read_file(broken / "example-bad-non-chunked.warc.gz")
    assert [d.source_offset for d in non_chunked.docs] == [0]     # the one member
    wrong_chunks = read_file(broken / "example-wrong-chunks.warc.gz")
    assert [d.source_offset for d in wrong_chunks.docs] == [0]
    assert "Example Domain" in wrong_chunks.docs[0].text          # body from member 2


def test_wget_target_uri_brackets_and_short_date(broken):
    page = read_file(broken / "truncated_datetime.warc").docs[0]
    assert page.url == "http://tokemon.sb.statsbiblioteket.dk/"
    assert page.crawl_date == "2019-08-15T01:02"
