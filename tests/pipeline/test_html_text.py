"""HTML → text: `full` keeps the whole visible page, `main` the article; bad input never raises."""

import gzip
import json
import statistics

import pytest
import trafilatura
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

from crawl2gpt.pipeline.sources.html_text import extract_text
from crawl2gpt.pipeline.sources.text_metrics import token_f1

ARTICLE = [
    "The river rose three metres overnight, flooding the lower town, the market and the old mill.",
    "Volunteers, most of them students, filled sandbags until dawn, while the council opened "
    "the school as a shelter.",
    "By noon the water had started to fall, and the first families, tired but safe, went home.",
]
PAGE = f"""<html><head><title>Flood</title><style>p {{color: red}}</style></head><body>
<div class="site_header"><nav><a href="/">Home</a> | <a href="/news">News</a> |
  <a href="/sport">Sport</a></nav>
  <div class="content"><article>
    <h1>Flood in the valley</h1>
    {"".join(f"<p>{p}</p>" for p in ARTICLE)}
    <ul><li>Shelter: the school on Mill Road, open day and night.</li>
        <li>Emergency line: call the council, any time, for help.</li></ul>
  </article></div>
</div>
<aside class="sidebar"><h3>Related</h3><ul><li><a href="/a">Storm warning for Friday</a></li>
  <li><a href="/b">Bridge closed for repairs</a></li></ul></aside>
<footer>Copyright 2024 Valley News. All rights reserved.</footer>
<script>var tracking = "never visible";</script>
</body></html>"""
# Text a reader sees outside the article: the menu, the related links, the footer.
BOILERPLATE = ["Sport", "Storm warning for Friday", "Bridge closed", "All rights reserved"]


def test_main_keeps_the_article_and_drops_navigation_sidebar_and_footer():
    # The article sits inside a wrapper named `site_header`, where plain resiliparse
    # `main_content=True` (class-name rules on every level) loses the whole article.
    text = extract_text(PAGE, mode="main")
    for paragraph in ARTICLE:
        assert paragraph in text
    assert "Shelter: the school on Mill Road" in text  # lists inside the article stay
    for furniture in BOILERPLATE:
        assert furniture not in text
    assert "tracking" not in text


def test_full_keeps_everything_visible_but_not_scripts_or_styles():
    text = extract_text(PAGE, mode="full")
    for visible in [*ARTICLE, *BOILERPLATE, "Home", "Flood in the valley"]:
        assert visible in text
    assert "tracking" not in text and "color: red" not in text


@pytest.mark.parametrize("mode", ["full", "main"])
def test_bad_input_never_raises(mode):
    # Latin-1 "café" (0xE9) under a charset name that does not exist: detection takes over.
    assert "café au lait" in extract_text(b"<p>caf\xe9 au lait</p>", mode, charset="no-such-set")
    # Invalid UTF-8 bytes declared as UTF-8: decoding falls back, the valid words survive.
    broken = b"<html><body><p>good words \xff\xfe\x80 still here</p></body></html>"
    assert "still here" in extract_text(broken, mode, charset="utf-8")
    for empty in (b"", "", "<html></html>", "<body></body>", "<" * 1000):
        assert isinstance(extract_text(empty, mode), str)


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="extract mode"):
        extract_text("<p>x</p>", mode="article")


def test_main_is_as_good_as_the_peers_on_real_readability_pages(shared_data):
    # Ten real pages, every tenth real page of index.jsonl in name order: a spread of sites
    # chosen by position, not by score. The bar comes from the peers on the same pages: the
    # issue asks for the better peer - 0.01 on all 130 pages (bench/extraction_quality.py);
    # on a 10-page sample we allow 0.02 for sampling noise.
    folder = shared_data / "webpages" / "readability"
    index = [json.loads(line) for line in (folder / "index.jsonl").read_text().splitlines()]
    names = [entry["name"] for entry in index if not entry["synthetic"]][::10]
    assert len(names) == 10
    scores = {"ours": [], "trafilatura": [], "resiliparse": []}
    for name in names:
        html = gzip.decompress((folder / name / "source.html.gz").read_bytes()).decode("utf-8")
        expected = (folder / name / "expected.txt").read_text(encoding="utf-8")
        outputs = {
            "ours": extract_text(html, mode="main"),
            "trafilatura": trafilatura.extract(html, include_comments=False) or "",
            "resiliparse": extract_plain_text(HTMLTree.parse(html), main_content=True),
        }
        for extractor, text in outputs.items():
            scores[extractor].append(token_f1(text, expected))
    means = {extractor: statistics.fmean(values) for extractor, values in scores.items()}
    assert means["ours"] >= max(means["trafilatura"], means["resiliparse"]) - 0.02, means
