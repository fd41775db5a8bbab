"""WARC, WET and ARC files → documents: the project's own reader, resilient to broken archives.

`read_warc(stream, ctx)` streams a (gzip or plain) archive: `gzip_members` decodes member by
member and resynchronises after a corrupt one, `archive_framing` cuts records and recovers
from wrong lengths, and this module turns each record into a `Document` (HTML page text via
`html_text.extract_text`, `extract = "full"` like Common Crawl's WET, or `"main"`; WET
`conversion` text as is), a `Skipped` (warcinfo, request, metadata, revisit, WAT, redirects,
images), or a `Rejected` naming the file, offset and fault. ARC files are recognised by their
first bytes whatever the declared format. Nothing raises on bad input.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

from crawl2gpt.core.records import Document
from crawl2gpt.pipeline.sources import ReadContext, ReadItem
from crawl2gpt.pipeline.sources.archive_framing import Broken, RawRecord, frame_records
from crawl2gpt.pipeline.sources.gzip_members import decode_archive
from crawl2gpt.pipeline.sources.html_text import EXTRACT_MODES, decode_html, extract_text
from crawl2gpt.pipeline.sources.http_payload import (
    PayloadError,
    decode_body,
    looks_like_http,
    media_type,
    parse_response,
)

SKIPPED_WARC_TYPES = ("warcinfo", "request", "metadata", "revisit", "continuation")
DOCUMENT_WARC_TYPES = ("response", "resource", "conversion")
HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xhtml", "text/xhtml")
PLAIN_TEXT_TYPES = ("text/plain",)
WEB_SCHEMES = ("http", "https")


def read_warc(stream: BinaryIO, ctx: ReadContext) -> Iterator[ReadItem]:
    """Every record of the archive as a Document, Skipped or Rejected, in file order."""
    if ctx.option("extract", "full") not in EXTRACT_MODES:
        raise ValueError(f"source {ctx.source.name!r}: option extract = "
                         f"{ctx.option('extract')!r} is not one of {EXTRACT_MODES}")
    default_kind = "arc" if ctx.source.format == "arc" else "warc"
    for item in frame_records(decode_archive(stream), ctx.max_record_bytes, default_kind):
        if isinstance(item, Broken):
            yield ctx.reject(item.reason, offset=item.offset, record_id=item.record_id,
                             **item.detail)
        elif item.kind == "arc":
            yield _arc_item(item, ctx)
        else:
            yield _warc_item(item, ctx)


class _Record:
    """What a kept record needs to become a document: identity, provenance and metadata."""

    def __init__(self, ctx: ReadContext, raw: RawRecord, url: str | None,
                 record_id: str | None, crawl_date: str | None, meta: dict):
        self.ctx, self.raw, self.url, self.record_id = ctx, raw, url, record_id
        self.crawl_date = crawl_date
        self.meta = {**meta, **raw.length_note}

    def reject(self, reason: str, **detail) -> ReadItem:
        return self.ctx.reject(reason, offset=self.raw.offset, record_id=self.record_id,
                               url=self.url, **detail)

    def document(self, text: str) -> ReadItem:
        if not text.strip():
            return self.reject("empty_text")
        return Document.create(self.ctx.source.name, text, url=self.url,
                               record_id=self.record_id, crawl_date=self.crawl_date,
                               source_file=self.ctx.path, source_offset=self.raw.offset,
                               meta=self.meta)


def _warc_item(raw: RawRecord, ctx: ReadContext) -> ReadItem:
    h = raw.headers
    warc_type = h.get("warc-type", "").lower()
    record_id = h.get("warc-record-id") or None
    if not warc_type:
        return ctx.reject("missing_warc_type", offset=raw.offset, record_id=record_id)
    if warc_type == "metadata" and "json" in h.get("content-type", "").lower():
        return ctx.skip("wat")
    if warc_type in SKIPPED_WARC_TYPES:
        return ctx.skip(warc_type)
    if warc_type not in DOCUMENT_WARC_TYPES:
        return ctx.reject("unknown_record_type", offset=raw.offset, record_id=record_id,
                          warc_type=warc_type)
    if h.get("warc-segment-number", "").strip().isdigit():
        return ctx.skip("segmented")
    url = h.get("warc-target-uri", "").strip().strip("<>") or None
    meta = {"format": "warc", "warc_type": warc_type, "warc_version": raw.first_line}
    if h.get("warc-identified-content-language"):
        meta["warc_language"] = h["warc-identified-content-language"]
    if warc_type == "resource" and (url or "").split(":")[0].lower() not in WEB_SCHEMES:
        return ctx.skip("resource_not_web")     # crawler logs and manifests, not pages
    rec = _Record(ctx, raw, url, record_id, h.get("warc-date") or None, meta)
    if not raw.block.strip():
        return rec.reject("empty_block", warc_type=warc_type)
    if warc_type == "conversion":
        return rec.document(raw.block.decode("utf-8", "replace"))
    content_type = h.get("content-type")
    if warc_type == "response" and ("application/http" in (content_type or "").lower()
                                    or looks_like_http(raw.block)):
        return _http_item(rec, raw.block, h.get("warc-identified-payload-type"))
    return _payload_item(rec, raw.block, *media_type(content_type))


def _arc_item(raw: RawRecord, ctx: ReadContext) -> ReadItem:
    fields = raw.first_line.split(" ")
    url = fields[0]
    if url.startswith("filedesc:"):
        return ctx.skip("arc_filedesc")
    meta = {"format": "arc", "arc_content_type": fields[3] if len(fields) > 3 else None}
    rec = _Record(ctx, raw, url, None, fields[2] if len(fields) > 2 else None, meta)
    if not raw.block.strip():
        return rec.reject("empty_block")
    if url.split(":")[0].lower() in WEB_SCHEMES and looks_like_http(raw.block):
        return _http_item(rec, raw.block, None)
    return _payload_item(rec, raw.block, *media_type(meta["arc_content_type"]))


def _http_item(rec: _Record, block: bytes, identified_type: str | None) -> ReadItem:
    response = parse_response(block)
    if response is None:
        return rec.reject("bad_http_status_line",
                          first_line=block[:80].decode("latin-1").split("\n")[0])
    rec.meta["http_status"] = response.status
    if not 200 <= response.status < 300:
        return rec.ctx.skip(f"http_{response.status // 100}xx")
    mime, charset = media_type(response.headers.get("content-type") or identified_type)
    try:
        payload = decode_body(response.body, response.headers, rec.ctx.max_record_bytes)
    except PayloadError as exc:
        return rec.reject(exc.reason, error=exc.detail, content_type=mime)
    return _payload_item(rec, payload, mime, charset)


def _payload_item(rec: _Record, payload: bytes, mime: str, charset: str | None) -> ReadItem:
    """Text of an HTML or plain-text payload; other media types are skipped, not rejected."""
    if not mime and _sniff_html(payload):
        mime = "text/html"
    if mime not in HTML_TYPES and mime not in PLAIN_TEXT_TYPES:
        return rec.ctx.skip("non_text_content")
    rec.meta.update(content_type=mime, charset=charset)
    if not payload.strip():
        return rec.reject("empty_payload", content_type=mime)
    if mime in PLAIN_TEXT_TYPES:
        return rec.document(decode_html(payload, charset))
    try:
        text = extract_text(payload, mode=rec.ctx.option("extract", "full"), charset=charset)
    except Exception as exc:  # the HTML parser's failure is this record's fault: keep reading
        return rec.reject("html_parse_failed", error=f"{type(exc).__name__}: {exc}")
    return rec.document(text)


def _sniff_html(payload: bytes) -> bool:
    head = payload[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head
