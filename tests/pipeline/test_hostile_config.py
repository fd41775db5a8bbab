"""Issue 22, rows 3, 5 and 11: config mistakes are refused before the build, in one line that
names the file and the key; nothing is written outside the output folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawl2gpt.cli import main
from crawl2gpt.core.config import ConfigError, join_inside
from crawl2gpt.dedup.clean_dirty import write_splits
from crawl2gpt.pipeline.config import load_build_config

GOOD = {"name": '"web"', "role": '"raw"', "inputs": '["in.jsonl"]', "format": '"jsonl"'}


def write(tmp_path: Path, source: dict[str, str] | None = None, tables: str = "") -> Path:
    """A build config over one JSONL file, with source fields replaced by `source` and
    `tables` (top-level keys and tables) before the source."""
    (tmp_path / "in.jsonl").write_text(json.dumps({"text": "a line of text " * 10}) + "\n")
    fields = {**GOOD, **(source or {})}
    config = tmp_path / "build.toml"
    config.write_text(tables + "[[sources]]\n"
                      + "".join(f"{k} = {v}\n" for k, v in fields.items()))
    return config


def refused(capsys, config: Path, *args: str) -> str:
    """Run `crawl2gpt build`; it must exit 2 with one line on stderr and write nothing."""
    out = config.parent / "out"
    assert main(["build", "--config", str(config), "--output", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert not out.exists()
    return err


@pytest.mark.parametrize("name", ['"../../escape"', '"/tmp/abs"', '"a/b"', '".."', '""'])
def test_a_source_name_must_be_a_plain_identifier(tmp_path, capsys, name):
    (tmp_path / "sub").mkdir()
    err = refused(capsys, write(tmp_path / "sub", {"name": name}))
    assert "sources[0].name" in err and "build.toml" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


def test_paths_from_config_or_data_stay_inside_the_output(tmp_path):
    assert join_inside("out", "documents/web/b0000-0000.parquet") == \
        "out/documents/web/b0000-0000.parquet"
    for bad in ("../x", "/etc/x", "a/../../x", "", "C:/x", "gs://b/x"):
        with pytest.raises(ConfigError, match="would leave the output folder"):
            join_inside("out", bad)
    with pytest.raises(ConfigError, match="would leave"):   # a benchmark name from data
        write_splits([{"benchmark": "../../evil"}], str(tmp_path / "splits"))
    assert not (tmp_path.parent / "evil.json").exists()
    err_config = write(tmp_path, tables='stages = []\n[contamination]\n'
                                        'clean_dirty_dir = "../outside"\n')
    with pytest.raises(ConfigError, match="'../outside' would leave"):
        load_build_config(str(err_config))


@pytest.mark.parametrize("source, tables, key", [
    ({"format": '"jsnl"'}, "", "sources[0].format: unknown source format 'jsnl'"),
    ({"format": '"warc"', "options": '{ extract = "everything" }'}, "",
     "sources[0].options.extract: 'everything' is not one of"),
    ({"options": '"x"'}, "", "sources[0].options: expected a table"),
    ({"format": '"nosuchmodule:read"'}, "", "sources[0].format: reader 'nosuchmodule:read'"),
    ({}, "[read]\nmax_record_bytes = -1\n", "read.max_record_bytes: -1 is below the minimum 1"),
    ({}, '[shards]\nnum_buckets = "8"\n', "shards.num_buckets: expected an integer, got '8'"),
    ({"inputs": '"in.jsonl"'}, "", "sources[0].inputs: expected a list of strings"),
    ({}, 'stages = "rules"\n', "stages: expected a list of strings, got 'rules'"),
    ({}, '[normalize]\nmin_chars = "abc"\n', "normalize.min_chars: expected an integer"),
    ({"name": "5"}, "", "sources[0].name: expected a string, got 5"),
])
def test_config_mistakes_are_one_line_naming_file_and_key(tmp_path, capsys, source, tables, key):
    config = write(tmp_path, source, tables)
    err = refused(capsys, config)
    assert key in err and str(config) in err, err


@pytest.mark.parametrize("override, key", [
    ("shards.num_buckets", "is not of the form key.path=value"),
    ("sources.x.name=a", "'sources.x.name' names no settable config value"),
    ("sources.7.name=a", "'sources.7.name' names no settable config value"),
    ("shards.num_buckets.deep=1", "shards.num_buckets: expected an integer, got {'deep': 1}"),
    ("sources.0.name.x=1", "'sources.0.name.x' names no settable config value"),
    ('shards.num_buckets="8"', "shards.num_buckets: expected an integer"),
])
def test_bad_set_is_one_line(tmp_path, capsys, override, key):
    err = refused(capsys, write(tmp_path), "--set", override)
    assert key in err, err


def test_output_path_that_is_a_file(tmp_path, capsys):
    config = write(tmp_path)
    (tmp_path / "out").write_text("not a folder")
    assert main(["build", "--config", str(config), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'out'} is a file, not a folder" in err
    assert (tmp_path / "out").read_text() == "not a folder"


def test_a_build_whose_every_file_fails_exits_non_zero(tmp_path, capsys):
    config = write(tmp_path, {"format": '"tests.pipeline.line_reader:read_lines"',
                              "inputs": '["in*.txt"]'})
    for name in ("in1.txt", "in2.txt"):
        (tmp_path / name).write_text("RAISE\n")
    assert main(["build", "--config", str(config), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "every input file (2) failed to read" in err
    assert not (tmp_path / "out" / "manifest.json").exists()


@pytest.fixture
def truncated_build(tmp_path) -> Path:
    build = tmp_path / "build"
    build.mkdir()
    (build / "manifest.json").write_text('{"format_version": 1, "config": {"sources": [{"na')
    return build


@pytest.mark.parametrize("command", ["inspect build", "inspect doc", "takedown",
                                     "export-tokens", "build --against"])
def test_a_truncated_manifest_is_one_line_naming_it(tmp_path, capsys, truncated_build, command):
    manifest = truncated_build / "manifest.json"
    (tmp_path / "domains.txt").write_text("evil.com\n")
    argv = {"inspect build": ["inspect", "build", str(truncated_build), "--out", "r"],
            "inspect doc": ["inspect", "doc", "0" * 32, "--build", str(truncated_build)],
            "takedown": ["takedown", "--build", str(truncated_build),
                         "--domains", str(tmp_path / "domains.txt")],
            "export-tokens": ["export-tokens", "--build", str(manifest), "--format", "nanogpt",
                              "--out", str(tmp_path / "t.bin")],
            "build --against": ["build", "--config", str(write(tmp_path)), "--output",
                                str(tmp_path / "out"), "--against", str(truncated_build)]}
    assert main(argv[command]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{manifest}: not a build manifest (truncated or not JSON: " in err
    assert "line 1 column" in err
