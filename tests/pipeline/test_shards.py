import hashlib

import pyarrow.parquet as pq

from crawl2gpt.core.records import Document
from crawl2gpt.core.shards import (
    DOCUMENT_SCHEMA,
    ShardConfig,
    bucket_of,
    document_row,
    parquet_bytes,
    write_bucket,
)


def _rows(n, size=100):
    docs = [Document.create("s", f"doc {i} " + "x" * size) for i in range(n)]
    return sorted((document_row(d) for d in docs), key=lambda r: r["id"])


def test_same_rows_give_identical_bytes():
    config = ShardConfig()
    assert parquet_bytes(_rows(50), DOCUMENT_SCHEMA, config) == \
        parquet_bytes(_rows(50), DOCUMENT_SCHEMA, config)


def test_files_rotate_by_size_and_row_groups_follow_bytes(tmp_path):
    # 40 rows of ~1,007 text bytes; files rotate past 10,000 bytes → 10 rows per file
    # (the 10th row crosses the limit), row groups close at 3,000 bytes → 3 rows per group.
    written = {}
    config = ShardConfig(target_file_bytes=10_000, row_group_bytes=3_000)
    reports = write_bucket(_rows(40, 1000), kind="documents", source="s", stage=None,
                           relative_dir="documents/s", basename="b0000", config=config,
                           write_file=written.__setitem__)
    assert [r.rows for r in reports] == [10, 10, 10, 10]
    assert [r.path for r in reports] == [f"documents/s/b0000-{i:04d}.parquet" for i in range(4)]
    path = tmp_path / "f.parquet"
    path.write_bytes(written[reports[0].path])
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3, 3, 3, 1]
    assert reports[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    ids = pq.read_table(path).column("id").to_pylist()
    assert ids == sorted(ids)


def test_bucket_depends_on_id_only():
    assert bucket_of("abc", 7) == bucket_of("abc", 7)
    counts = [0] * 4
    for i in range(4000):
        counts[bucket_of(f"id-{i}", 4)] += 1
    assert all(900 < c < 1100 for c in counts)  # roughly uniform: 1000 ± 3 sigma (~27)
