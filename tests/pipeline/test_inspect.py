"""`crawl2gpt inspect`: the build report's numbers against the manifest and the shards, the
page in a real headless Chromium, and one document's fate for every stage that removes one."""

import argparse
import hashlib
import json
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from crawl2gpt.core.manifest import OpenedBuild
from crawl2gpt.demo.run import run_demo
from crawl2gpt.inspect_cli import add_commands
from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import load_build_config
from crawl2gpt.reports.html_page import word_diff
from crawl2gpt.reports.lookup import trace_document
from crawl2gpt.reports.report import write_build_report

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--enable-logging=stderr",
                  "--v=0", "--window-size=1280,2000"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo build (every stage) and its report: (build dir, report.json, report.html)."""
    out = tmp_path_factory.mktemp("demo")
    run_demo(str(out), [], [], train=False)
    html = write_build_report(str(out / "build"), str(out / "report"))
    return out / "build", json.loads((out / "report" / "report.json").read_text()), Path(html)


def rows_by_reason(build: Path, pattern: str, key: str) -> Counter:
    """Brute force: rejected rows counted by `key` over every shard matching `pattern`."""
    counts: Counter = Counter()
    for path in build.glob(pattern):
        counts.update(pq.read_table(path, columns=[key])[key].to_pylist())
    return counts


def test_report_numbers_equal_the_manifest(demo):
    build, report, _ = demo
    manifest = json.loads((build / "manifest.json").read_text())
    for name, src in manifest["sources"].items():
        steps = report["funnel"][name]["steps"]
        assert steps[0]["documents"] == src["documents_read"] + src["rejected_input_records"]
        assert [(s["step"], s["documents"], s["removed"]) for s in steps[2:]] == [
            (s["stage"], s["kept"], s["removed"]) for s in src["stages"]]
        assert report["funnel"][name]["kept"] == src["documents"]
        assert report["funnel"][name]["tokens"] == manifest["tokens"]["sources"][name]["tokens"]
        # Histograms hold every kept document: lengths per source, token counts summed.
        assert report["lengths"]["characters"][name]["n"] == src["documents"]
        assert report["lengths"]["tokens"][name]["total"] == manifest["tokens"]["sources"][
            name]["tokens"]
    assert report["mixture"] == manifest["tokens"]["mixture"]
    assert report["contamination"] == manifest["contamination"]
    assert report["languages"] == {n: s["languages"] for n, s in manifest["sources"].items()}
    # Reason counts equal both the manifest's and the rejected rows counted in the shards.
    in_report = {r["reason"]: r["count"] for r in report["reasons"]}
    assert in_report == {r: n for s in manifest["sources"]["commoncrawl"]["stages"]
                         for r, n in s["reasons"].items()}
    assert in_report == dict(rows_by_reason(build, "rejected/*/*/*.parquet", "reason"))
    assert all(len(r["samples"]) == min(3, r["count"]) for r in report["reasons"])


class Tables(HTMLParser):
    """The text of every table cell, table by table."""

    def __init__(self):
        super().__init__()
        self.tables, self.cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self.cell)
            self.cell = None


def test_page_tables_show_the_manifest_numbers(demo):
    build, _, html = demo
    manifest = json.loads((build / "manifest.json").read_text())
    parser = Tables()
    parser.feed(html.read_text())
    funnel, mixture = parser.tables[0], next(t for t in parser.tables if t[0][0] == "source"
                                             and "weight in mix" in t[0])
    for name, src in manifest["sources"].items():
        row = next(r for r in funnel if r[0] == name)
        expected = [src["documents_read"] + src["rejected_input_records"], src["documents_read"]]
        expected += [s["kept"] for s in src["stages"]] + [src["documents"]]
        expected += [manifest["tokens"]["sources"][name]["tokens"]]
        assert row[1:] == [f"{n:,}" for n in expected]
    for row in manifest["tokens"]["mixture"]["rows"]:
        assert [row["source"], f"{row['tokens']:,}", f"{row['weight']:.1%}"] in [
            r[:3] for r in mixture]


def test_quality_boundary_and_duplicate_clusters_come_from_the_shards(demo):
    build, report, _ = demo
    quality = report["quality"]
    details = [json.loads(d) for p in build.glob("rejected/quality_filter/*/*.parquet")
               for d in pq.read_table(p, columns=["detail"])["detail"].to_pylist()]
    cutoffs = {d["cutoff"] for d in details}
    assert quality["marker"] == {"kind": "cutoff", "value": cutoffs.pop()} and not cutoffs
    assert [e["score"] for e in quality["boundary"]["removed"]] == sorted(
        (d["score"] for d in details), reverse=True)[:3]
    scores = sorted(s for p in build.glob("documents/commoncrawl/*.parquet")
                    for s in pq.read_table(p, columns=["quality_score"])["quality_score"]
                    .to_pylist())
    assert [e["score"] for e in quality["boundary"]["kept"]] == pytest.approx(scores[:3])
    assert quality["boundary"]["removed"][0]["score"] < quality["marker"]["value"] <= scores[0]
    assert quality["sources"]["commoncrawl"]["removed"]["n"] == in_stage(build, "quality_filter")
    sizes = Counter(json.loads(d)["cluster_id"] for p in build.glob("rejected/fuzzy_dedup/*/*")
                    for d in pq.read_table(p, columns=["detail"])["detail"].to_pylist())
    largest = sorted(sizes.values(), reverse=True)[:len(report["duplicate_clusters"])]
    assert [c["size"] - 1 for c in report["duplicate_clusters"]] == largest
    for cluster in report["duplicate_clusters"]:
        kept = pq.read_table(build / "documents" / "commoncrawl",
                             filters=[("id", "==", cluster["kept_id"])], columns=["text"])
        assert cluster["kept_text"] == kept["text"][0].as_py()


def in_stage(build: Path, stage: str) -> int:
    return sum(pq.read_metadata(p).num_rows for p in build.glob(f"rejected/{stage}/*/*.parquet"))


def test_word_diff_marks_only_the_differing_words():
    left, right = word_diff("the old cat sat <here>", "the black cat sat <here>")
    assert left == 'the <span class="del">old</span> cat sat &lt;here&gt;'
    assert right == 'the <span class="ins">black</span> cat sat &lt;here&gt;'


def console_errors(page: Path, screenshot: Path, tmp_path: Path) -> list[str]:
    """Console messages and uncaught errors of `page` in headless Chromium (which must exist)."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian chromium is needed: apt-get install -y chromium"
    run = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          f"--screenshot={screenshot}", page.resolve().as_uri()],
                         check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert screenshot.stat().st_size > 0
    return [line for line in run.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_report_renders_in_chromium_without_console_errors(demo, tmp_path):
    _, _, html = demo
    text = html.read_text()
    # Self-contained: no script, stylesheet, font or image fetched from anywhere.
    assert not re.search(r"<script|<link|@import|url\(|src=\"(?!data:)", text)
    assert console_errors(html, tmp_path / "report.png", tmp_path) == []


def test_console_check_catches_a_script_error(demo, tmp_path):
    _, _, html = demo
    broken = tmp_path / "broken.html"
    broken.write_text(html.read_text().replace(
        "</body>", "<script>undefinedReportFunction();</script></body>"))
    errors = console_errors(broken, tmp_path / "broken.png", tmp_path)
    assert any("undefinedReportFunction is not defined" in line for line in errors)


def inspect_doc(build: Path, doc_id: str, capsys) -> str:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["inspect", "doc", doc_id, "--build", str(build)])
    assert args.func(args) == 0
    return capsys.readouterr().out


def test_doc_lookup_names_the_stage_that_removed_it(demo, capsys):
    build, _, _ = demo
    stages = sorted(p.name for p in (build / "rejected").iterdir())
    assert stages == ["exact_dedup", "fuzzy_dedup", "language_id", "normalize",
                      "quality_filter", "rules"]
    for stage in stages:
        shard = min((build / "rejected" / stage / "commoncrawl").glob("*.parquet"))
        row = pq.read_table(shard, columns=["doc_id", "reason"]).to_pylist()[0]
        fate = trace_document(OpenedBuild.open(str(build)), row["doc_id"])
        assert (fate.status, fate.stage, fate.reason) == ("removed", stage, row["reason"])
        assert fate.shard == str(shard.relative_to(build))
        out = inspect_doc(build, row["doc_id"], capsys)
        assert f"{stage}: REMOVED: {row['reason']}" in out


def test_doc_lookup_of_a_kept_document_names_its_shards(demo, capsys):
    build, _, _ = demo
    tokens = pq.read_table(build / "tokens" / "wikipedia", columns=["id", "num_tokens"])
    doc_id, num_tokens = tokens["id"][5].as_py(), tokens["num_tokens"][5].as_py()
    shard = next(p for p in (build / "documents" / "wikipedia").glob("*.parquet")
                 if doc_id in pq.read_table(p, columns=["id"])["id"].to_pylist())
    fate = trace_document(OpenedBuild.open(str(build)), doc_id)
    assert (fate.status, fate.shard, fate.num_tokens) == (
        "kept", str(shard.relative_to(build)), num_tokens)
    assert f"KEPT in {shard.relative_to(build)}" in inspect_doc(build, doc_id, capsys)
    assert trace_document(OpenedBuild.open(str(build)), "0" * 32).status == "not_found"


def filler(start: int) -> str:
    return " ".join(f"harbour{n} lamp{n} the quiet keeper walks along the wall"
                    for n in range(start, start + 8))


# A 25-word benchmark question pasted into two crawl lines between the same text before it:
# contamination cuts each line into two pieces (text before / after the 13-gram windows);
# the two pieces before are identical, so fuzzy dedup (after contamination) removes one.
QUESTION = ("alpha kappa omega beta sigma tau delta zeta eta theta iota lambda chi psi phi "
            "upsilon omicron gamma epsilon alpha beta kappa omega sigma tau")
HOSTS = [f"{filler(0)} {QUESTION} {filler(100)}", f"{filler(0)} {QUESTION} {filler(300)}"]


@pytest.fixture(scope="module")
def split_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("split")
    (root / "data").mkdir()
    (root / "data" / "a.txt").write_text("\n".join(HOSTS + [filler(500), "too short"]) + "\n")
    (root / "bench").mkdir()
    (root / "bench" / "quiz.jsonl").write_text(json.dumps(
        {"context": f"Question: {QUESTION}", "completion": " omega"}) + "\n")
    (root / "build.toml").write_text("""stages = ["contamination", "fuzzy_dedup"]
[[sources]]
name = "web"
role = "raw"
inputs = ["data/*.txt"]
format = "tests.pipeline.line_reader:read_lines"
[contamination]
benchmarks = ["bench"]
""")
    run_build(load_build_config(str(root / "build.toml")), str(root / "out"))
    return root / "out"


def piece_id(parent: str, index: int) -> str:
    """`derive_id` re-derived: blake2b-128 of "<parent>/piece-<i>"."""
    return hashlib.blake2b(f"{parent}/piece-{index}".encode(), digest_size=16).hexdigest()


def test_doc_lookup_follows_contamination_pieces_both_ways(split_build, capsys):
    build = OpenedBuild.open(str(split_build))
    split = pq.read_table(split_build / "rejected" / "contamination").to_pylist()
    assert sorted(r["reason"] for r in split) == ["contamination_split"] * 2
    removed_piece = pq.read_table(split_build / "rejected" / "fuzzy_dedup",
                                  columns=["doc_id"])["doc_id"].to_pylist()
    for row in split:
        fate = trace_document(build, row["doc_id"])
        assert (fate.status, fate.stage) == ("removed", "contamination")
        assert [p.doc_id for p in fate.pieces] == [piece_id(row["doc_id"], i) for i in (0, 1)]
        for piece in fate.pieces:  # each piece traced back to its parent
            back = trace_document(build, piece.doc_id)
            assert back.parent_id == row["doc_id"] and back.parent.doc_id == row["doc_id"]
            expected = "removed" if piece.doc_id in removed_piece else "kept"
            assert (back.status, piece.status) == (expected, expected)
    # One "before" piece went to fuzzy dedup, found from the parent's row, not the piece's.
    assert len(removed_piece) == 1
    out = inspect_doc(split_build, removed_piece[0], capsys)
    assert "a piece cut by contamination from" in out and "fuzzy_dedup: REMOVED" in out
    kept = pq.read_table(split_build / "documents", columns=["id", "meta"],
                         filters=[("id", "==", piece_id(split[0]["doc_id"], 1))])
    assert json.loads(kept["meta"][0].as_py())["parent_id"] == split[0]["doc_id"]


def test_report_of_a_build_without_quality_filter_or_tokens(split_build, tmp_path):
    write_build_report(str(split_build), str(tmp_path))
    report = json.loads((tmp_path / "report.json").read_text())
    manifest = json.loads((split_build / "manifest.json").read_text())
    web = manifest["sources"]["web"]
    assert [s["documents"] for s in report["funnel"]["web"]["steps"][2:]] == [
        s["kept"] for s in web["stages"]]
    assert report["contamination"]["removal"] == manifest["contamination"]["removal"] != []
    assert (report["mixture"], report["lengths"]["tokens"], report["quality"]["sources"]) == (
        None, {}, {})
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "document_lengths.png", "funnel.png"]
