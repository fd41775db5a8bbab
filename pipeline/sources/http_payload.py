"""Archived HTTP responses → status, header fields and the body a browser would have decoded.

Lenient on purpose: LF or CR CR LF line ends, a missing reason phrase, odd protocol tokens
(`HTTPX/1.1 200 OK`) are all read. Transfer and content codings are undone only where the
stored body really is encoded: many archives keep the header but store the decoded body
(ClueWeb's `Content-Encoding: gzip` over plain HTML, `Transfer-Encoding: chunked` over an
unchunked body).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

_STATUS_LINE = re.compile(rb"[ \t\r\n]*[A-Za-z]+/\d+(?:\.\d+)?[ \t]+(\d{3})(?=[ \t\r\n]|$)")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")   # ESC (0x1b) is ISO-2022 text


class PayloadError(ValueError):
    """A body that claims an encoding it cannot be decoded from (reason names the fault)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    """Lower-cased field names, first value kept."""
    body: bytes


def looks_like_http(block: bytes) -> bool:
    return block.lstrip()[:4].upper() == b"HTTP"


def parse_response(block: bytes) -> HttpResponse | None:
    """Status code, fields and body of an HTTP response; None when there is no status line."""
    m = _STATUS_LINE.match(block)
    if not m:
        return None
    headers: dict[str, str] = {}
    pos = block.find(b"\n", m.end()) + 1 or len(block)
    while pos < len(block):
        nl = block.find(b"\n", pos)
        end = len(block) if nl < 0 else nl
        line = block[pos:end].rstrip(b"\r")
        pos = end + 1
        if not line.strip():
            break
        name, sep, value = line.partition(b":")
        if sep:
            headers.setdefault(name.strip().lower().decode("latin-1"),
                               value.strip().decode("latin-1"))
    return HttpResponse(int(m.group(1)), headers, block[pos:])


def media_type(value: str | None) -> tuple[str, str | None]:
    """(`type/subtype` lower-cased, charset or None) from a Content-Type value."""
    if not value:
        return "", None
    mime, *params = value.split(";")
    charset = None
    for param in params:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'") or None
    return mime.strip().lower(), charset


def decode_body(body: bytes, headers: dict[str, str], limit: int) -> bytes:
    """Undo chunked framing and content codings that are really there; PayloadError if broken."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = dechunk(body)
    codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",")]
    for coding in reversed([c for c in codings if c and c != "identity"]):
        body = _decode_coding(body, coding, limit)
    return body


def dechunk(body: bytes) -> bytes:
    """The joined chunks of a chunk-framed body; the body itself when it is not chunk-framed.

    Framing counts as real once one chunk is followed by another size line (or the body's
    end after several chunks): a plain body that happens to start with a hex word stays as is.
    """
    parts, pos = [], 0
    while m := _CHUNK_SIZE.match(body, pos):
        size = int(m.group(1), 16)
        if size == 0:
            return b"".join(parts)
        start = m.end()
        parts.append(body[start:start + size])
        pos = start + size
        pos += 2 if body.startswith(b"\r\n", pos) else 1 if body.startswith(b"\n", pos) else 0
    return b"".join(parts) if len(parts) > 1 else body


def is_probably_text(data: bytes) -> bool:
    """No control bytes in the first 512: compressed data almost always has some."""
    return not _BINARY_BYTES.search(data, 0, 512)


def _decode_coding(body: bytes, coding: str, limit: int) -> bytes:
    if coding in ("gzip", "x-gzip"):
        if not body.startswith(b"\x1f\x8b"):
            return body                    # header kept, body stored decoded
        return _inflate(body, 31, limit)
    if coding == "deflate":
        for wbits in (15, -15):
            try:
                return _inflate(body, wbits, limit)
            except PayloadError:
                continue
        if is_probably_text(body):
            return body
        raise PayloadError("content_decoding_failed", "deflate body does not inflate")
    if coding == "br":
        return _unbrotli(body, limit)
    if is_probably_text(body):
        return body
    raise PayloadError("unsupported_content_encoding", coding)


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    try:
        out = zlib.decompressobj(wbits).decompress(body, limit + 1)
    except zlib.error as exc:
        raise PayloadError("content_decoding_failed", f"zlib: {exc}") from None
    if len(out) > limit:
        raise PayloadError("payload_too_large", f"decodes to more than {limit} bytes")
    return out


def _unbrotli(body: bytes, limit: int) -> bytes:
    try:
        import brotli
    except ImportError:
        if is_probably_text(body):
            return body
        raise PayloadError("unsupported_content_encoding", "br (brotli is not installed)") from None
    try:
        out = brotli.Decompressor().process(body, output_buffer_limit=limit + 1)
    except brotli.error as exc:
        if is_probably_text(body):
            return body
        raise PayloadError("content_decoding_failed", f"brotli: {exc}") from None
    if len(out) > limit:
        raise PayloadError("payload_too_large", f"decodes to more than {limit} bytes")
    return out
