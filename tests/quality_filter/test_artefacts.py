"""Source artefacts are stripped, checked on the real files against their READMEs' hand counts."""

from __future__ import annotations

import re

import pytest

from crawl2gpt.quality_filter.artefacts import strip_artefacts

# books/README.md, column "words between markers" (START line to END line, exclusive). That
# count still includes the "Produced by ..." credits and the "End of the Project Gutenberg ..."
# line, which we also strip, so ours may be lower by those few lines' words.
WORDS_BETWEEN_MARKERS = {"pg1342.txt": 127_357, "43-0.txt": 25_643, "pg4657.txt": 151_761,
                         "829-0.txt": 104_300, "2701-0.txt": 212_813}
MAX_CREDIT_WORDS = 40  # e.g. 2701-0: "Produced by Daniel Lazarus, ..." + "End of Project ..."


@pytest.mark.parametrize("name", sorted(WORDS_BETWEEN_MARKERS))
def test_gutenberg_body_kept_header_and_licence_removed(shared_data, name):
    raw = (shared_data / "books" / name).read_text(encoding="utf-8")
    body = strip_artefacts(raw)
    words = len(body.split())
    assert WORDS_BETWEEN_MARKERS[name] - MAX_CREDIT_WORDS <= words <= WORDS_BETWEEN_MARKERS[name]
    for marker in ("***", "START OF THE PROJECT", "START OF THIS PROJECT", "END OF THE PROJECT",
                   "END OF THIS PROJECT", "Project Gutenberg-tm", "Project Gutenberg License",
                   "FULL LICENSE", "SMALL PRINT", "Release Date", "Release date", "\ufeff", "\r",
                   "Produced by"):
        assert marker not in body, marker


def test_gutenberg_old_format_ends_at_last_line_of_text(shared_data):
    # books/README.md: pg4657 has no END marker; its text ends at "END OF VOLUME I." (line 15069).
    body = strip_artefacts((shared_data / "books/pg4657.txt").read_text(encoding="utf-8"))
    assert body.rstrip().endswith("END OF VOLUME I.")


def test_wikitext_markers_removed_and_joiners_undone(shared_data):
    text = (shared_data / "wikipedia/wikitext-2/test.txt").read_text(encoding="utf-8")
    # wikipedia/README.md: test.txt has 15,218 <unk>, 2,114 @-@, 381 @,@, 522 @.@.
    assert (text.count("<unk>"), text.count(" @-@ "), text.count(" @,@ "),
            text.count(" @.@ ")) == (15_218, 2_114, 381, 522)
    clean = strip_artefacts(text)
    assert not re.search(r"<unk>|@[-,.]@", clean)
    assert "guest-starring" in clean  # the README's example, `guest @-@ starring`
    # Headings lose their `=` markup: the README's first test article is ` = Robert <unk> = `.
    assert "\nRobert\n" in clean and " = Robert" not in clean
    assert not re.search(r"^ ?(= )+.*( =)+ ?$", clean, re.MULTILINE)
    assert not re.search(r"^[ =]*=[ =]*$", clean, re.MULTILINE)  # headings whose title was <unk>


def test_wikiextractor_doc_tags_removed(shared_data):
    text = (shared_data / "wikipedia/wikiextractor/enwiki_featured/AA/wiki_00").read_text(
        encoding="utf-8")
    # wikipedia/README.md: 25 <doc> in this file, 7 <chem> pairs; grep -c confirms both.
    assert text.count("<doc id=") == 25 and text.count("<chem>") == 7
    clean = strip_artefacts(text)
    assert "<doc" not in clean and "</doc>" not in clean and "<chem>" not in clean
    assert "Autism is a developmental disorder" in clean


def test_text_without_markers_is_unchanged():
    text = "A normal page.\nPrice: 5 = 3 + 2, email me@example.com, see <b>bold</b>."
    assert strip_artefacts(text) == text
