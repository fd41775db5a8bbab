"""URL and domain blocklists from local files, one pattern per line.

- Domain list: `example.com` blocks `example.com` and every subdomain (`a.b.example.com`);
  a leading `*.` or `.` is accepted and means the same.
- URL list: a URL blocks that page whatever its scheme (http/https), host case, default port or
  fragment; a trailing `*` makes it a prefix (`https://example.org/private/*`).
- Blank lines and lines starting with `#` are ignored; anything else that is not a valid
  pattern is an error naming the file and line.

A `Blocklist` is plain sets (picklable, shipped to workers); `match(url)` costs one set lookup
per host label plus one per URL prefix pattern length. Plain Python; no Beam.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple
from urllib.parse import unquote, urlsplit

_LABEL = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]")
_OPAQUE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")


class BlocklistError(ValueError):
    """A blocklist file has a line that is not a domain or URL pattern."""


class Match(NamedTuple):
    kind: str
    """`domain` or `url`."""
    pattern: str


def normalize_host(host: str) -> str:
    """Lower case, percent-escapes undone, no trailing dot, IDNA (punycode) for non-ASCII."""
    host = unquote(host).strip().lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return host


def _unreserved(match: re.Match) -> str:
    """A percent-escape decoded when it stands for an unreserved character, else upper-cased."""
    char = chr(int(match.group(1), 16))
    return char if _UNRESERVED.match(char) else match.group(0).upper()


def normalize_url(url: str) -> str | None:
    """The comparable form of a URL: `host[:port]/path?query`, scheme and fragment dropped.

    A URL without a scheme (`evil.com/e`, `evil.com:8080/`) is read as http; the port is kept
    only when it is not the scheme's default (an out-of-range one too: the host still
    matches); escapes of unreserved characters are decoded (RFC 3986 6.2.2). None when there
    is no host.
    """
    url = url.strip()
    if "://" not in url:
        if _OPAQUE.match(url):    # mailto:, javascript:, data: ... name no host
            return None
        url = "http:" + url if url.startswith("//") else "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    netloc = parts.netloc.rpartition("@")[2]
    if netloc.startswith("["):    # IPv6 literal: the port follows the bracket
        host, _, port = netloc.partition("]")
        host, port = host + "]", port.removeprefix(":")
    else:
        host, _, port = netloc.partition(":")
    host = normalize_host(host)
    if not host:
        return None
    if port and port.lstrip("0") != str(_DEFAULT_PORTS.get(parts.scheme.lower())):
        host = f"{host}:{port.lstrip('0') or '0'}"
    path = _ESCAPE.sub(_unreserved, parts.path or "/")
    query = _ESCAPE.sub(_unreserved, parts.query)
    return f"{host}{path}" + (f"?{query}" if query else "")


@dataclass
class Blocklist:
    domains: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    url_prefixes: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._prefix_lengths = sorted({len(p) for p in self.url_prefixes})

    def __len__(self) -> int:
        return len(self.domains) + len(self.urls) + len(self.url_prefixes)

    def match(self, url: str | None) -> Match | None:
        """The pattern that blocks `url`, or None (also for documents without a URL)."""
        if not url:
            return None
        normalized = normalize_url(url)
        if normalized is None:
            return None
        host = normalized.split("/", 1)[0].split(":", 1)[0]
        labels = host.split(".")
        for i in range(len(labels)):
            suffix = ".".join(labels[i:])
            if suffix in self.domains:
                return Match("domain", suffix)
        if normalized in self.urls:
            return Match("url", normalized)
        for length in self._prefix_lengths:
            if normalized[:length] in self.url_prefixes:
                return Match("url", normalized[:length] + "*")
        return None

    def fingerprint(self) -> str:
        """A short hash of the patterns (names takedown outputs; same lists → same name)."""
        h = hashlib.sha256()
        for kind, items in (("d", self.domains), ("u", self.urls), ("p", self.url_prefixes)):
            for item in sorted(items):
                h.update(f"{kind}\t{item}\n".encode())
        return h.hexdigest()[:12]


def _patterns(lines: Iterable[str]) -> Iterable[tuple[int, str]]:
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line


def parse_domains(lines: Iterable[str], name: str = "<domains>") -> set[str]:
    domains = set()
    for number, line in _patterns(lines):
        domain = normalize_host(line.removeprefix("*.").lstrip("."))
        if not _DOMAIN.match(domain):
            raise BlocklistError(f"{name}:{number}: {line!r} is not a domain name")
        domains.add(domain)
    return domains


def parse_urls(lines: Iterable[str], name: str = "<urls>") -> tuple[set[str], set[str]]:
    """(exact URLs, URL prefixes), normalised."""
    urls, prefixes = set(), set()
    for number, line in _patterns(lines):
        is_prefix = line.endswith("*")
        raw = line[:-1] if is_prefix else line
        normalized = normalize_url(raw if "://" in raw else f"http://{raw}")
        if normalized is None:
            raise BlocklistError(f"{name}:{number}: {line!r} is not a URL")
        # A bare host prefix ("example.org*") normalises to "example.org/": its pages only.
        (prefixes if is_prefix else urls).add(normalized)
    return urls, prefixes


def load_blocklist(urls_file: str | None = None, domains_file: str | None = None) -> Blocklist:
    """Read the blocklist files (UTF-8); a missing file is an error naming it."""
    domains: set[str] = set()
    urls: set[str] = set()
    prefixes: set[str] = set()
    if domains_file:
        domains = parse_domains(_read_lines(domains_file), domains_file)
    if urls_file:
        urls, prefixes = parse_urls(_read_lines(urls_file), urls_file)
    return Blocklist(domains, urls, prefixes)


def _read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        raise BlocklistError(f"blocklist file not found: {path}") from None
    except UnicodeDecodeError as e:
        raise BlocklistError(f"{path}: not UTF-8 text ({e})") from None
