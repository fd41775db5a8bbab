from crawl2gpt.core.records import Document, Rejected
from crawl2gpt.pipeline.config import NormalizeConfig
from crawl2gpt.pipeline.normalize import normalize_document, normalize_text


def test_nfc_composes_combining_marks():
    # "e" + COMBINING ACUTE ACCENT (U+0301) is one "é" (U+00E9) in NFC.
    assert normalize_text("caf\u0065\u0301") == "caf\u00e9"


def test_controls_stripped_and_whitespace_tidied():
    raw = "\ufeffHello\x00 \t world\u00a0 !\r\n\r\n\r\n\r\nNext\x0cline  \n  end\x1b"
    assert normalize_text(raw) == "Hello world !\n\nNext\nline\nend"


def test_lone_surrogates_from_bad_bytes_are_dropped():
    text = b"ok \xff bytes".decode("utf-8", "surrogateescape")
    assert normalize_text(text) == "ok bytes"
    normalize_text(text).encode("utf-8")  # must be encodable for Parquet


def test_idempotent():
    raw = " a\u0301  b \n\n\n\n c\u2028d "
    once = normalize_text(raw)
    assert normalize_text(once) == once == "\u00e1 b\n\nc\nd"


def test_length_bounds_reject_with_reason():
    config = NormalizeConfig(min_chars=10, max_chars=20)
    short = normalize_document(Document.create("s", "tiny   "), config)
    long = normalize_document(Document.create("s", "x" * 21), config)
    ok = normalize_document(Document.create("s", "  exactly ten!  "), config)
    assert isinstance(short, Rejected) and short.reason == "normalize_too_short"
    assert short.detail["chars"] == 4
    assert isinstance(long, Rejected) and long.reason == "normalize_too_long"
    assert isinstance(ok, Document) and ok.text == "exactly ten!"
