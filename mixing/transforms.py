"""Beam wiring of the tokenise step: `PCollection[Document]` -> token rows + rejected rows.

A token row is `{"id": str, "source": str, "tokens": np.ndarray}` (ids in the tokenizer's id
type, end-of-text last), ready for `mixing.token_shards.write_token_shard`. Documents whose text
is not valid Unicode (lone surrogates, which tiktoken would silently replace) are rejected
with `tokenize_invalid_unicode`, so the round trip text -> ids -> text stays exact.
"""

from __future__ import annotations

import math
import posixpath
import tempfile
from pathlib import Path
from typing import Iterable

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from crawl2gpt.core.beam_utils import SplitByTag
from crawl2gpt.core.config import join_inside
from crawl2gpt.core.files import AtomicFile
from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.core.shards import ShardReport
from crawl2gpt.core.tokenizer import Tokenizer
from crawl2gpt.mixing.config import TokenizeConfig
from crawl2gpt.mixing.token_shards import shuffle_bucket, shuffle_key, write_token_shard

STAGE = "tokenize"


def invalid_unicode_at(text: str) -> int | None:
    """Offset of the first character UTF-8 cannot encode (a lone surrogate), else None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return e.start
    return None


class TokenizeFn(beam.DoFn):
    """Encodes one document with one tokenizer per worker (loaded in `setup`).

    One document per call, not batches: outputs of `finish_bundle` (where a batching DoFn
    flushes) are lost on the Dask runner (docs/scaling.md), and tiktoken encodes one text as
    fast per core as a batch.
    """

    def __init__(self, tokenizer_path: str, tokenizer_kind: str):
        self._path = tokenizer_path
        self._kind = tokenizer_kind
        self._tokenizer: Tokenizer | None = None
        self._documents = Metrics.counter(STAGE, "documents")
        self._tokens = Metrics.counter(STAGE, "tokens")

    def setup(self) -> None:
        self._tokenizer = Tokenizer.from_path(self._path, self._kind)

    def process(self, doc: Document):
        offset = invalid_unicode_at(doc.text)
        if offset is not None:
            yield "rejected", Rejected.of_document(
                doc, stage=STAGE, reason="tokenize_invalid_unicode", char_offset=offset)
            return
        ids = self._tokenizer.encode_batch([doc.text])[0]
        self._documents.inc()
        self._tokens.inc(len(ids))
        yield "rows", {"id": doc.id, "source": doc.source,
                       "tokens": np.array(ids, dtype=self._tokenizer.id_dtype)}


class TokenizeDocuments(beam.PTransform):
    """Documents -> (token rows, rejected); each document's ids depend on its text only."""

    def __init__(self, config: TokenizeConfig, build_config=None):
        super().__init__()
        self._config = config
        self._tokenizer_path = config.require_tokenizer()  # fail at construction, not mid-run

    def document_step(self) -> TokenizeFn:
        """The tokenizer on one document, for the build's final pass."""
        return TokenizeFn(self._tokenizer_path, self._config.tokenizer_kind)

    def expand(self, docs):
        return (docs
                | "Tokenize" >> beam.ParDo(self.document_step())
                | "SplitTokenized" >> SplitByTag("rows", "rejected"))


def token_bytes_of(row: dict) -> tuple[str, int]:
    return row["source"], row["tokens"].nbytes


def key_by_token_file(row: dict, seed: int, target_file_bytes: int,
                      source_bytes: dict[str, int]) -> tuple[tuple[str, int, int], dict]:
    """(source, file index, file count): a source's size sets its file count, the doc's
    shuffle key its file, so files in name order hold one global shuffled order."""
    num_files = max(1, math.ceil(source_bytes[row["source"]] / target_file_bytes))
    index = shuffle_bucket(shuffle_key(seed, row["id"]), num_files)
    return (row["source"], index, num_files), row


class WriteTokenFileFn(beam.DoFn):
    """Write one token shard file into staging; output its report for the manifest."""

    def __init__(self, staging_dir: str, config: TokenizeConfig):
        self._staging_dir = staging_dir
        self._config = config

    def process(self, element) -> Iterable[dict]:
        (source, index, num_files), rows = element
        rows = [(r["id"], r["tokens"]) for r in rows]
        relative = posixpath.join("tokens", source,
                                  f"tokens-{index:05d}-of-{num_files:05d}.parquet")
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / "shard.parquet"
            info = write_token_shard(rows, local, source=source, seed=self._config.seed,
                                     id_dtype=rows[0][1].dtype.name,
                                     row_group_bytes=self._config.row_group_bytes)
            with AtomicFile(join_inside(self._staging_dir, relative)) as f:
                f.write(local.read_bytes())
        yield ShardReport(path=relative, kind="tokens", source=source, rows=info.num_documents,
                          text_bytes=0, file_bytes=info.bytes, sha256=info.sha256,
                          tokens=info.num_tokens).to_dict()


class WriteTokenShards(beam.PTransform):
    """Token rows → per-source shuffled token shards in staging; one report dict per file."""

    def __init__(self, staging_dir: str, config: TokenizeConfig):
        super().__init__()
        self._staging_dir = staging_dir
        self._config = config

    def expand(self, rows):
        cfg = self._config
        source_bytes = (rows
                        | "TokenBytesPerDoc" >> beam.Map(token_bytes_of)
                        | "TokenBytesPerSource" >> beam.CombinePerKey(sum))
        return (rows
                | "KeyByTokenFile" >> beam.Map(key_by_token_file, cfg.seed, cfg.target_file_bytes,
                                               beam.pvalue.AsDict(source_bytes))
                | "GroupByTokenFile" >> beam.GroupByKey()
                | "WriteTokenFile" >> beam.ParDo(WriteTokenFileFn(self._staging_dir, cfg)))
