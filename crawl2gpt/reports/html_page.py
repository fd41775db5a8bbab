"""The build report as one self-contained HTML page: figures inline as base64 PNG, no script,
no external stylesheet or font, so it opens offline and can be mailed as one file.
"""

from __future__ import annotations

import base64
import difflib
import json
import re
from html import escape
from typing import Any

CLUSTER_TEXT_CHARS = 3000
PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>crawl2gpt build report</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em auto; max-width: 1250px; color: #222; }}
h1 {{ font-size: 1.5em; }} h2 {{ border-bottom: 1px solid #ccc; margin-top: 1.6em; }}
table {{ border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }}
th {{ background: #f0f0f0; }} td.l, th.l {{ text-align: left; }}
img {{ max-width: 100%; }}
pre {{ white-space: pre-wrap; background: #f7f7f7; padding: 0.5em; font-size: 0.8em;
      max-height: 18em; overflow: auto; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 0.8em; }}
.del {{ background: #f8c4c4; }} .ins {{ background: #c4f0c8; }}
.muted {{ color: #777; font-size: 0.85em; }}
</style></head>
<body>
<h1>Build report</h1>
<p class="muted">{build} · config {fingerprint} · {documents:,} documents kept,
{text_mb:,.1f} MB of text from {input_mb:,.1f} MB of input</p>
{body}
</body></html>
"""


def table(header: list[str], rows: list[list[Any]], left: int = 1) -> str:
    """An HTML table; the first `left` columns are text, the rest right-aligned numbers."""
    def cell(tag: str, i: int, value: Any) -> str:
        text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
        cls = ' class="l"' if i < left else ""
        return f"<{tag}{cls}>{escape(str(text))}</{tag}>"
    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def image(png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def word_diff(left: str, right: str) -> tuple[str, str]:
    """Both texts as HTML, words only in the left marked `del`, only in the right `ins`."""
    a = re.findall(r"\S+|\s+", left[:CLUSTER_TEXT_CHARS])
    b = re.findall(r"\S+|\s+", right[:CLUSTER_TEXT_CHARS])
    out_a, out_b = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        old, new = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if op == "equal":
            out_a.append(old)
            out_b.append(new)
            continue
        if old:
            out_a.append(f'<span class="del">{old}</span>')
        if new:
            out_b.append(f'<span class="ins">{new}</span>')
    return "".join(out_a), "".join(out_b)


def funnel_section(report: dict[str, Any], figures: dict[str, bytes]) -> str:
    funnel = report["funnel"]
    steps = [s["step"] for s in next(iter(funnel.values()))["steps"]] if funnel else []
    rows = [[name] + [s["documents"] for s in f["steps"]] + [f["kept"], f["tokens"] or "–"]
            for name, f in sorted(funnel.items())]
    return ("<h2>Funnel</h2><p>Documents left after each step (read = records read,"
            " including broken input records).</p>" + image(figures.get("funnel"), "funnel")
            + table(["source"] + steps + ["kept", "tokens"], rows))


def sample_html(sample: dict[str, Any]) -> str:
    where = f"{sample['source_file']} @ {sample['source_offset']}"
    return (f"<p class=\"muted\">{escape(str(sample['doc_id']))} · {escape(str(sample['url']))}"
            f" · {escape(where)} · {escape(json.dumps(sample['detail'])[:400])}</p>"
            f"<pre>{escape(sample['text'])}</pre>")


def reasons_section(report: dict[str, Any]) -> str:
    rows = [[r["source"], r["stage"], r["reason"], r["count"]] for r in report["reasons"]]
    samples = "".join(
        f"<details><summary>{escape(r['source'])}: {escape(r['reason'])} ({r['count']:,})"
        f"</summary>{''.join(sample_html(s) for s in r['samples'])}</details>"
        for r in report["reasons"])
    return ("<h2>Rejection reasons</h2>" + table(["source", "stage", "reason", "documents"],
                                                 rows, left=3) + samples)


def quality_section(report: dict[str, Any], figures: dict[str, bytes]) -> str:
    quality = report["quality"]
    if not quality["sources"]:
        return ""
    marker = quality["marker"]
    rule = f"{marker['kind']} = {marker['value']:g}" if marker else "not recorded"
    boundary = "".join(
        f"<h3>{title}</h3>" + "".join(
            f"<p class=\"muted\">score {e['score']:.6f}</p><pre>{escape(e['text'] or '')}</pre>"
            for e in quality["boundary"][kind])
        for kind, title in (("kept", "Kept, lowest scores"),
                            ("removed", "Removed, highest scores")))
    return (f"<h2>Quality scores</h2><p>Selection rule: {escape(rule)}</p>"
            + image(figures.get("quality_scores"), "quality score histograms")
            + "<h3>Near the boundary</h3>" + boundary)


def clusters_section(report: dict[str, Any]) -> str:
    clusters = report["duplicate_clusters"]
    if not clusters:
        return ""
    parts = ["<h2>Largest duplicate clusters</h2>"]
    for c in clusters:
        kept, removed = word_diff(c["kept_text"] or "", c["removed_text"] or "")
        parts.append(
            f"<h3>cluster {escape(c['cluster_id'])}: {c['size']:,} documents</h3>"
            f"<div class=\"pair\"><div><p class=\"muted\">kept {escape(c['kept_id'])}</p>"
            f"<pre>{kept}</pre></div><div><p class=\"muted\">removed "
            f"{escape(c['removed'][0]['doc_id'])} (Jaccard {c['removed'][0]['jaccard']})</p>"
            f"<pre>{removed}</pre></div></div>")
    return "".join(parts)


def contamination_section(report: dict[str, Any]) -> str:
    section = report["contamination"]
    if not section:
        return ""
    rows = [[name, b["n"], b["examples"], b["dirty"], f"{b['clean_share']:.1%}"]
            for name, b in sorted(section["clean_dirty"].items())]
    removal = [[r["kind"], r["name"], r.get("docs_touched", 0), r.get("docs_dropped", 0),
                r.get("pieces_kept", 0), r.get("chars_removed", 0)] for r in section["removal"]]
    touched = table(["per", "name", "documents touched", "dropped", "pieces kept",
                     "characters removed"], removal, left=2) if removal else (
        "<p>No training document was cut or dropped.</p>")
    return ("<h2>Contamination</h2><p>Benchmark examples found in the training data"
            " (dirty) and the clean share:</p>"
            + table(["benchmark", "n-gram", "examples", "dirty", "clean share"], rows)
            + "<p>Training documents cut or dropped:</p>" + touched)


def mixture_section(report: dict[str, Any]) -> str:
    mixture = report["mixture"]
    if not mixture:
        return ""
    rows = [[r["source"], r["tokens"], f"{r['weight']:.1%}", f"{r['epochs']:.2f}",
             r["tokens_drawn"]] for r in mixture["rows"]]
    return (f"<h2>Mixture (as the paper's Table 2.2)</h2><p>budget {mixture['budget_tokens']:,}"
            " tokens</p>" + table(["source", "tokens", "weight in mix", "epochs",
                                   "tokens drawn"], rows))


def lengths_section(report: dict[str, Any], figures: dict[str, bytes]) -> str:
    rows = [[unit, name, h["n"], h["total"], f"{h['median']:,.0f}"]
            for unit, per_source in report["lengths"].items()
            for name, h in per_source.items()]
    return ("<h2>Document lengths</h2>" + image(figures.get("document_lengths"), "lengths")
            + image(figures.get("token_lengths"), "token lengths")
            + table(["unit", "source", "documents", "total", "median"], rows, left=2))


def languages_section(report: dict[str, Any]) -> str:
    rows = [[name, lang, n] for name, langs in sorted(report["languages"].items())
            for lang, n in sorted(langs.items(), key=lambda kv: -kv[1])]
    return "<h2>Languages</h2>" + table(["source", "language", "documents"], rows, left=2)


def render_page(report: dict[str, Any], figures: dict[str, bytes]) -> str:
    body = "".join([
        funnel_section(report, figures), reasons_section(report),
        quality_section(report, figures), clusters_section(report),
        contamination_section(report), mixture_section(report),
        lengths_section(report, figures), languages_section(report)])
    totals = report["totals"]
    return PAGE.format(build=escape(report["build"]),
                       fingerprint=escape(report["config_fingerprint"][:16]),
                       documents=totals["documents"], text_mb=totals["text_bytes"] / 1e6,
                       input_mb=totals["input_bytes"] / 1e6, body=body)
