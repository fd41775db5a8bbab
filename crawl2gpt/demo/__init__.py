"""The built-in demo: a generated corpus (`data`, `pages`, `text`, `dups`, `warc`) built,
trained on and evaluated end to end by `run`."""
