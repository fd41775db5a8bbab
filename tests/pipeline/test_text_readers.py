"""Text-corpus readers (JSON lines, Parquet, text files, zip) on the real files in ../shared/data.

Expected values come from the data READMEs or from the shell command written next to them.
"""

from __future__ import annotations

import bz2
import collections
import gzip
import io
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.pipeline.config import SourceConfig
from crawl2gpt.pipeline.sources import ReadContext, get_reader
from crawl2gpt.pipeline.sources.compression import CorruptStreamError, open_decompressed


def read_items(fmt: str, path: Path, max_record_bytes: int | None = None, **options) -> list:
    """All items a reader yields for one file, as the build would call it."""
    source = SourceConfig(name="src", role="reference", inputs=[str(path)], format=fmt,
                          options=options)
    ctx = ReadContext(source, str(path))
    if max_record_bytes is not None:
        ctx = ReadContext(source, str(path), max_record_bytes=max_record_bytes)
    with open(path, "rb") as stream:
        return list(get_reader(fmt)(stream, ctx))


def tally(items: list) -> collections.Counter:
    """{"document": n, "<reject or skip reason>": n}."""
    return collections.Counter("document" if isinstance(i, Document) else i.reason
                               for i in items)


def documents(items: list) -> list[Document]:
    return [i for i in items if isinstance(i, Document)]


def rejects(items: list) -> list[Rejected]:
    return [i for i in items if isinstance(i, Rejected)]


# ----------------------------------------------------------------------------- compression
@pytest.mark.parametrize("name, data", [
    # gzip members, bzip2 streams and zstd frames may each be concatenated.
    ("a.gz", gzip.compress(b"one\n") + gzip.compress(b"two\n")),
    ("a.bz2", bz2.compress(b"one\n") + bz2.compress(b"two\n")),
    ("a.zst", zstandard.ZstdCompressor().compress(b"one\n")
     + zstandard.ZstdCompressor().compress(b"two\n")),
    ("a.txt", b"one\ntwo\n"),
    ("gzip-without-extension", gzip.compress(b"one\ntwo\n")),  # magic bytes decide
])
def test_open_decompressed_reads_every_member(name, data):
    assert open_decompressed(io.BytesIO(data), name).read() == b"one\ntwo\n"


@pytest.mark.parametrize("name, data", [
    ("cut.gz", gzip.compress(b"x" * 100_000)[:40]),
    ("cut.bz2", bz2.compress(b"x" * 100_000)[:30]),
    ("cut.zst", zstandard.ZstdCompressor().compress(bytes(range(256)) * 400)[:100]),
    ("not-gzip.gz", b"plain text, but named .gz"),  # extension decides when magic is absent
])
def test_open_decompressed_names_the_file_of_a_corrupt_stream(name, data):
    with pytest.raises(CorruptStreamError, match=name):
        open_decompressed(io.BytesIO(data), name).read()


# ----------------------------------------------------------------------------- JSON lines
# (file, options, documents, empty rejects, first URL, first date)
JSONL_FILES = [
    # 1,000 lines (README; `zcat ... | wc -l`); first line's url/date by `zcat | head -1`.
    ("commoncrawl/c4/c4-sample.00000-of-00001.json.gz", {}, 1000, 0,
     "https://www.kentlive.news/news/sevenoaks-mum-who-died-after-2582402",
     "2019-04-21T18:54:04Z"),
    # 50 lines, text in `raw_content` (README; `wc -l`; `head -c 300`).
    ("commoncrawl/ccnet/redpajama-v2-ccnet-CC-MAIN-2023-06-sample50.jsonl",
     {"text_field": "raw_content"}, 50, 0,
     "http://366weirdmovies.com/amicus-anthologies-part-one-1965-1972/", "2023-01-26T21:47:59Z"),
    # 10 each, Dolma format: url in metadata.url (README; `zcat | head -1`).
    ("commoncrawl/ccnet/dolma-cc_en_head-0091.jsonl.gz", {}, 10, 0,
     "http://100kinvesting.com/2016/11/28/first-teleconference-calls-invoice-factoring/",
     "2020-03-29T09:04:10Z"),
    ("commoncrawl/ccnet/dolma-cc_en_head-0174.jsonl.gz", {}, 10, 0,
     "http://archives2.getty.edu:8082/xtf/view?docId=ead/2002.M.13/2002.M.13.xml",
     "2020-06-05T04:25:29Z"),
    # 697 lines; `zcat | grep -c '"text": *""'` = 27 empty texts, 670 others.
    ("commoncrawl/cc_text/CC-MAIN-20190717121559-20190717143559-00140.dolma.jsonl.gz",
     {"url_field": "metadata.warc_url"}, 670, 27,
     "http://16thfleet.wikidot.com/chatter:anewhome", "2019-07-17T12:15:59.000Z"),
    # 100 lines; lines 62 and 68 have "t": null (README; `zstdcat | sed -n 62p`).
    ("commoncrawl/multilingual/hplt-cc-sample100.jsonl.zst", {"text_field": "t"}, 98, 2,
     None, None),
]


@pytest.mark.parametrize("rel, options, n_docs, n_empty, first_url, first_date", JSONL_FILES,
                         ids=[f[0].rsplit("/", 1)[1] for f in JSONL_FILES])
def test_jsonl_reads_real_files(shared_data, rel, options, n_docs, n_empty, first_url,
                                first_date):
    items = read_items("jsonl", shared_data / rel, **options)
    assert tally(items) == +collections.Counter({"document": n_docs, "read_empty": n_empty})
    docs = documents(items)
    if first_url is not None:
        assert (docs[0].url, docs[0].crawl_date) == (first_url, first_date)
    assert all(d.text.strip() and d.source_file == str(shared_data / rel) for d in docs)


def test_hplt_line_82_with_invalid_utf8_in_its_html_is_kept(shared_data):
    """Line 82's bad byte is in the raw HTML (`h`), not in the text: the document is kept."""
    path = shared_data / "commoncrawl/multilingual/hplt-cc-sample100.jsonl.zst"
    items = read_items("jsonl", path, text_field="t")
    assert [r.detail["line"] for r in rejects(items)] == [62, 68]
    # Items come in line order and only lines 62 and 68 are rejected, so line 82 is item 81;
    # its url starts so (`zstdcat ... | sed -n 82p | grep -o '"u":"[^"]*"'`).
    assert items[81].url.startswith("https://jp.123rf.com/footage_13288526_")
    assert items[81].text.startswith("To view this video please enable JavaScript")


def test_jsonl_rejects_broken_lines_with_line_number_and_offset(tmp_path):
    lines = [
        b'\xef\xbb\xbf{"text": "first good", "url": "http://a/"}\n',  # 1: BOM + document
        b'{"text": "unterminated\n',                       # 2: bad JSON
        b'{"body": "no text field"}\n',                    # 3: missing field
        b'[1, 2]\n',                                       # 4: not an object
        b'{"text": "caf\xe9 au lait"}\n',                  # 5: invalid UTF-8 in the text
        b'{"text": 42}\n',                                 # 6: not a string
        b'\n',                                             # 7: blank, a separator
        b'{"text": "  "}\n',                               # 8: empty
        b'{"text": "last good", "meta": {"u": "http://b/"}}\n',  # 9: document
    ]
    path = tmp_path / "broken.jsonl"
    path.write_bytes(b"".join(lines))
    items = read_items("jsonl", path, url_field="meta.u")
    offsets = [sum(len(x) for x in lines[:n - 1]) for n in range(1, 10)]
    assert [(r.reason, r.detail["line"], r.source_offset) for r in rejects(items)] == [
        ("read_bad_json", 2, offsets[1]), ("read_missing_text_field", 3, offsets[2]),
        ("read_not_an_object", 4, offsets[3]), ("read_invalid_utf8", 5, offsets[4]),
        ("read_text_not_string", 6, offsets[5]), ("read_empty", 8, offsets[7])]
    assert all(r.source_file == str(path) and r.stage == "read" for r in rejects(items))
    assert [(d.text, d.url, d.source_offset) for d in documents(items)] == [
        ("first good", None, 0), ("last good", "http://b/", offsets[8])]


def test_jsonl_rejects_a_line_over_the_size_limit(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text('{"text": "' + "x" * 500 + '"}\n{"text": "small"}\n')
    items = read_items("jsonl", path, max_record_bytes=100)
    assert tally(items) == {"read_record_too_large": 1, "document": 1}
    assert documents(items)[0].source_offset == 513  # line 1: 10 + 500 + 3 (`"}\n`) bytes


def test_truncated_gzip_keeps_lines_before_and_names_the_file(shared_data, tmp_path):
    original = (shared_data / "commoncrawl/c4/c4-sample.00000-of-00001.json.gz").read_bytes()
    path = tmp_path / "cut.json.gz"
    path.write_bytes(original[: len(original) // 2])
    items = read_items("jsonl", path)
    docs, bad = documents(items), rejects(items)
    expected = [json.loads(x)["text"] for x in gzip.decompress(original).splitlines()]
    assert 0 < len(docs) < 1000
    assert [d.text for d in docs] == expected[: len(docs)]
    assert len(bad) == 1 and bad[0].reason == "read_corrupt_stream"
    assert str(path) in bad[0].detail["error"] and "gzip" in bad[0].detail["error"]


def test_corrupt_zstd_is_rejected_naming_the_file(shared_data, tmp_path):
    original = (shared_data / "commoncrawl/multilingual/hplt-cc-sample100.jsonl.zst").read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0xFF
    path = tmp_path / "damaged.jsonl.zst"
    path.write_bytes(bytes(damaged))
    items = read_items("jsonl", path, text_field="t")
    assert items[-1].reason == "read_corrupt_stream"
    assert str(path) in items[-1].detail["error"] and "zstd" in items[-1].detail["error"]
    assert len(documents(items)) < 98


# ----------------------------------------------------------------------------- Parquet
def test_parquet_streams_row_groups_with_nested_fields(shared_data, tmp_path):
    """The C4 sample as Parquet: 10 row groups, URL in a struct, one row without text."""
    path_c4 = shared_data / "commoncrawl/c4/c4-sample.00000-of-00001.json.gz"
    rows = [json.loads(x) for x in gzip.decompress(path_c4.read_bytes()).splitlines()]
    table = pa.table({"content": [r["text"] for r in rows] + [None],
                      "meta": [{"url": r["url"]} for r in rows] + [{"url": "http://none/"}]})
    path = tmp_path / "c4.parquet"
    pq.write_table(table, path, row_group_size=100)
    assert pq.ParquetFile(path).num_row_groups == 11
    items = read_items("parquet", path, text_field="content", url_field="meta.url")
    assert tally(items) == {"document": 1000, "read_empty": 1}
    docs = documents(items)
    assert [(d.url, d.text) for d in docs] == [(r["url"], r["text"]) for r in rows]
    assert docs[250].source_offset == 250 and rejects(items)[0].source_offset == 1000


def test_truncated_parquet_is_rejected_naming_the_file(tmp_path):
    path = tmp_path / "cut.parquet"
    pq.write_table(pa.table({"text": ["a document"] * 10}), path)
    path.write_bytes(path.read_bytes()[:-20])  # footer gone
    items = read_items("parquet", path)
    assert tally(items) == {"read_bad_parquet": 1}
    assert items[0].source_file == str(path)


# ----------------------------------------------------------------------------- text files
WIKITEXT_TITLE = r"^ = ([^=].*) = $"


def test_wikitext_split_on_isolated_headings(shared_data):
    """README: 60 articles in test.txt when a title line has blank lines around it."""
    path = shared_data / "wikipedia/wikitext-2/test.txt"
    items = read_items("text", path, boundary=WIKITEXT_TITLE, boundary_isolated=True)
    docs = documents(items)
    assert len(items) == len(docs) == 60
    assert [d.meta["title"] for d in docs[:3]] == [
        "Robert <unk>", "Du Fu", "Kiss You ( One Direction song )"]
    assert docs[0].record_id == "test.txt#1" and docs[0].source_offset == 2
    # Every byte of the file (1,256,449, README) lands in a document except the blank
    # first line " \n" before the first title.
    assert sum(len(d.text.encode()) for d in docs) == 1_256_449 - 2


def test_wikitext_plain_regex_finds_the_formula_lines_too(shared_data):
    """`grep -c '^ = [^=].* = $'`: 62 in test.txt (two formula lines, README), 60 in valid."""
    test = read_items("text", shared_data / "wikipedia/wikitext-2/test.txt",
                      boundary=WIKITEXT_TITLE)
    valid = read_items("text", shared_data / "wikipedia/wikitext-2/valid.txt",
                       boundary=WIKITEXT_TITLE)
    assert (len(documents(test)), len(documents(valid))) == (62, 60)
    assert documents(valid)[0].meta["title"] == "Homarus gammarus"


def test_gutenberg_book_is_one_whole_document(shared_data):
    """pg1342 (README): 772,448 bytes with a 3-byte BOM, 130,408 whitespace words."""
    path = shared_data / "books/pg1342.txt"
    (doc,) = read_items("text", path)
    assert isinstance(doc, Document) and doc.record_id == "pg1342.txt"
    assert doc.text.startswith("The Project Gutenberg eBook of Pride and Prejudice")
    assert len(doc.text.encode("utf-8")) == 772_448 - 3
    assert len(doc.text.split()) == 130_408


def test_compressed_text_file_reads_like_the_plain_one(shared_data, tmp_path):
    plain = shared_data / "books/35-0.txt"
    packed = tmp_path / "35-0.txt.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    (doc,) = read_items("text", packed)
    assert len(doc.text.split()) == 35_524  # README: The Time Machine, whole file


def test_speeches_undecodable_file_is_rejected_or_replaced(shared_data):
    """README: inaugural/2005-Bush.txt holds Big5 punctuation; `xxd` shows byte A1 at 837."""
    folder = shared_data / "speeches/inaugural"
    counts = collections.Counter()
    for path in sorted(folder.glob("*.txt")):
        counts.update(tally(read_items("text", path)))
    assert counts == {"document": 58, "read_invalid_encoding": 1}  # 59 speeches (README)
    (bad,) = read_items("text", folder / "2005-Bush.txt")
    assert (bad.reason, bad.source_offset, bad.record_id) == (
        "read_invalid_encoding", 837, "2005-Bush.txt")
    (kept,) = read_items("text", folder / "2005-Bush.txt", errors="replace")
    assert "\ufffd" in kept.text


def test_text_encoding_option(shared_data):
    """README: state_union/1954-Eisenhower.txt is Latin-1, `BD A2` = "½¢"."""
    (doc,) = read_items("text", shared_data / "speeches/state_union/1954-Eisenhower.txt",
                        encoding="latin-1")
    assert "½¢ decrease" in doc.text


def test_text_empty_and_oversized_segments_are_rejected(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"  \n\n")
    assert tally(read_items("text", empty)) == {"read_empty": 1}
    split = tmp_path / "split.txt"
    split.write_text("# A\nshort\n# B\n" + "long line\n" * 20 + "# C\nend\n")
    items = read_items("text", split, max_record_bytes=100, boundary=r"^# (.*)$")
    assert [(type(i).__name__, i.record_id) for i in items] == [
        ("Document", "split.txt#1"), ("Rejected", "split.txt#2"), ("Document", "split.txt#3")]
    assert items[1].reason == "read_record_too_large" and items[1].source_offset == 10
    assert items[2].text == "# C\nend\n"


# ----------------------------------------------------------------------------- zip
def _corrupt_stored_member(archive: Path, content: bytes) -> None:
    """Flip one byte of a stored (uncompressed) member so its CRC no longer matches."""
    data = bytearray(archive.read_bytes())
    at = data.index(content)
    data[at] ^= 0x01
    archive.write_bytes(bytes(data))


def test_zip_of_speeches_one_document_per_member(shared_data, tmp_path):
    folder = shared_data / "speeches/inaugural"
    archive = tmp_path / "inaugural.zip"
    bad_content = b"this member will be damaged " * 10
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.mkdir("inaugural")
        z.write(folder / "README", "inaugural/README")
        for path in sorted(folder.glob("*.txt")):
            z.write(path, f"inaugural/{path.name}")
        z.writestr(zipfile.ZipInfo("inaugural/zz-bad.txt"), bad_content, zipfile.ZIP_STORED)
    _corrupt_stored_member(archive, bad_content)
    items = read_items("zip", archive, members="*.txt")
    # 59 speeches: 58 decode as UTF-8, 2005-Bush does not (README); README and dir skipped.
    assert tally(items) == {"document": 58, "read_invalid_encoding": 1, "read_corrupt_member": 1}
    docs = documents(items)
    assert docs[0].record_id == "inaugural/1789-Washington.txt"
    assert docs[0].meta == {"member": "inaugural/1789-Washington.txt"}
    assert docs[0].text == (folder / "1789-Washington.txt").read_text()
    corrupt = [r for r in rejects(items) if r.reason == "read_corrupt_member"][0]
    assert corrupt.record_id == "inaugural/zz-bad.txt" and "CRC" in corrupt.detail["error"]


def test_zip_member_split_on_boundary(shared_data, tmp_path):
    archive = tmp_path / "wikitext.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(shared_data / "wikipedia/wikitext-2/valid.txt", "valid.txt")
    docs = documents(read_items("zip", archive, boundary=WIKITEXT_TITLE, boundary_isolated=True))
    assert len(docs) == 60  # README
    assert docs[59].record_id == "valid.txt#60"


def test_not_a_zip_is_rejected(tmp_path):
    path = tmp_path / "fake.zip"
    path.write_bytes(b"not a zip archive at all")
    items = read_items("zip", path)
    assert tally(items) == {"read_bad_zip": 1} and items[0].source_file == str(path)

