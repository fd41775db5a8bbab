"""The build's memory does not grow with its input (issue #20): the same kind of corpus at
5 and 20 MB of text, in input files of 1 MB, each built in a fresh process; the peak RSS of
the larger build may exceed the smaller one's by at most 30 %.

Documents stream through the passes one input file per worker and only keys cross shuffles
(`pipeline.passes`), so what a build holds is bounded by a file's row groups and the keys.
"""

import os
import subprocess
import sys

from crawl2gpt.demo.sentences import write_sentence_corpus

CONFIG = """stages = ["rules"]
[[sources]]
name = "c4"
role = "raw"
inputs = ["corpus/*.jsonl"]
format = "jsonl"
"""
C4 = "commoncrawl/c4/c4-sample.00000-of-00001.json.gz"


def peak_rss_mb(cmd: list[str], cwd, log) -> float:
    """Peak resident memory of one child process (ru_maxrss of exactly that child)."""
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, open(log).read()[-3000:]
    return usage.ru_maxrss / 1024


def test_peak_memory_does_not_grow_with_the_input(shared_data, tmp_path):
    peaks = {}
    for mb in (5, 20):
        work = tmp_path / f"c4-{mb}"
        files = write_sentence_corpus(shared_data / C4, mb, work / "corpus", file_mb=1)
        assert len(list(files.glob("*.jsonl"))) >= mb  # equal file sizes at both sizes
        (work / "build.toml").write_text(CONFIG)
        peaks[mb] = peak_rss_mb([sys.executable, "-m", "crawl2gpt.cli", "build", "--config",
                                 "build.toml", "--output", "out"], work, work / "build.log")
        assert (work / "out" / "manifest.json").is_file()
    assert peaks[20] <= 1.3 * peaks[5], peaks
