"""TokenizeDocuments in Beam: rows equal tiktoken r50k_base's ids, same in-memory and 2 workers."""


import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from crawl2gpt.core.config import ConfigError
from crawl2gpt.core.records import Document
from crawl2gpt.mixing.config import TokenizeConfig
from crawl2gpt.mixing.transforms import TokenizeDocuments

MULTI = ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"]


def row_key(row):
    return row["id"], row["source"], row["tokens"].dtype.name, tuple(int(t) for t in row["tokens"])


def rejected_key(r):
    return r.doc_id, r.stage, r.reason, r.detail["char_offset"]


@pytest.fixture(scope="module")
def documents(real_texts):
    docs = [Document.create("c4" if i % 2 else "books", t, record_id=str(i))
            for i, t in enumerate(real_texts[::8])]
    bad = Document.create("c4", "half a pair \ud83d here", record_id="bad")
    return docs, bad


@pytest.mark.parametrize("options", [[], MULTI], ids=["in-memory", "multi-processing"])
def test_rows_match_reference_and_bad_unicode_is_rejected(options, documents, gpt2_dir,
                                                          r50k_reference):
    docs, bad = documents
    want = [(d.id, d.source, "uint16", tuple(r50k_reference.encode_ordinary(d.text)) + (50256,))
            for d in docs]
    config = TokenizeConfig(tokenizer=str(gpt2_dir), tokenizer_kind="openai")
    with TestPipeline(options=PipelineOptions(options)) as p:
        rows, rejected = (p | beam.Create([*docs, bad])
                          | TokenizeDocuments(config, build_config=None))
        assert_that(rows | "RowKey" >> beam.Map(row_key), equal_to(want), label="Rows")
        assert_that(rejected | "RejectedKey" >> beam.Map(rejected_key),
                    equal_to([(bad.id, "tokenize", "tokenize_invalid_unicode", 12)]),
                    label="Rejected")


def test_config_validation():
    assert TokenizeConfig().weights == "by_size"  # default-constructible
    with pytest.raises(ConfigError, match="tokenize.weights"):
        TokenizeConfig(weights="by_bytes")
    with pytest.raises(ConfigError, match="tokenize.tokenizer_kind"):
        TokenizeConfig(tokenizer_kind="spm")
    with pytest.raises(ConfigError, match="tokenize.row_group_bytes"):
        TokenizeConfig(row_group_bytes=0)
    with pytest.raises(ConfigError, match="no tokenizer path"):
        TokenizeDocuments(TokenizeConfig())
