"""Writing WARC/1.0 and WET files laid out as Common Crawl's, deterministically.

One gzip member per record, CRLF header lines, `Content-Length` after `WARC-Record-ID`, SHA-1
block and payload digests in base32. Record ids are UUIDs hashed from a seed and the record's
name, dates come from the caller, and every gzip member has mtime 0 and OS byte 255, so the same
records give the same bytes on every machine that has the same zlib (deflate output can differ
between zlib builds, e.g. zlib-ng; the uncompressed records never do).
"""

from __future__ import annotations

import base64
import hashlib
import struct
import uuid
import zlib
from collections import Counter
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import BinaryIO

# gzip header (RFC 1952): magic, deflate, no flags, mtime 0, no extra flags, OS "unknown".
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
# Level 1: on these pages the files are only ~6% larger than at level 6, and written ~1.4x faster.
COMPRESS_LEVEL = 1


def record_id(seed: int, *name: object) -> str:
    """`<urn:uuid:…>` from a hash of the seed and the record's name (no clock, no uuid4)."""
    digest = hashlib.sha256("/".join(map(str, (seed, *name))).encode()).digest()
    return f"<urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}>"  # version and variant bits set


def sha1_base32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def gzip_member(data: bytes) -> bytes:
    """A complete gzip member with a fixed header, so equal input gives equal bytes."""
    trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return _GZIP_HEADER + zlib.compress(data, COMPRESS_LEVEL, wbits=-15) + trailer


def warc_date(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(timezone.utc), usegmt=True)


class WarcWriter:
    """Appends gzip-compressed WARC records to an open binary file and counts them by type."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.counts: Counter[str] = Counter()

    def write(self, headers: list[tuple[str, str]], block: bytes) -> None:
        """One record; `headers` must start with WARC-Type and include WARC-Record-ID."""
        lines = ["WARC/1.0"]
        for name, value in headers:
            lines.append(f"{name}: {value}")
            if name == "WARC-Record-ID":
                lines.append(f"Content-Length: {len(block)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        self.out.write(gzip_member(head + block + b"\r\n\r\n"))
        self.counts[headers[0][1]] += 1

    def warcinfo(self, rec_id: str, when: datetime, filename: str, fields: dict[str, str]) -> None:
        block = "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode("utf-8")
        self.write([("WARC-Type", "warcinfo"), ("WARC-Date", warc_date(when)),
                    ("WARC-Record-ID", rec_id), ("Content-Type", "application/warc-fields"),
                    ("WARC-Filename", filename)], block)


def http_request(url_host: str, url_path: str) -> bytes:
    return (f"GET {url_path} HTTP/1.1\r\n"
            "User-Agent: CCBot/2.0 (https://commoncrawl.org/faq/)\r\n"
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
            "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: br,gzip\r\n"
            f"Host: {url_host}\r\nConnection: Keep-Alive\r\n\r\n").encode("ascii")


def http_response(status: str, when: datetime, payload: bytes, charset: str,
                  extra: list[tuple[str, str]] = ()) -> bytes:
    headers = [("Date", http_date(when)), ("Server", "nginx"),
               ("Content-Type", f"text/html; charset={charset}"),
               ("Content-Length", str(len(payload))), *extra, ("Connection", "close")]
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + payload


def write_capture(warc: WarcWriter, ids: tuple[str, str, str], info_id: str, when: datetime,
                  url: str, ip: str, response: bytes, payload: bytes,
                  metadata: dict[str, str]) -> None:
    """The request, response and metadata records of one fetch, as Common Crawl writes them."""
    request_id, response_id, metadata_id = ids
    host, _, path = url.split("://", 1)[1].partition("/")
    date = warc_date(when)
    warc.write([("WARC-Type", "request"), ("WARC-Date", date), ("WARC-Record-ID", request_id),
                ("Content-Type", "application/http; msgtype=request"),
                ("WARC-Warcinfo-ID", info_id), ("WARC-IP-Address", ip),
                ("WARC-Target-URI", url)], http_request(host, "/" + path))
    warc.write([("WARC-Type", "response"), ("WARC-Date", date), ("WARC-Record-ID", response_id),
                ("Content-Type", "application/http; msgtype=response"),
                ("WARC-Warcinfo-ID", info_id), ("WARC-Concurrent-To", request_id),
                ("WARC-IP-Address", ip), ("WARC-Target-URI", url),
                ("WARC-Payload-Digest", sha1_base32(payload)),
                ("WARC-Block-Digest", sha1_base32(response)),
                ("WARC-Identified-Payload-Type", "text/html")], response)
    block = "".join(f"{k}: {v}\r\n" for k, v in metadata.items()).encode("utf-8")
    warc.write([("WARC-Type", "metadata"), ("WARC-Date", date), ("WARC-Record-ID", metadata_id),
                ("Content-Type", "application/warc-fields"), ("WARC-Warcinfo-ID", info_id),
                ("WARC-Concurrent-To", response_id), ("WARC-Target-URI", url)], block)


def write_conversion(wet: WarcWriter, rec_id: str, refers_to: str, when: datetime, url: str,
                     text: str) -> None:
    """A WET `conversion` record: the page's visible text, pointing at its response record."""
    block = text.encode("utf-8")
    wet.write([("WARC-Type", "conversion"), ("WARC-Target-URI", url),
               ("WARC-Date", warc_date(when)), ("WARC-Record-ID", rec_id),
               ("WARC-Refers-To", refers_to), ("WARC-Block-Digest", sha1_base32(block)),
               ("Content-Type", "text/plain")], block)
