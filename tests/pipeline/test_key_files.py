"""Key files: every row lands in exactly one range, a range reads back every part's rows."""

from crawl2gpt.core.key_files import EXACT_KEY_SCHEMA, KeyFiles, KeyWriter, num_ranges, range_of


def row(key: str, part: str) -> dict:
    return {"key": key, "crawl_date": "", "doc_id": f"{part}-{key}", "source_file": "",
            "source_offset": -1, "source": "s", "part": part, "build": -1}


def test_rows_of_all_parts_come_back_by_range(tmp_path):
    files = KeyFiles(str(tmp_path), "exact", 4, EXACT_KEY_SCHEMA, ("key",))
    written = []
    for part in ("p2", "p1"):
        writer = KeyWriter(files, part)
        for i in range(50):
            writer.add(row(f"k{i}", part))
            written.append(row(f"k{i}", part))
        writer.close()
    ranges = [list(files.read_range(r)) for r in range(4)]
    assert sorted(map(str, sum(ranges, []))) == sorted(map(str, written))
    for r, rows in enumerate(ranges):
        assert {range_of((x["key"],), 4) for x in rows} <= {r}
        # Both parts' copies of a key share its range; parts are read in name order.
        assert [x["part"] for x in rows] == sorted(x["part"] for x in rows)
    assert all(ranges)  # 50 keys over 4 ranges: none empty (blake2b spreads them)


def test_ranges_grow_with_the_input():
    assert num_ranges(0, 100) == 1
    assert num_ranges(100, 100) == 1
    assert num_ranges(101, 100) == 2
    assert num_ranges(10_000, 100) == 100
