from crawl2gpt.core.records import Document
from crawl2gpt.pipeline.exact_dedup import decide, dedup_key, key_row, previous_key_row


def test_earliest_crawl_then_smallest_id_survives():
    a = Document(id="b" * 32, source="s", text="same", crawl_date="2020-01-02")
    b = Document(id="c" * 32, source="s", text="same", crawl_date="2020-01-01")
    c = Document(id="a" * 32, source="s", text="same", crawl_date="2020-01-01")
    parts = {a.id: "p1", b.id: "p2", c.id: "p1"}
    for order in ([a, b, c], [c, b, a], [b, a, c]):
        rows = [key_row(d, parts[d.id], "global") for d in order]
        assert len({row["key"] for row in rows}) == 1
        removals, index_row = decide(rows)
        # earliest date; between b and c the smaller id: c survives, a and b go
        assert sorted((r.doc_id, r.part) for r in removals) == [(a.id, "p1"), (b.id, "p2")]
        assert {r.detail["kept_id"] for r in removals} == {c.id}
        assert {r.reason for r in removals} == {"exact_dedup_duplicate"}
        assert index_row == {"key": dedup_key(c, "global"), "doc_id": c.id, "source": "s"}


def test_a_text_in_a_previous_build_removes_the_survivor_too():
    a = Document(id="a" * 32, source="s", text="same")
    b = Document(id="b" * 32, source="s", text="same")
    key = dedup_key(a, "global")
    previous = [previous_key_row({"key": key, "doc_id": "z", "source": "s"}, 1),
                previous_key_row({"key": key, "doc_id": "y", "source": "s"}, 0)]
    removals, index_row = decide([key_row(b, "p", "global"), *previous,
                                  key_row(a, "p", "global")], ["old0", "old1"])
    assert [(r.doc_id, r.reason) for r in removals] == [
        (b.id, "exact_dedup_duplicate"), (a.id, "exact_dedup_previous_build")]
    assert removals[1].detail == {"previous_id": "y", "previous_build": "old0"}
    assert index_row is None


def test_previous_rows_alone_remove_nothing():
    assert decide([previous_key_row({"key": "k", "doc_id": "y", "source": "s"}, 0)]) == ([], None)


def test_scope_source_keeps_one_copy_per_source():
    x = Document.create("web", "text")
    y = Document.create("wiki", "text")
    assert dedup_key(x, "source") != dedup_key(y, "source")
    assert dedup_key(x, "global") == dedup_key(y, "global")
