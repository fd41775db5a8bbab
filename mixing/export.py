"""`crawl2gpt export-tokens`' core: token shards into the flat formats other trainers read.

- nanoGPT: one flat array of token ids (`train.bin`, uint16 or uint32, documents back to back,
  each ending with end-of-text), read with `np.memmap(path, dtype, mode="r")`; a JSON sidecar
  (`train.bin.json`) gives the dtype and counts (nanoGPT's own `meta.pkl` is a pickle; not
  written).
- Megatron-LM: the `MMapIndexedDataset` pair `PREFIX.bin` / `PREFIX.idx`, index version 1, as
  Megatron-LM's `megatron/core/datasets/indexed_dataset.py` (`_IndexWriter`,
  `IndexedDatasetBuilder.add_document`) writes it: one sequence per document, little-endian:

      b"MMIDIDX\\x00\\x00"  9 bytes        magic
      <Q  version = 1
      <B  dtype code (uint16 = 8, int32 = 4)
      <Q  sequence_count = N
      <Q  document_count = N + 1       (length of document_indices)
      int32[N]   sequence_lengths   (tokens per document)
      int64[N]   sequence_pointers  (byte offset of each document in .bin)
      int64[N+1] document_indices   (0, 1, ..., N)

  Megatron has no uint32 code: ids of vocabularies over 65,536 are written as int32 (code 4),
  as Megatron's own `DType.optimal_dtype` does.

Documents keep the shards' order (files in the given order, rows in file order).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from crawl2gpt.mixing.token_shards import ID_DTYPES, ShardError, read_token_shard

MEGATRON_MAGIC = b"MMIDIDX\x00\x00"
MEGATRON_VERSION = 1
MEGATRON_DTYPE_CODES = {"uint16": 8, "int32": 4}


@dataclass(frozen=True)
class ExportInfo:
    """What was written: files with sha256, the id type, document and token counts."""

    files_sha256: dict[str, str]
    dtype: str
    num_documents: int
    num_tokens: int


def shard_id_dtype(paths: list[Path]) -> str:
    """The one token id type of all `paths` (uint16 or uint32); mixed types are an error."""
    if not paths:
        raise ShardError("no token shards to export")
    found = {str(p): str(pq.read_schema(p).field("tokens").type.value_type) for p in paths}
    dtypes = set(found.values())
    if len(dtypes) != 1 or not dtypes <= set(ID_DTYPES):
        raise ShardError(f"token shards must share one id type of {ID_DTYPES}; got {found}")
    return dtypes.pop()


class _HashingWriter:
    """Appends arrays to a file and hashes the bytes on the way."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._f = open(path, "wb")
        self._h = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self._f.write(data)
        self._h.update(data)

    def close(self) -> str:
        self._f.close()
        return self._h.hexdigest()


def _documents(paths: Iterable[Path]) -> Iterable[np.ndarray]:
    for path in paths:
        for _, _, tokens in read_token_shard(path):
            yield tokens


def export_nanogpt(shard_paths: Iterable[str | Path], out_path: str | Path) -> ExportInfo:
    """All documents' ids back to back in `out_path` (plus `out_path.json`)."""
    paths = [Path(p) for p in shard_paths]
    dtype = shard_id_dtype(paths)
    out = Path(out_path)
    writer = _HashingWriter(out)
    num_docs = num_tokens = 0
    for tokens in _documents(paths):
        writer.write(tokens.astype(dtype, copy=False).tobytes())
        num_docs += 1
        num_tokens += tokens.size
    info = ExportInfo({out.name: writer.close()}, dtype, num_docs, num_tokens)
    sidecar = out.with_name(out.name + ".json")
    sidecar.write_text(json.dumps(asdict(info), indent=2, sort_keys=True) + "\n")
    return info


def export_megatron(shard_paths: Iterable[str | Path], prefix: str | Path) -> ExportInfo:
    """Megatron's `PREFIX.bin` + `PREFIX.idx` (format in the module docstring)."""
    paths = [Path(p) for p in shard_paths]
    dtype = {"uint16": "uint16", "uint32": "int32"}[shard_id_dtype(paths)]
    limit = np.iinfo(dtype).max
    bin_path, idx_path = Path(f"{prefix}.bin"), Path(f"{prefix}.idx")
    writer = _HashingWriter(bin_path)
    lengths: list[int] = []
    for tokens in _documents(paths):
        if tokens.size and int(tokens.max()) > limit:
            raise ShardError(f"token id {int(tokens.max())} does not fit Megatron's {dtype}")
        writer.write(tokens.astype(dtype, copy=False).tobytes())
        lengths.append(tokens.size)
    bin_sha = writer.close()
    seq_lengths = np.asarray(lengths, dtype="<i4")
    pointers = np.zeros(len(lengths), dtype="<i8")
    np.cumsum(seq_lengths[:-1].astype("<i8") * np.dtype(dtype).itemsize, out=pointers[1:])
    doc_indices = np.arange(len(lengths) + 1, dtype="<i8")
    idx = _HashingWriter(idx_path)
    idx.write(MEGATRON_MAGIC + struct.pack("<Q", MEGATRON_VERSION)
              + struct.pack("<B", MEGATRON_DTYPE_CODES[dtype])
              + struct.pack("<Q", len(lengths)) + struct.pack("<Q", len(doc_indices)))
    for array in (seq_lengths, pointers, doc_indices):
        idx.write(array.tobytes())
    return ExportInfo({bin_path.name: bin_sha, idx_path.name: idx.close()}, dtype,
                      len(lengths), int(seq_lengths.sum(dtype=np.int64)))
