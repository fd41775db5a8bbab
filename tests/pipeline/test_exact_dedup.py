from crawl2gpt.core.records import Document
from crawl2gpt.pipeline.exact_dedup import choose_survivor, dedup_key


def test_earliest_crawl_then_smallest_id_survives():
    a = Document(id="b" * 32, source="s", text="same", crawl_date="2020-01-02")
    b = Document(id="c" * 32, source="s", text="same", crawl_date="2020-01-01")
    c = Document(id="a" * 32, source="s", text="same", crawl_date="2020-01-01")
    for order in ([a, b, c], [c, b, a], [b, a, c]):
        kept, rejects = choose_survivor(order)
        assert kept is c  # earliest date; between b and c the smaller id
        assert sorted(r.doc_id for r in rejects) == [a.id, b.id]
        assert {r.detail["kept_id"] for r in rejects} == {c.id}
        assert {r.reason for r in rejects} == {"exact_dedup_duplicate"}


def test_scope_source_keeps_one_copy_per_source():
    x = Document.create("web", "text")
    y = Document.create("wiki", "text")
    assert dedup_key(x, "source") != dedup_key(y, "source")
    assert dedup_key(x, "global") == dedup_key(y, "global")
