"""Line cleanup removes the navigation of real web pages and keeps their article paragraphs.

Pages are Mozilla Readability's test pages (`webpages/readability/`), as whole-page text
(`extract_text(mode="full")`, then the build's normalisation). `expected.txt` is Readability's
article text: every expected paragraph of 8 words or more that appears as a line of the page
must survive. The navigation lines below were picked by reading bbc-1's page text.
"""

import pytest

from crawl2gpt.quality_filter.heuristics_config import LineCleanupConfig
from crawl2gpt.quality_filter.line_cleanup import (
    HOST_REPEATED,
    clean_text,
    distinct_line_keys,
    host_of,
    line_key,
)
from tests.quality_filter.heuristics_data import readability_page

# Read off the bbc-1 page text: the site menu ("BBC navigation"), the accessibility links and
# the footer ("Explore the BBC").
BBC_NAVIGATION = [
    "• Skip to content", "• Accessibility Help", "Sign in", "BBC navigation", "• Sport",
    "• Weather", "• CBeebies", "News navigation", "• Entertainment & Arts", "• World Home",
    "• Market Data", "• Terms of Use", "• Privacy Policy", "• Cookies", "• Parental Guidance",
    "Copyright © 2015 BBC. The BBC is not responsible for the content of external sites. "
    "Read about our approach to external linking.",
]


def article_paragraphs(page_lines: set[str], expected: list[str]) -> list[str]:
    return [p for p in expected if p in page_lines and len(p.split()) >= 8]


def test_bbc_page_loses_its_navigation_and_keeps_the_article(shared_data):
    full, expected = readability_page(shared_data, "bbc-1")
    lines = full.split("\n")
    assert all(nav in lines for nav in BBC_NAVIGATION)  # the hand-picked lines are there
    paragraphs = article_paragraphs(set(lines), expected)
    assert len(paragraphs) >= 25  # the article is in the page text
    cleaned, removed = clean_text(full, LineCleanupConfig())
    kept = set(cleaned.split("\n"))
    assert [nav for nav in BBC_NAVIGATION if nav in kept] == []
    assert [p for p in paragraphs if p not in kept] == []
    # Of 452 page lines about 300 are outside the article; most of them go.
    assert sum(removed.values()) > 150
    assert removed["navigation"] > removed.get("policy", 0) > 0


@pytest.mark.parametrize("name", ["guardian-1", "cnn", "nytimes-1", "wikipedia-3"])
def test_other_pages_keep_every_article_paragraph(shared_data, name):
    full, expected = readability_page(shared_data, name)
    lines = full.split("\n")
    paragraphs = article_paragraphs(set(lines), expected)
    cleaned, removed = clean_text(full, LineCleanupConfig())
    kept = set(cleaned.split("\n"))
    assert paragraphs and [p for p in paragraphs if p not in kept] == []
    outside = [line for line in lines if line and line not in expected]
    assert sum(removed.values()) >= len(outside) / 3  # a third or more of the rest goes


@pytest.mark.parametrize("line, kind", [
    ("Please enable JavaScript to view the comments.", "javascript"),
    ("JavaScript is disabled in your browser.", "javascript"),
    ("We use cookies to give you the best experience. Accept all cookies", "cookie"),
    ("© 2024 Example Media Ltd. All rights reserved.", "policy"),
    ("Privacy Policy | Terms of Service", "policy"),
    ("Home > News > World > Europe", "navigation"),
    ("Read more", "navigation"),
    ("» Next post", "navigation"),
])
def test_boilerplate_lines_are_removed_by_kind(line, kind):
    text = f"An article paragraph that stays in place, written in full sentences.\n{line}"
    cleaned, removed = clean_text(text, LineCleanupConfig())
    assert (cleaned, removed) == (text.split("\n")[0], {kind: 1})


def test_prose_that_mentions_boilerplate_words_stays():
    text = ("Step through JavaScript code and examine or modify its state to track down bugs.\n"
            "The ruling on cookies and consent changed how every European site is built, and "
            "publishers spent the following years rewriting their privacy policy pages to "
            "comply with the new rules on tracking.")
    assert clean_text(text, LineCleanupConfig()) == (text, {})


def test_categories_can_be_switched_off():
    text = "Article line with enough words to stay.\nWe use cookies on this site."
    assert clean_text(text, LineCleanupConfig(categories=["navigation"])) == (text, {})


def test_menu_runs_need_enough_short_lines():
    two = "Long article sentence that is kept as it is.\nNews\nSport\nLong closing sentence here."
    three = two.replace("Sport", "Sport\nWeather")
    assert clean_text(two, LineCleanupConfig())[1] == {}
    cleaned, removed = clean_text(three, LineCleanupConfig())
    assert removed == {"navigation": 3} and "News" not in cleaned
    assert clean_text(three, LineCleanupConfig(menu_run_lines=0)) == (three, {})


def test_host_repeated_lines_by_hand_count():
    # 3 documents of one host share a footer line (in 3 >= host_min_documents): removed there.
    footer = "Subscribe to the Valley Gazette for weekly local news from our team"
    docs = [f"Story {i} about the harvest festival in the valley, told in full.\n{footer}"
            for i in range(3)]
    counts: dict[int, int] = {}
    for doc in docs:
        for key in distinct_line_keys(doc):
            counts[key] = counts.get(key, 0) + 1
    repeated = {k for k, n in counts.items() if n >= LineCleanupConfig().host_min_documents}
    assert repeated == {line_key(footer)}
    cleaned, removed = clean_text(docs[0], LineCleanupConfig(), repeated)
    assert (cleaned, removed) == (docs[0].split("\n")[0], {HOST_REPEATED: 1})


def test_line_keys_ignore_case_and_spacing():
    assert line_key("Follow  US on Twitter ") == line_key("follow us on twitter")
    assert distinct_line_keys("a\n\nA\nb") == {line_key("a"), line_key("b")}


@pytest.mark.parametrize("url, host", [
    ("https://www.BBC.co.uk/news/world", "bbc.co.uk"),
    ("http://news.example.com:8080/a", "news.example.com"),
    ("not a url", None), (None, None), ("http://[::1", None),
])
def test_host_of(url, host):
    assert host_of(url) == host


def test_emptied_text_is_empty():
    assert clean_text("Home\nAbout us\nContact", LineCleanupConfig()) == (
        "", {"navigation": 3})
