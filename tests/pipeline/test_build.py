"""End-to-end tests of the build job on small hand-made inputs (test-only line reader)."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from crawl2gpt.core.shards import read_documents
from crawl2gpt.pipeline.build import InputError, run_build
from crawl2gpt.pipeline.config import load_build_config

REPO = Path(__file__).resolve().parents[2]
MULTI = ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"]


def long_line(i: int) -> str:
    """A distinct line of 132 characters (above the default 100-character minimum)."""
    return f"a long enough line of text number {i} with words " * 3


# Hand count for the two files below:
#   a.txt: 4 distinct long lines, 1 duplicate of line 1, 1 short line, 1 BAD, 1 SKIP
#   b.txt: 2 distinct long lines, 1 duplicate of a.txt's line 2, 1 BAD
# → source "web": read 4+1+1 + 2+1 = 9 docs, 2 input rejects, 1 skipped,
#   1 too short, 2 exact duplicates, 6 kept.
A_LINES = [long_line(1), long_line(2), long_line(3), long_line(4), long_line(1),
           "too short", "BAD record", "SKIP me"]
B_LINES = [long_line(5), long_line(6), long_line(2), "BAD again"]


def write_config(tmp_path: Path, extra: str = "", files=None) -> Path:
    files = files or {"a.txt": A_LINES, "b.txt": B_LINES}
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (data / name).write_text("\n".join(lines) + "\n")
    config = tmp_path / "build.toml"
    config.write_text(f"""
[[sources]]
name = "web"
role = "raw"
inputs = ["data/*.txt"]
format = "tests.pipeline.line_reader:read_lines"
[shards]
num_buckets = 3
{extra}
""")
    return config


def shard_hashes(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*.parquet"))}


@pytest.fixture(autouse=True)
def _run_from_repo_root(monkeypatch):
    # Workers of the multi-processing runner import the test reader from the repo root.
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PYTHONPATH", str(REPO))


def test_counts_follow_the_hand_count(tmp_path):
    config = load_build_config(str(write_config(tmp_path)))
    result = run_build(config, str(tmp_path / "out"))
    web = result.manifest["sources"]["web"]
    assert web["documents_read"] == 9
    assert web["rejected_input_records"] == 2
    assert web["skipped_records"] == {"read_skipped_marker": 1}
    assert [(s["stage"], s["removed"], s["kept"]) for s in web["stages"]] == [
        ("normalize", 1, 8), ("exact_dedup", 2, 6)]
    assert web["documents"] == 6
    docs = [d for s in web["shards"] for d in read_documents(str(tmp_path / "out" / s["path"]))]
    assert sorted(d.text for d in docs) == sorted(long_line(i).strip() for i in range(1, 7))
    for shard in web["shards"]:
        data = (tmp_path / "out" / shard["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == shard["sha256"]


def test_rejected_rows_keep_reason_file_and_text(tmp_path):
    config = load_build_config(str(write_config(tmp_path)))
    run_build(config, str(tmp_path / "out"))
    rows = [r for p in (tmp_path / "out" / "rejected").rglob("*.parquet")
            for r in pq.read_table(p).to_pylist()]
    by_reason = {}
    for r in rows:
        by_reason.setdefault(r["reason"], []).append(r)
    assert sorted((k, len(v)) for k, v in by_reason.items()) == [
        ("exact_dedup_duplicate", 2), ("normalize_too_short", 1), ("read_bad_line", 2)]
    bad = sorted((Path(r["source_file"]).name, r["source_offset"])
                 for r in by_reason["read_bad_line"])
    assert bad == [("a.txt", 7), ("b.txt", 4)]  # line numbers of the BAD lines
    assert by_reason["normalize_too_short"][0]["text"] == "too short"
    assert all(json.loads(r["detail"])["kept_id"] for r in by_reason["exact_dedup_duplicate"])


def test_identical_bytes_across_runs_and_runners(tmp_path):
    config = load_build_config(str(write_config(tmp_path)))
    run_build(config, str(tmp_path / "one"))
    run_build(config, str(tmp_path / "two"))
    run_build(config, str(tmp_path / "multi"), MULTI)
    one = shard_hashes(tmp_path / "one")
    assert one and one == shard_hashes(tmp_path / "two") == shard_hashes(tmp_path / "multi")
    manifests = [(tmp_path / d / "manifest.json").read_text() for d in ("one", "two", "multi")]
    assert manifests[0] == manifests[1] == manifests[2]


def test_file_order_does_not_change_output(tmp_path):
    # The same documents spread over files differently give the same kept documents and ids.
    config_a = load_build_config(str(write_config(tmp_path / "x", files={
        "a.txt": A_LINES[:4], "b.txt": B_LINES[:2]})))
    config_b = load_build_config(str(write_config(tmp_path / "y", files={
        "z.txt": B_LINES[:2] + A_LINES[2:4], "a.txt": A_LINES[:2]})))
    ids = []
    for config, out in ((config_a, tmp_path / "x" / "out"), (config_b, tmp_path / "y" / "out")):
        manifest = run_build(config, str(out)).manifest
        ids.append(sorted(d.text for s in manifest["sources"]["web"]["shards"]
                          for d in read_documents(str(out / s["path"]))))
    assert ids[0] == ids[1]


def test_empty_glob_is_a_clear_error(tmp_path):
    config_path = write_config(tmp_path)
    config = load_build_config(str(config_path), ['sources.0.inputs=["data/*.nothing"]'])
    with pytest.raises(InputError, match=r"'web'.*matched no files"):
        run_build(config, str(tmp_path / "out"))


def test_a_failing_reader_is_reported_not_fatal(tmp_path):
    config = load_build_config(str(write_config(tmp_path, files={
        "a.txt": A_LINES[:2] + ["RAISE"] + A_LINES[2:3], "b.txt": B_LINES[:1]})))
    web = run_build(config, str(tmp_path / "out")).manifest["sources"]["web"]
    # The two documents before the failure and b.txt's one are kept; the failure is counted.
    assert web["documents"] == 3
    assert web["rejected_input_reasons"] == {"read_file_failed": 1}


def test_killed_build_leaves_previous_manifest_valid(tmp_path):
    config_path = write_config(tmp_path)
    out = tmp_path / "out"
    run_build(load_build_config(str(config_path)), str(out))
    before = (out / "manifest.json").read_text()
    (tmp_path / "data" / "c.txt").write_text(long_line(9) + "\nSLEEP 60\n")
    proc = subprocess.Popen([sys.executable, "-m", "crawl2gpt.cli", "build", "--config",
                             str(config_path), "--output", str(out)], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(out.glob("_staging-*")) and time.monotonic() < deadline:
        time.sleep(0.2)  # the run is under way once its staging folder is named
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / "manifest.json").read_text() == before
    for shard in manifest["sources"]["web"]["shards"]:
        data = (out / shard["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == shard["sha256"]
    # The next run cleans the killed run's staging folder and commits normally.
    (tmp_path / "data" / "c.txt").write_text(long_line(9) + "\n")
    manifest = run_build(load_build_config(str(config_path)), str(out)).manifest
    assert manifest["sources"]["web"]["documents"] == 7
    assert not list(out.glob("_staging-*"))
