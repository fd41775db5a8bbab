"""Wikipedia readers (WikiExtractor output, pages-articles XML dumps) on the real files.

Expected values come from ../shared/data/wikipedia/README.md or the command written beside them.
"""

from __future__ import annotations

import bz2
from pathlib import Path

import pytest

from crawl2gpt.pipeline.sources.wikipedia import wikitext_to_text
from tests.pipeline.test_text_readers import documents, read_items, rejects, tally

WIKI = Path("wikipedia")
ENWIKI_DUMP = (WIKI / "mediawiki_dump"
               / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
TABLE_DUMP = WIKI / "mediawiki_dump/enwiki-table-markup.xml.bz2"
VIWIKI_XML = WIKI / "wikiextractor/viwiki_sample/test.xml"


# ----------------------------------------------------------------------------- WikiExtractor
@pytest.mark.parametrize("rel, n_docs, n_words", [
    # `grep -c '<doc '` = 25 and 27; words inside docs, title lines included (README).
    ("wikiextractor/enwiki_featured/AA/wiki_00", 25, 165_005),
    ("wikiextractor/enwiki_good/AA/wiki_00", 27, 160_935),
])
def test_wikiextractor_documents_per_file(shared_data, rel, n_docs, n_words):
    items = read_items("wikiextractor", shared_data / WIKI / rel)
    assert tally(items) == {"document": n_docs}
    assert sum(len(d.text.split()) for d in documents(items)) == n_words


def test_wikiextractor_known_document(shared_data):
    """First doc of the featured file: `head -3 enwiki_featured/AA/wiki_00`."""
    path = shared_data / WIKI / "wikiextractor/enwiki_featured/AA/wiki_00"
    autism = read_items("wikiextractor", path)[0]
    assert (autism.url, autism.record_id, autism.meta["title"], autism.source_offset) == (
        "https://en.wikipedia.org/wiki?curid=25", "25", "Autism", 0)
    assert autism.text.startswith("Autism\n\nAutism is a developmental disorder")
    assert "</doc>" not in autism.text and "<doc" not in autism.text


def test_wikiextractor_redirect_stubs_are_rejected_as_empty(shared_data):
    """viwiki: 9 docs (`grep -c '<doc '`); the 3 redirect pages of test.xml (Alexandre De
    Rhodes, ISOC Vietnam, Ca Li: `grep -c '<redirect'` = 3) hold only their title line
    (awk: 6 lines each, doc tags included). Words: 25,819 in the 9 docs (README) minus the
    3 + 2 + 2 title words of the stubs."""
    path = shared_data / WIKI / "wikiextractor/viwiki_sample/text/AA/wiki_00"
    items = read_items("wikiextractor", path)
    assert tally(items) == {"document": 6, "read_empty": 3}
    assert [r.detail["title"] for r in rejects(items)] == [
        "Alexandre De Rhodes", "ISOC Vietnam", "Ca Li"]
    assert sum(len(d.text.split()) for d in documents(items)) == 25_819 - 7


def test_wikiextractor_compressed_and_malformed(shared_data, tmp_path):
    featured = (shared_data / WIKI / "wikiextractor/enwiki_featured/AA/wiki_00").read_bytes()
    packed = tmp_path / "wiki_00.bz2"
    packed.write_bytes(bz2.compress(featured))
    assert tally(read_items("wikiextractor", packed)) == {"document": 25}

    broken = tmp_path / "wiki_01"
    broken.write_bytes(b'stray line\n'
                       b'<doc id="1" url="u1" title="One">\nOne\n\nbody one\n'
                       b'<doc id="2" url="u2" title="Two">\nTwo\n\nbody two\n</doc>\n'
                       b'<doc id="3" url="u3" title="Three">\nThree\n')
    items = read_items("wikiextractor", broken)
    assert [(type(i).__name__, i.reason if hasattr(i, "reason") else i.record_id)
            for i in items] == [("Rejected", "read_text_outside_doc"),
                                ("Rejected", "read_unterminated_doc"), ("Document", "2"),
                                ("Rejected", "read_unterminated_doc")]
    assert items[2].text == "Two\n\nbody two\n"


# ----------------------------------------------------------------------------- XML dumps
@pytest.fixture(scope="module")
def enwiki_items(shared_data):
    """The 206-page enwiki dump, read once (about 3 s: wikitext parsing)."""
    return read_items("wikipedia-xml", shared_data / ENWIKI_DUMP)


def test_dump_articles_redirects_and_namespaces(enwiki_items):
    """README: 206 pages (`bzcat | grep -c '<page>'`), 100 redirects of which 99 in ns 0,
    1 page in ns 4 (a redirect): 106 articles."""
    assert tally(enwiki_items) == {"document": 106, "read_skipped_redirect": 99,
                                   "read_skipped_namespace": 1}
    docs = documents(enwiki_items)
    assert [d.meta["title"] for d in docs[:8]] == [
        "Anarchism", "Autism", "Albedo", "A", "Alabama", "Achilles", "Abraham Lincoln",
        "Aristotle"]  # README's list, in dump order
    assert [d.meta["title"] for d in docs[-3:]] == [
        "American Revolutionary War", "Ampere", "Algorithm"]


def test_dump_article_url_id_and_date(enwiki_items):
    lincoln = next(d for d in documents(enwiki_items) if d.meta["title"] == "Abraham Lincoln")
    # <base>https://en.wikipedia.org/wiki/Main_Page</base> + title with spaces as underscores.
    assert lincoln.url == "https://en.wikipedia.org/wiki/Abraham_Lincoln"
    assert lincoln.record_id == "307"  # `bzcat | grep -A2 '<title>Abraham Lincoln'`
    assert lincoln.crawl_date.startswith("20") and lincoln.crawl_date.endswith("Z")


def test_dump_wikitext_becomes_plain_text(enwiki_items):
    docs = documents(enwiki_items)
    for doc in docs:
        for markup in ("{{", "}}", "[[", "]]", "{|", "|}", "<ref", "Category:", "thumb|", "''"):
            assert markup not in doc.text, (doc.meta["title"], markup)
    anarchism = docs[0]
    assert anarchism.text.startswith(
        "Anarchism\n\nAnarchism is a political philosophy that advocates self-governed "
        "societies based on voluntary institutions.")
    # `bzcat | grep -n '^==[^=]*==$'`: ==Etymology and terminology==, ==History== as lines.
    assert "\nEtymology and terminology\n" in anarchism.text and "\nHistory\n" in anarchism.text


def test_table_markup_dump_without_siteinfo(shared_data):
    """README: 5 articles, no redirects, no <siteinfo> (so no URL unless `base_url` is set)."""
    items = read_items("wikipedia-xml", shared_data / TABLE_DUMP,
                       base_url="https://en.wikipedia.org/wiki/")
    docs = documents(items)
    assert [d.meta["title"] for d in docs] == [
        "Constructive vote of no confidence", "List of Prison Break characters",
        "Academy Award for Best Production Design", "Economy of Estonia", "Brahui language"]
    assert docs[0].url == "https://en.wikipedia.org/wiki/Constructive_vote_of_no_confidence"
    for doc in docs:
        for markup in ("{|", "|}", "|-", "||", "colspan", "align=", "bgcolor"):
            assert markup not in doc.text, (doc.meta["title"], markup)
    assert documents(read_items("wikipedia-xml", shared_data / TABLE_DUMP))[0].url is None


def test_truncated_plain_xml_keeps_its_pages(shared_data):
    """viwiki test.xml (README): 10 pages, no closing </mediawiki>. Hand count (grep on
    `<title>`, `<ns>`, `<redirect`): 3 redirects, 1 page in ns 4, 6 articles, of which
    "Trang Chính" (the main page) is only templates and comes out empty."""
    items = read_items("wikipedia-xml", shared_data / VIWIKI_XML)
    assert tally(items) == {"document": 5, "read_empty": 1, "read_skipped_redirect": 3,
                            "read_skipped_namespace": 1, "read_skipped_truncated_dump": 1}
    assert rejects(items)[0].detail["title"] == "Trang Chính"
    docs = documents(items)
    # <base>https://vi.wikipedia.org/wiki/Trang_Ch%C3%ADnh</base>; "Tiếng Việt" percent-encoded.
    assert docs[1].url == "https://vi.wikipedia.org/wiki/Ti%E1%BA%BFng_Vi%E1%BB%87t"


def test_xml_cut_inside_a_page_rejects_that_page(shared_data, tmp_path):
    xml = (shared_data / VIWIKI_XML).read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(xml[: xml.index("<title>Ohio</title>".encode())])  # inside page 6
    items = read_items("wikipedia-xml", path)
    assert [d.meta["title"] for d in documents(items)] == ["Internet Society", "Tiếng Việt"]
    assert items[-1].reason == "read_truncated_page" and items[-1].source_file == str(path)


def test_corrupt_bz2_dump_keeps_pages_before_and_names_the_file(shared_data, enwiki_items,
                                                                tmp_path):
    """Cut after 400 kB: past the first 900 kB bzip2 block (of 6 MB XML, 1.7 MB packed)."""
    path = tmp_path / "cut.xml.bz2"
    path.write_bytes((shared_data / ENWIKI_DUMP).read_bytes()[:400_000])
    items = read_items("wikipedia-xml", path)
    assert items[-1].reason == "read_corrupt_stream"
    assert str(path) in items[-1].detail["error"] and "bzip2" in items[-1].detail["error"]
    kept = documents(items)
    assert 0 < len(kept) < 106
    assert [d.text for d in kept] == [d.text for d in documents(enwiki_items)[: len(kept)]]


def test_wikitext_to_text_removes_non_prose():
    wikitext = (
        "{{Infobox person|name=X}}'''Ada''' was a [[mathematician|mathematical]] writer."
        "<ref>{{cite book|title=Y}}</ref>\n\n"
        "== Work ==\n"
        "[[File:Ada.jpg|thumb|A portrait]]She wrote [http://example.org notes].\n"
        '{| class="wikitable"\n|-\n| a || b\n|}\n'
        "[[Category:Mathematicians]]"
    )
    assert wikitext_to_text(wikitext, frozenset({"file", "image", "category"})) == (
        "Ada was a mathematical writer.\n\n Work \nShe wrote notes.")  # heading: its own line
