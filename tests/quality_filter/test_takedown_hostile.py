"""Issue 22, row 6: takedown matches URLs after normalisation and reports what it cannot parse.

Expected forms are from the standards, not from running the code: RFC 3986 6.2.2 (case of
scheme and host, escapes of unreserved characters decoded, default ports), RFC 3492's example
`bücher` = `xn--bcher-kva`, and WHATWG's reading of a scheme-less `host/path` as a host.
"""

from __future__ import annotations

import pytest

from crawl2gpt.quality_filter.blocklist import Blocklist, normalize_url, parse_domains, parse_urls
from crawl2gpt.quality_filter.cli import cmd_takedown
from tests.quality_filter.test_takedown import build, manifest_of

BLOCK = Blocklist(parse_domains(["evil.com", "bücher.example"]),
                  *parse_urls(["http://site.org/a~b", "site.org/private/*"]))


@pytest.mark.parametrize("url, pattern", [
    ("evil.com/e", "evil.com"),                       # no scheme
    ("//evil.com/e", "evil.com"),
    ("http://evil.com:99999/c", "evil.com"),          # port out of range
    ("http://evil%2Ecom/f", "evil.com"),              # escaped dot in the host
    ("HTTP://WWW.EVIL.COM./g", "evil.com"),           # case, trailing dot, subdomain
    ("http://user:pw@evil.com:8080/h", "evil.com"),
    ("http://BÜCHER.example/", "xn--bcher-kva.example"),   # IDNA
    ("http://xn--bcher-kva.example/", "xn--bcher-kva.example"),
    ("https://site.org:443/a%7Eb", "site.org/a~b"),   # %7E is '~', 443 https's default
    ("site.org/a%7eb#frag", "site.org/a~b"),
    ("http://site.org/%70rivate/x", "site.org/private/*"),   # %70 is 'p'
])
def test_hostile_spellings_are_matched(url, pattern):
    match = BLOCK.match(url)
    assert match is not None and match.pattern == pattern, (url, match)


@pytest.mark.parametrize("url", ["http://notevil.com/", "http://evil.com.other.org/",
                                 "http://site.org/a%2Fb", "http://site.org/Private/x"])
def test_other_urls_are_not_matched(url):
    assert BLOCK.match(url) is None


def test_escapes_of_reserved_characters_are_kept_upper_case():
    assert normalize_url("http://h.org/a%2fb") == "h.org/a%2Fb"


def test_unparsable_urls_are_reported(tmp_path, capsys):
    urls = ["evil.com/e", "http://evil.com:99999/c", "http://evil%2Ecom/f", "http://keep.net/k",
            "mailto:someone@evil.com", "http://[::1/broken"]
    out = build(tmp_path, urls)
    (tmp_path / "domains.txt").write_text("evil.com\n")
    args = type("Args", (), {"build": str(out), "urls": None,
                             "domains": str(tmp_path / "domains.txt")})
    assert cmd_takedown(args) == 0
    captured = capsys.readouterr()
    assert "web: 3 documents removed" in captured.out
    assert "web: 2 document URLs could not be parsed and were kept" in captured.err
    manifest = manifest_of(out)
    assert manifest["sources"]["web"]["documents"] == 3
    assert manifest["takedowns"][-1]["unparsed_urls"] == {"web": 2}
