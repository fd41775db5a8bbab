"""Shared fixtures of the mixing tests: real texts and tiktoken's own `r50k_base` encoder."""

import gzip
import hashlib
import json

import pytest

# tiktoken 0.14.0 (tiktoken_ext/openai_public.py, `r50k_base()`) pins this URL and sha256.
R50K_URL = "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken"
R50K_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"

ODD_TEXTS = [
    "Hello world",
    "",
    " ",
    "\n\n\n",
    "trailing spaces   \n  \t\tand tabs\t\n",
    "\r\nWindows\r\nline ends\r\n",
    "non\u00a0breaking\u2009thin\u3000ideographic spaces",
    "emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵",
    "combining: e\u0301 a\u0308 \u0915\u094d\u0937",
    "naïve café — 東京 😀 don't I'll we've",
    "literal separator inside a document: <|endoftext|> stays text",
    "'s 're 've 'm 'll 'd 'S 'RE apostrophes",
    "12345678901234567890 numbers 3.14159 1,000,000",
    "\ufeffBOM at start, zero\u200bwidth space, soft\u00adhyphen",
    "русский текст, ελληνικά, עברית, العربية, हिन्दी, 한국어",
]


@pytest.fixture(scope="session")
def gpt2_dir(shared_data):
    return shared_data / "tokenizers" / "gpt2"


@pytest.fixture(scope="session")
def gpt2_tokenizers(gpt2_dir):
    """The GPT-2 files loaded once per form."""
    from crawl2gpt.core.tokenizer import FORMS, Tokenizer
    return {kind: Tokenizer.from_path(gpt2_dir, kind) for kind in FORMS}


@pytest.fixture(scope="session")
def r50k_reference(gpt2_dir, tmp_path_factory):
    """tiktoken's `get_encoding("r50k_base")`, served from a cache seeded with the local file.

    tiktoken reads its download cache (TIKTOKEN_CACHE_DIR/sha1(url)) and accepts the file only
    if its sha256 equals the one it pins for OpenAI's original; on a mismatch it would try the
    network and fail. So this is tiktoken's own r50k_base, built offline.
    """
    import tiktoken

    data = (gpt2_dir / "r50k_base.tiktoken").read_bytes()
    assert hashlib.sha256(data).hexdigest() == R50K_SHA256
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    (cache / hashlib.sha1(R50K_URL.encode()).hexdigest()).write_bytes(data)
    mp = pytest.MonkeyPatch()
    mp.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    try:
        enc = tiktoken.get_encoding("r50k_base")
    finally:
        mp.undo()
    assert enc.n_vocab == 50257 and enc.eot_token == 50256
    return enc


@pytest.fixture(scope="session")
def real_texts(shared_data):
    """About 400 real texts: C4 (en), multilingual page text, two books (BOM, CRLF), odd ones."""
    cc = shared_data / "commoncrawl"
    with gzip.open(cc / "c4" / "c4-sample.00000-of-00001.json.gz", "rt", encoding="utf-8") as f:
        c4 = [json.loads(line)["text"] for _, line in zip(range(150), f)]
    cc_text_file = cc / "cc_text" / "CC-MAIN-20190717121559-20190717143559-00140.dolma.jsonl.gz"
    with gzip.open(cc_text_file, "rt", encoding="utf-8") as f:
        cc_text = [json.loads(line)["text"] for _, line in zip(range(150), f)]
    books = []
    for name in ("pg1342.txt", "Candide.txt"):  # English with BOM + CRLF; French
        with open(shared_data / "books" / name, encoding="utf-8", newline="") as f:
            book = f.read()
        books.append(book[:200_000])
        books += book.split("\r\n\r\n")[100:140]
    return c4 + cc_text + books + ODD_TEXTS
