"""Language identification: fastText lid.176 (ours) against py3langid on the labelled shared data.

Sets (labels: `tests/quality_filter/langid_labels.py`, from `commoncrawl/README.md`):
- `hplt`: the 97 labelled, judgeable lines of `multilingual/hplt-cc-sample100.jsonl.zst`, their
  stored text `t`; the reference is the stored OpenLID label in ISO 639-1 with the README's three
  corrections;
- `warc`: the 16 HTML responses of the multilingual CC WARC, read as the build reads them
  (`read_warc` with `extract = "main"`, then `normalize_text`); the reference is the README's
  reading (page 4 is mixed: `zh` or `en` both count). An empty text counts as wrong.
Every candidate reads the first 10,000 characters, as the build does. Speed: texts/s over the
HPLT texts, CPU time of the best of `--passes` passes.

Run: .venv/bin/python bench/langid_quality.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # the labels live beside the tests

from crawl2gpt.core.records import Document  # noqa: E402
from crawl2gpt.pipeline.config import SourceConfig  # noqa: E402
from crawl2gpt.pipeline.normalize import normalize_text  # noqa: E402
from crawl2gpt.pipeline.sources import ReadContext  # noqa: E402
from crawl2gpt.pipeline.sources.warc import read_warc  # noqa: E402
from crawl2gpt.quality_filter.langid import LanguageIdentifier  # noqa: E402
from tests.quality_filter.heuristics_data import HPLT, MULTILINGUAL_WARC, hplt_lines  # noqa: E402
from tests.quality_filter.langid_labels import WARC_JUDGED, hplt_reference  # noqa: E402

DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "data"
MAX_CHARS = 10_000


def py3langid_identify():
    from py3langid.langid import MODEL_FILE
    from py3langid.langid import LanguageIdentifier as Model

    model = Model.from_model_file(MODEL_FILE, norm_probs=True)
    return lambda text: model.classify(text[:MAX_CHARS])[0] if text.strip() else ""


def lid176_identify():
    identifier = LanguageIdentifier(MAX_CHARS)
    return lambda text: identifier.identify(text).language if text.strip() else ""


CANDIDATES = {"lid.176.ftz (ours, fastText)": lid176_identify,
              "py3langid 0.4.0": py3langid_identify}


def warc_main_texts(data: Path) -> dict[str, str]:
    """URL → text of each HTML response, read and normalised as `crawl2gpt build` does."""
    path = data / MULTILINGUAL_WARC
    ctx = ReadContext(SourceConfig("cc", "raw", [str(path)], "warc", {"extract": "main"}),
                      str(path))
    texts = dict.fromkeys(WARC_JUDGED, "")  # a page read as empty stays empty
    with open(path, "rb") as f:
        for item in read_warc(f, ctx):
            if isinstance(item, Document):
                texts[item.url] = normalize_text(item.text)
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared/data folder")
    parser.add_argument("--passes", type=int, default=3, help="timed passes over the HPLT texts")
    args = parser.parse_args(argv)
    data = args.data.resolve()

    lines = hplt_lines(data)
    hplt = {n: (lines[n - 1]["t"], label) for n, label in hplt_reference(lines).items()}
    warc = {url: (text, WARC_JUDGED[url]) for url, text in warc_main_texts(data).items()}
    empty = sum(not text.strip() for text, _ in warc.values())
    print(f"hplt: {len(hplt)} lines ({HPLT}); warc: {len(warc)} pages, {empty} empty after "
          f"main extraction ({MULTILINGUAL_WARC})")
    print(f"{'candidate':32s} {'hplt':>7s} {'warc':>7s} {'texts/s':>8s}  misses")
    for name, make in CANDIDATES.items():
        identify = make()
        hplt_wrong = {n: identify(text) for n, (text, label) in hplt.items()
                      if identify(text) != label}
        warc_wrong = {url: identify(text) for url, (text, labels) in warc.items()
                      if identify(text) not in labels}
        texts = [text for text, _ in hplt.values()]
        best = float("inf")
        for _ in range(args.passes):
            start = time.process_time()
            for text in texts:
                identify(text)
            best = min(best, time.process_time() - start)
        misses = [f"hplt {n}: {hplt[n][1]}->{got}" for n, got in hplt_wrong.items()]
        misses += [f"warc {url}: ->{got or 'empty'}" for url, got in warc_wrong.items()]
        print(f"{name:32s} {len(hplt) - len(hplt_wrong):3d}/{len(hplt):<3d} "
              f"{len(warc) - len(warc_wrong):3d}/{len(warc):<3d} {len(texts) / best:8.0f}  "
              f"{'; '.join(misses)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
