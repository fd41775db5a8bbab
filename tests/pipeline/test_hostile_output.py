"""Issue 22, row 9: `inspect doc` prints data from the build without its control characters."""

from __future__ import annotations

import json

from crawl2gpt.cli import main
from crawl2gpt.core.shards import read_documents
from crawl2gpt.inspect_cli import terminal_safe
from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import BuildConfig, SourceConfig

URL = "http://evil.example/\x1b[2J\x1b[31mred\x1b]0;title\x07\r\nKEPT fake line\x9b1m"


def test_control_characters_are_shown_not_sent():
    assert terminal_safe("a\x1b[31mb\tc\x7fd\x9be") == "a\\x1b[31mb\\x09c\\x7fd\\x9be"
    assert terminal_safe("plain ünïcode · text") == "plain ünïcode · text"


def test_inspect_doc_of_a_url_with_terminal_escapes(tmp_path, capsys):
    inputs = tmp_path / "in.jsonl"
    inputs.write_text(json.dumps({"url": URL, "text": "a document long enough " * 10}) + "\n")
    out = tmp_path / "out"
    manifest = run_build(BuildConfig([SourceConfig("web", "raw", [str(inputs)], "jsonl")]),
                         str(out)).manifest
    shard = manifest["sources"]["web"]["shards"][0]["path"]
    doc, = read_documents(str(out / shard))
    assert doc.url == URL
    assert main(["inspect", "doc", doc.id, "--build", str(out)]) == 0
    printed = capsys.readouterr().out
    assert not any(c in printed for c in "\x1b\x07\r\x9b")
    assert "  url: http://evil.example/\\x1b[2J\\x1b[31mred\\x1b]0;title\\x07\\x0d\\x0aKEPT " \
           "fake line\\x9b1m\n" in printed
