# The two commands of the README: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(VENV)/.bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(VENV)/.bench

# The demo needs Observer alone, not the development tools: a fresh clone serves sooner. Without
# byte-compiling every installed file (85 s -> 52 s here); what the demo imports compiles as it loads.
$(VENV)/.demo: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-compile -e .
	touch $(VENV)/.demo

demo: $(VENV)/.demo
	$(VENV)/bin/observer demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(VENV)/bin/pytest

test: lint typecheck pytest

bench: $(VENV)/.bench
	$(PY) bench/run.py

screenshots: $(STAMP)
	$(VENV)/bin/pytest tests/web -k screenshots --screenshots=docs/screenshots

clean:
	rm -rf $(VENV) .observer build *.egg-info .pytest_cache .mypy_cache .ruff_cache
