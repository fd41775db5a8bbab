"""crawl2gpt: GPT-3's data-and-training recipe. This folder holds the applications on top (the
`crawl2gpt` command, the demo, the reports); the layers below are mapped into this package by
pyproject.toml (docs/architecture.md)."""
