"""Inspection of a finished build: the HTML build report (`report.py`, `figures.py`,
`html_page.py`) and one document's fate through the stages (`lookup.py`), read from the
build's manifest and shards only (`build_files.py`)."""
