"""Issue 22, row 7: the ablation report escapes the labels and verdicts it did not write."""

from __future__ import annotations

from html.parser import HTMLParser

from crawl2gpt.experiments.ablate import summarize
from crawl2gpt.experiments.report import write_ablation_report

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_a_config_label_with_html_is_shown_as_text(tmp_path):
    configs = ["plain", f"rules{PAYLOAD}"]
    runs = [{"config": c, "seed": s, "metrics": {"val_loss": 3.0 + i + s / 10},
             "sampling_se": {}} for i, c in enumerate(configs) for s in (1, 2)]
    result = summarize({"configs": configs, "seeds": [1, 2], "runs": runs,
                        "metrics": {"val_loss": False}})
    assert PAYLOAD in result["verdicts"][0]          # "plain wins val_loss over rules<script>..."
    page = Tags()
    page.feed(open(write_ablation_report(result, str(tmp_path / "r")), encoding="utf-8").read())
    assert "script" not in page.tags and page.tags.count("img") == 1    # the figure only
    assert any(PAYLOAD in t for t in page.text)      # shown, as text
