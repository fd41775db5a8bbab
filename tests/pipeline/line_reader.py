"""A tiny test-only reader (`format = "tests.pipeline.line_reader:read_lines"`).

One document per line; `BAD` lines are input rejects, `SKIP` lines skipped records, `SLEEP`
sleeps (to kill a build mid-run), `RAISE` raises (a reader bug). `|` in a line is a newline.
"""

import time

from crawl2gpt.core.records import Document


def read_lines(stream, ctx):
    for number, line in enumerate(stream.read().decode().splitlines(), start=1):
        if line.startswith("BAD"):
            yield ctx.reject("bad_line", offset=number)
        elif line.startswith("SKIP"):
            yield ctx.skip("marker")
        elif line.startswith("SLEEP"):
            time.sleep(float(line.split()[1]))
        elif line.startswith("RAISE"):
            raise RuntimeError("reader bug")
        else:
            yield Document.create(ctx.source.name, line.replace("|", "\n"),
                                  record_id=f"line-{number}", source_file=ctx.path,
                                  source_offset=number, crawl_date=f"2020-01-{number:02d}")
