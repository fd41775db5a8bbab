"""URL and domain blocklists: subdomains included, look-alikes not, bad lines named."""

import pytest

from crawl2gpt.quality_filter.blocklist import (
    Blocklist,
    BlocklistError,
    Match,
    load_blocklist,
    normalize_url,
    parse_domains,
    parse_urls,
)


@pytest.fixture
def lists(tmp_path):
    domains = tmp_path / "domains.txt"
    domains.write_text("# spam farms\nexample.com\n\n*.Bad.ORG\n.tracker.net\n", encoding="utf-8")
    urls = tmp_path / "urls.txt"
    urls.write_text("https://site.net/page?a=1\nsite.net/private/*\nhttp://whole.org*\n",
                    encoding="utf-8")
    return load_blocklist(str(urls), str(domains))


@pytest.mark.parametrize("url, match", [
    ("http://example.com/x", Match("domain", "example.com")),
    ("https://a.b.EXAMPLE.com:443/y", Match("domain", "example.com")),
    ("https://bad.org", Match("domain", "bad.org")),
    ("https://cdn.tracker.net/p.js", Match("domain", "tracker.net")),
    ("HTTP://SITE.NET/page?a=1#comments", Match("url", "site.net/page?a=1")),
    ("https://site.net/private/2024/notes", Match("url", "site.net/private/*")),
    ("http://whole.org", Match("url", "whole.org/*")),
    ("https://whole.org/any/page", Match("url", "whole.org/*")),
])
def test_blocked(lists, url, match):
    assert lists.match(url) == match


@pytest.mark.parametrize("url", [
    "http://notexample.com/", "http://example.com.evil.io/", "https://site.net/page?a=2",
    "https://site.net/privatex", "http://whole.org.example.io/", None, "", "not a url",
])
def test_not_blocked(lists, url):
    assert lists.match(url) is None


def test_counts_and_fingerprint(lists):
    assert len(lists) == 3 + 1 + 2
    same = Blocklist(parse_domains(["tracker.net", "bad.org", "example.com"]),
                     *parse_urls(["site.net/page?a=1", "site.net/private/*", "whole.org*"]))
    assert same.fingerprint() == lists.fingerprint()  # order and spelling do not matter
    assert Blocklist({"other.com"}).fingerprint() != lists.fingerprint()


def test_url_normalisation():
    assert normalize_url("HTTPS://Example.COM:443") == "example.com/"
    assert normalize_url("http://example.com:8080/a?b=c#d") == "example.com:8080/a?b=c"
    assert normalize_url("mailto:someone") is None


def test_bad_lines_are_named_with_file_and_line(tmp_path):
    bad = tmp_path / "domains.txt"
    bad.write_text("good.com\nnot a domain\n", encoding="utf-8")
    with pytest.raises(BlocklistError, match=r"domains.txt:2: 'not a domain'"):
        load_blocklist(domains_file=str(bad))
    with pytest.raises(BlocklistError, match=r"<urls>:1: 'http://' is not a URL"):
        parse_urls(["http://"])
    with pytest.raises(BlocklistError, match="not found"):
        load_blocklist(urls_file=str(tmp_path / "missing.txt"))
