"""Token shards and exports: exact round trip, seeded order, row groups, flat formats."""

import hashlib
import json
import random
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawl2gpt.core.tokenizer import Tokenizer
from crawl2gpt.mixing.export import export_megatron, export_nanogpt
from crawl2gpt.mixing.token_shards import (
    ShardError,
    read_token_shard,
    shuffle_bucket,
    shuffle_key,
    write_source_shards,
    write_token_shard,
)


@pytest.fixture(scope="module")
def docs(real_texts):
    """(id, text) pairs: ids are sha1 of the text, as independent of position as the build's."""
    unique = {hashlib.sha1(t.encode()).hexdigest(): t for t in real_texts}
    return sorted(unique.items())


@pytest.fixture(scope="module")
def tokenized(docs, gpt2_dir):
    tok = Tokenizer.from_path(gpt2_dir)
    ids = tok.encode_batch([t for _, t in docs])
    return tok, [(i, np.array(x, dtype=tok.id_dtype)) for (i, _), x in zip(docs, ids)]


def write(rows, out_dir, seed=7, num_files=3, row_group_bytes=16 * 1024):
    return write_source_shards(rows, out_dir, source="web", seed=seed, id_dtype="uint16",
                               row_group_bytes=row_group_bytes, num_files=num_files)


def test_round_trip_gives_back_the_text(docs, tokenized, tmp_path):
    tok, rows = tokenized
    infos = write(rows, tmp_path)
    texts = dict(docs)
    seen = {}
    for info in infos:  # plain pyarrow, no project code
        table = pq.read_table(info.path)
        for row in table.to_pylist():
            assert row["source"] == "web" and row["num_tokens"] == len(row["tokens"])
            assert row["tokens"][-1] == tok.eot_id
            seen[row["id"]] = tok.decode(row["tokens"][:-1])
    assert seen == texts


def test_schema_compression_and_sha256(tokenized, tmp_path):
    infos = write(tokenized[1], tmp_path)
    for info in infos:
        f = pq.ParquetFile(info.path)
        schema = f.schema_arrow
        assert schema.field("id").type == pa.string()
        assert schema.field("source").type == pa.string()
        assert schema.field("tokens").type.value_type == pa.uint16()
        assert schema.field("num_tokens").type == pa.int32()
        assert f.metadata.row_group(0).column(2).compression == "ZSTD"
        with open(info.path, "rb") as fh:
            assert info.sha256 == hashlib.sha256(fh.read()).hexdigest()
    assert sum(i.num_documents for i in infos) == len(tokenized[1])


def test_order_is_seeded_hash_not_arrival(tokenized, tmp_path):
    rows = tokenized[1]
    shuffled_input = rows[:]
    random.Random(0).shuffle(shuffled_input)
    a, b = write(rows, tmp_path / "a"), write(shuffled_input, tmp_path / "b")
    assert [i.sha256 for i in a] == [i.sha256 for i in b]  # same bytes whatever the order in
    c = write(rows, tmp_path / "c", seed=8)
    assert [i.sha256 for i in a] != [i.sha256 for i in c]
    # The documented order, recomputed here: 8-byte blake2b of "seed:id", big-endian, files
    # cut into equal key ranges, read in name order.
    key = {i: int.from_bytes(hashlib.blake2b(f"7:{i}".encode(), digest_size=8).digest(), "big")
           for i, _ in rows}
    read = [doc_id for info in a for doc_id, _, _ in read_token_shard(info.path)]
    assert read == sorted(key, key=lambda i: (key[i], i))
    assert all(shuffle_key(7, i) == k for i, k in key.items())
    assert [shuffle_bucket(k, 3) for k in (0, 2**64 // 3 - 1, 2**64 // 3 + 1, 2**64 - 1)] == [
        0, 0, 1, 2]


def test_row_groups_hold_at_least_the_configured_bytes(tokenized, tmp_path):
    rows = tokenized[1]
    (info,) = write(rows, tmp_path, num_files=1, row_group_bytes=64 * 1024)
    meta = pq.ParquetFile(info.path).metadata
    assert meta.num_row_groups == info.num_row_groups > 3
    group_tokens = [sum(pq.ParquetFile(info.path).read_row_group(g, columns=["num_tokens"])
                        .column(0).to_pylist()) for g in range(meta.num_row_groups)]
    longest = max(r[1].size for r in rows)
    assert all(64 * 1024 <= 2 * n < 64 * 1024 + 2 * longest for n in group_tokens[:-1])
    assert sum(group_tokens) == sum(r[1].size for r in rows) == info.num_tokens


def test_ids_outside_the_id_type_are_refused(tmp_path):
    with pytest.raises(ShardError, match="70000 outside uint16"):
        write_token_shard([("d", np.array([1, 70000]))], tmp_path / "x.parquet", source="s",
                          seed=0, id_dtype="uint16", row_group_bytes=1024)
    with pytest.raises(ShardError, match="no documents"):
        write([], tmp_path)


def test_exports_read_back_with_plain_numpy(tokenized, tmp_path):
    rows = tokenized[1]
    paths = [i.path for i in write(rows, tmp_path / "shards")]
    want = [tokens for info_path in paths for _, _, tokens in read_token_shard(info_path)]

    nano = export_nanogpt(paths, tmp_path / "train.bin")
    flat = np.memmap(tmp_path / "train.bin", dtype=np.uint16, mode="r")
    assert np.array_equal(flat, np.concatenate(want))
    assert json.loads((tmp_path / "train.bin.json").read_text())["num_tokens"] == flat.size
    assert nano.num_documents == len(rows)

    export_megatron(paths, tmp_path / "web_text_document")
    idx = (tmp_path / "web_text_document.idx").read_bytes()
    # Layout of Megatron-LM's _IndexWriter (megatron/core/datasets/indexed_dataset.py).
    assert idx[:9] == b"MMIDIDX\x00\x00"
    version, code, n_seq, n_doc = struct.unpack("<QBQQ", idx[9:34])
    assert (version, code, n_seq, n_doc) == (1, 8, len(rows), len(rows) + 1)
    lengths = np.frombuffer(idx, np.int32, n_seq, 34)
    pointers = np.frombuffer(idx, np.int64, n_seq, 34 + 4 * n_seq)
    doc_idx = np.frombuffer(idx, np.int64, n_doc, 34 + 12 * n_seq)
    assert len(idx) == 34 + 12 * n_seq + 8 * n_doc
    assert np.array_equal(doc_idx, np.arange(n_doc))
    data = np.memmap(tmp_path / "web_text_document.bin", dtype=np.uint16, mode="r")
    got = [np.asarray(data[p // 2: p // 2 + n]) for p, n in zip(pointers, lengths)]
    assert all(np.array_equal(g, w) for g, w in zip(got, want)) and len(got) == len(want)


def test_an_empty_bucket_is_a_valid_empty_file(tmp_path):
    info = write_token_shard([], tmp_path / "empty.parquet", source="s", seed=0,
                             id_dtype="uint32", row_group_bytes=1024)
    table = pq.read_table(info.path)
    assert table.num_rows == 0 and info.num_documents == 0
    assert table.schema.field("tokens").type.value_type == pa.uint32()
