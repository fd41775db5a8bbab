"""Readers for text corpora: JSON lines, Parquet, plain text files and zip archives of them.

Each reader turns one stored file into `Document`s (text as found: normalisation is a later
stage), `Rejected` input records (bad JSON, missing or empty text, undecodable bytes, corrupt
compression or archive members) and nothing else; reading goes on after a bad record.

Options (from the source's `options` table):
- jsonl/parquet: `text_field` ("text"), `url_field`, `id_field`, `date_field`. A field is a
  key or a dotted path into nested objects (`metadata.url`); each may also be a list of
  candidates tried in order. Without an option, common names are tried (see `DEFAULT_FIELDS`).
- text/zip: `boundary` (regex; each matching line starts a new document, the line included;
  its first group, else the stripped line, becomes `meta["title"]`), `boundary_isolated`
  (only lines with a blank line before and after count: WikiText's formula lines look like
  headings), `encoding` ("utf-8"), `errors` ("strict": undecodable bytes reject the segment;
  "replace" or "ignore" keep it), zip only: `members` (glob on member names, "*").
"""

from __future__ import annotations

import codecs
import fnmatch
import json
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from crawl2gpt.core.records import Document
from crawl2gpt.pipeline.sources import ReadContext, ReadItem
from crawl2gpt.pipeline.sources.compression import (
    CorruptStreamError,
    Line,
    iter_lines,
    open_decompressed,
)

DEFAULT_FIELDS = {
    "text_field": ("text",),
    "url_field": ("url", "metadata.url", "u"),
    "id_field": ("id",),
    "date_field": ("date", "timestamp", "date_download", "metadata.date_download",
                   "metadata.warc_date", "ts"),
}
DECODE_ERRORS = ("strict", "replace", "ignore")
_MISSING = object()
_SPOOL_BYTES = 64 * 1024 * 1024
# pyarrow on a damaged file: ArrowInvalid (a ValueError), ArrowIOError (an OSError), bad UTF-8.
_PARQUET_ERRORS = (pa.ArrowException, OSError, ValueError)
# What zipfile raises for a damaged member: bad CRC or header (BadZipFile), broken deflate,
# bzip2 or lzma data, an encrypted or unsupported member.
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                  NotImplementedError)


# ----------------------------------------------------------------------------- records
def get_field(record: dict, path: str) -> Any:
    """`record[path]`, else the value at the dotted `path` (`metadata.url`), else `_MISSING`."""
    if path in record:
        return record[path]
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _field_paths(ctx: ReadContext, option: str) -> tuple[str, ...]:
    value = ctx.option(option)
    if value is None:
        return DEFAULT_FIELDS[option]
    return (value,) if isinstance(value, str) else tuple(value)


def _first_field(record: dict, paths: tuple[str, ...]) -> Any:
    for path in paths:
        value = get_field(record, path)
        if value is not _MISSING:
            return value
    return _MISSING


def _optional_str(value: Any) -> str | None:
    return None if value is _MISSING or value is None else str(value)


def record_to_item(record: Any, ctx: ReadContext, offset: int, **where: Any) -> ReadItem:
    """A parsed JSON object or Parquet row → `Document`, or `Rejected` with a reason.

    Only the fields used must be valid Unicode: lone surrogates (undecodable bytes kept by
    `surrogateescape`) in the text, URL or id reject the record as `invalid_utf8`.
    """
    if not isinstance(record, dict):
        return ctx.reject("not_an_object", offset=offset, type=type(record).__name__, **where)
    text_paths = _field_paths(ctx, "text_field")
    text = _first_field(record, text_paths)
    if text is _MISSING:
        return ctx.reject("missing_text_field", offset=offset, fields=list(text_paths), **where)
    if text is not None and not isinstance(text, str):
        return ctx.reject("text_not_string", offset=offset, type=type(text).__name__, **where)
    if text is None or not text.strip():
        return ctx.reject("empty", offset=offset, **where)
    url = _optional_str(_first_field(record, _field_paths(ctx, "url_field")))
    record_id = _optional_str(_first_field(record, _field_paths(ctx, "id_field")))
    date = _optional_str(_first_field(record, _field_paths(ctx, "date_field")))
    for name, value in (("text", text), ("url", url), ("id", record_id)):
        if value is not None and not _is_valid_unicode(value):
            return ctx.reject("invalid_utf8", offset=offset, field=name, **where)
    return Document.create(ctx.source.name, text, url=url, record_id=record_id,
                           source_file=ctx.path, source_offset=offset, crawl_date=date)


def _is_valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ----------------------------------------------------------------------------- JSON lines
def read_jsonl(stream: BinaryIO, ctx: ReadContext) -> Iterator[ReadItem]:
    """One document per JSON line (plain, .gz, .bz2 or .zst).

    `source_offset` and a reject's `offset` are the byte offset of the line's start in the
    decompressed file; rejects carry the 1-based `line` in their detail. Invalid UTF-8 only
    rejects a line when it sits in a field the document uses (see `record_to_item`): the HPLT
    sample's line 82 has a bad byte in its raw HTML (`h`) and is kept, its text `t` is valid.
    Blank lines are separators, not records. After a corrupt compressed stream the rest of
    the file cannot be read: one `corrupt_stream` reject (offset: the first line not read)
    says where it stopped.
    """
    limit = ctx.max_record_bytes
    next_offset = 0
    try:
        for line in iter_lines(open_decompressed(stream, ctx.path), limit):
            next_offset = line.offset + line.size
            if line.data is None:
                yield ctx.reject("record_too_large", offset=line.offset, line=line.number,
                                 size=line.size, limit=limit)
            elif line.data.strip():
                yield _json_line_to_item(line, ctx)
    except CorruptStreamError as e:
        yield ctx.reject("corrupt_stream", offset=next_offset, error=str(e))


def _json_line_to_item(line: Line, ctx: ReadContext) -> ReadItem:
    encoding = "utf-8-sig" if line.number == 1 else "utf-8"  # a byte-order mark is not JSON
    try:
        record = json.loads(line.data.decode(encoding, "surrogateescape"))
    except json.JSONDecodeError as e:
        return ctx.reject("bad_json", offset=line.offset, line=line.number, error=e.msg,
                          column=e.colno)
    return record_to_item(record, ctx, line.offset, line=line.number)


# ----------------------------------------------------------------------------- Parquet
def read_parquet(stream: BinaryIO, ctx: ReadContext) -> Iterator[ReadItem]:
    """One document per row, one row group in memory at a time.

    `source_offset` is the 0-based row number in the file. A row group that fails to decode
    is rejected as a whole (`bad_row_group`, offset = its first row) and reading goes on.
    """
    with _seekable(stream) as seekable:
        try:
            parquet = pq.ParquetFile(seekable)
        except _PARQUET_ERRORS as e:
            yield ctx.reject("bad_parquet", offset=None, error=f"{type(e).__name__}: {e}")
            return
        columns = _parquet_columns(ctx, parquet.schema_arrow.names)
        first_row = 0
        for group in range(parquet.num_row_groups):
            rows = parquet.metadata.row_group(group).num_rows
            try:
                records = parquet.read_row_group(group, columns=columns).to_pylist()
            except _PARQUET_ERRORS as e:
                yield ctx.reject("bad_row_group", offset=first_row, row_group=group, rows=rows,
                                 error=f"{type(e).__name__}: {e}")
            else:
                for i, record in enumerate(records):
                    yield record_to_item(record, ctx, first_row + i, row=first_row + i)
            first_row += rows


def _parquet_columns(ctx: ReadContext, names: list[str]) -> list[str]:
    """Top-level columns holding any candidate field (dotted paths read their struct)."""
    wanted = set()
    for option in DEFAULT_FIELDS:
        for path in _field_paths(ctx, option):
            top = path if path in names else path.split(".")[0]
            if top in names:
                wanted.add(top)
    return sorted(wanted)


class _seekable:
    """The stream itself if it can seek, else a temporary copy (zip and Parquet need seeks)."""

    def __init__(self, stream: BinaryIO):
        self._stream, self._copy = stream, None

    def __enter__(self) -> BinaryIO:
        if self._stream.seekable():
            return self._stream
        self._copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
        shutil.copyfileobj(self._stream, self._copy)
        self._copy.seek(0)
        return self._copy

    def __exit__(self, *exc) -> None:
        if self._copy is not None:
            self._copy.close()


# ----------------------------------------------------------------------------- plain text
@dataclass
class TextOptions:
    boundary: re.Pattern | None = None
    boundary_isolated: bool = False
    encoding: str = "utf-8"
    errors: str = "strict"

    @classmethod
    def of(cls, ctx: ReadContext) -> TextOptions:
        """Validated options; a wrong value is a config error naming the source."""
        encoding = ctx.option("encoding", "utf-8")
        errors = ctx.option("errors", "strict")
        try:
            codec = codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"source {ctx.source.name!r}: unknown encoding {encoding!r}") from None
        if "\n".encode(codec.name) != b"\n":
            raise ValueError(f"source {ctx.source.name!r}: encoding {encoding!r} is not "
                             "ASCII-compatible; lines cannot be split on b'\\n'")
        if errors not in DECODE_ERRORS:
            raise ValueError(f"source {ctx.source.name!r}: errors={errors!r} is not one of "
                             f"{DECODE_ERRORS}")
        boundary = ctx.option("boundary")
        return cls(boundary=re.compile(boundary) if boundary else None,
                   boundary_isolated=bool(ctx.option("boundary_isolated", False)),
                   encoding=codec.name, errors=errors)


@dataclass
class _Segment:
    """The raw lines of one future document; `parts` is None once it grew past the limit."""

    offset: int
    title: str | None = None
    parts: list[bytes] | None = field(default_factory=list)
    size: int = 0
    blank: bool = True

    def add(self, line: Line, limit: int) -> None:
        self.size += line.size
        self.blank = self.blank and line.data is not None and not line.data.strip()
        if self.parts is None or line.data is None or self.size > limit:
            self.parts = None
        else:
            self.parts.append(line.data)


def _split_segments(lines: Iterator[Line], options: TextOptions, limit: int
                   ) -> Iterator[_Segment]:
    """Group lines into segments, a new one at each boundary line (all in one without one)."""
    segment = _Segment(offset=0)
    previous_blank = True
    line = next(lines, None)
    while line is not None:
        following = next(lines, None)
        title = _boundary_title(line, following, previous_blank, options)
        if title is not None:
            if _is_record(segment, options):
                yield segment
            segment = _Segment(offset=line.offset, title=title)
        segment.add(line, limit)
        previous_blank = line.data is not None and not line.data.strip()
        line = following
    if _is_record(segment, options):
        yield segment


def _is_record(segment: _Segment, options: TextOptions) -> bool:
    """Blank lines before the first boundary separate nothing; a blank whole file is a record."""
    if options.boundary is not None and segment.title is None and segment.blank:
        return False
    return segment.size > 0


def _boundary_title(line: Line, following: Line | None, previous_blank: bool,
                    options: TextOptions) -> str | None:
    """The title if `line` starts a new segment, else None."""
    if options.boundary is None or line.data is None:
        return None
    text = line.data.decode(options.encoding, "replace").rstrip("\r\n")
    match = options.boundary.search(text)
    if match is None:
        return None
    if options.boundary_isolated:
        following_blank = following is None or (following.data is not None
                                                and not following.data.strip())
        if not (previous_blank and following_blank):
            return None
    return (match.group(1) if match.groups() else text).strip()


def read_text(stream: BinaryIO, ctx: ReadContext) -> Iterator[ReadItem]:
    """One document per file (plain or compressed), or one per `boundary` segment.

    `source_offset` is the byte offset of the segment's first line in the decompressed file.
    `record_id` is the file name, with `#n` (1-based segment number) when split.
    """
    options = TextOptions.of(ctx)
    name = os.path.basename(ctx.path)
    try:
        yield from _text_items(open_decompressed(stream, ctx.path), ctx, options, name)
    except CorruptStreamError as e:
        yield ctx.reject("corrupt_stream", offset=None, record_id=name, error=str(e),
                         good_bytes=e.position)


def _text_items(stream: BinaryIO, ctx: ReadContext, options: TextOptions, name: str,
                **meta: Any) -> Iterator[ReadItem]:
    split = options.boundary is not None
    lines = iter_lines(stream, ctx.max_record_bytes)
    for number, segment in enumerate(_split_segments(lines, options, ctx.max_record_bytes), 1):
        record_id = f"{name}#{number}" if split else name
        yield _segment_to_item(segment, ctx, options, record_id, meta)


def _segment_to_item(segment: _Segment, ctx: ReadContext, options: TextOptions,
                     record_id: str, meta: dict[str, Any]) -> ReadItem:
    where = dict(meta, title=segment.title) if segment.title else dict(meta)
    if segment.parts is None:
        return ctx.reject("record_too_large", offset=segment.offset, record_id=record_id,
                          size=segment.size, limit=ctx.max_record_bytes, **where)
    raw = b"".join(segment.parts)
    encoding = options.encoding
    if encoding == "utf-8" and segment.offset == 0:
        encoding = "utf-8-sig"  # a byte-order mark is not text
    try:
        text = raw.decode(encoding, options.errors)
    except UnicodeDecodeError as e:
        return ctx.reject("invalid_encoding", offset=segment.offset + e.start,
                          record_id=record_id, encoding=options.encoding, error=e.reason,
                          **where)
    if not text.strip():
        return ctx.reject("empty", offset=segment.offset, record_id=record_id, **where)
    return Document.create(ctx.source.name, text, record_id=record_id, source_file=ctx.path,
                           source_offset=segment.offset, meta=where)


# ----------------------------------------------------------------------------- zip
def read_zip(stream: BinaryIO, ctx: ReadContext) -> Iterator[ReadItem]:
    """Each file member of a zip archive read as `read_text` reads a file.

    `record_id` is the member name (plus `#n` when split), `meta["member"]` too;
    `source_offset` is the byte offset inside the uncompressed member. A damaged member is
    rejected (`corrupt_member`, with its name) and the next member is read.
    """
    options = TextOptions.of(ctx)
    pattern = ctx.option("members", "*")
    with _seekable(stream) as seekable:
        try:
            archive = zipfile.ZipFile(seekable)
        except (zipfile.BadZipFile, OSError) as e:
            yield ctx.reject("bad_zip", offset=None, error=f"{type(e).__name__}: {e}")
            return
        with archive:
            for info in archive.infolist():
                if info.is_dir() or not fnmatch.fnmatch(info.filename, pattern):
                    continue
                yield from _zip_member_items(archive, info, ctx, options)


def _zip_member_items(archive: zipfile.ZipFile, info: zipfile.ZipInfo, ctx: ReadContext,
                      options: TextOptions) -> Iterator[ReadItem]:
    try:
        with archive.open(info) as member:
            yield from _text_items(member, ctx, options, info.filename, member=info.filename)
    except _MEMBER_ERRORS as e:
        yield ctx.reject("corrupt_member", offset=info.header_offset, record_id=info.filename,
                         member=info.filename, error=f"{type(e).__name__}: {e}")
