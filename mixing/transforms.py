"""Beam wiring of the tokenise step: `PCollection[Document]` -> token rows + rejected rows.

A token row is `{"id": str, "source": str, "tokens": np.ndarray}` (ids in the tokenizer's id
type, end-of-text last), ready for `mixing.token_shards.write_token_shard`. Documents whose text
is not valid Unicode (lone surrogates, which tiktoken would silently replace) are rejected
with `tokenize_invalid_unicode`, so the round trip text -> ids -> text stays exact.
"""

from __future__ import annotations

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from mixing.config import TokenizeConfig
from mixing.tokenizer import Tokenizer
from pipeline.records import Document, Rejected

STAGE = "tokenize"


def invalid_unicode_at(text: str) -> int | None:
    """Offset of the first character UTF-8 cannot encode (a lone surrogate), else None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return e.start
    return None


class TokenizeBatchFn(beam.DoFn):
    """Encodes a batch of documents with one tokenizer per worker (loaded in `setup`)."""

    def __init__(self, tokenizer_path: str, tokenizer_kind: str):
        self._path = tokenizer_path
        self._kind = tokenizer_kind
        self._tokenizer: Tokenizer | None = None
        self._documents = Metrics.counter(STAGE, "documents")
        self._tokens = Metrics.counter(STAGE, "tokens")

    def setup(self) -> None:
        self._tokenizer = Tokenizer.from_path(self._path, self._kind)

    def process(self, docs: list[Document]):
        good = []
        for doc in docs:
            offset = invalid_unicode_at(doc.text)
            if offset is None:
                good.append(doc)
            else:
                yield beam.pvalue.TaggedOutput("rejected", Rejected.of_document(
                    doc, stage=STAGE, reason="tokenize_invalid_unicode", char_offset=offset))
        dtype = self._tokenizer.id_dtype
        for doc, ids in zip(good, self._tokenizer.encode_batch([d.text for d in good])):
            self._documents.inc()
            self._tokens.inc(len(ids))
            yield {"id": doc.id, "source": doc.source, "tokens": np.array(ids, dtype=dtype)}


class TokenizeDocuments(beam.PTransform):
    """Documents -> (token rows, rejected); each document's ids depend on its text only."""

    def __init__(self, config: TokenizeConfig, build_config=None):
        super().__init__()
        self._config = config
        self._tokenizer_path = config.require_tokenizer()  # fail at construction, not mid-run

    def expand(self, docs):
        cfg = self._config
        out = (docs
               | "BatchDocuments" >> beam.BatchElements(min_batch_size=1,
                                                        max_batch_size=cfg.batch_size)
               | "TokenizeBatch" >> beam.ParDo(
                   TokenizeBatchFn(self._tokenizer_path, cfg.tokenizer_kind)
               ).with_outputs("rejected", main="rows"))
        return out.rows, out.rejected
