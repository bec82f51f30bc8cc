# govindex — two commands on a fresh machine: `make serve` and `make test` (`make test-fast` while developing).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   := data
DEMO   := $(DATA)/demo
DB     := $(DATA)/warehouse.duckdb
HOST   ?= 127.0.0.1
PORT   ?= 8050
# pytest-xdist workers for the tests that are not browser tests (the machine CI runs on has two cores)
WORKERS ?= 2

.PHONY: serve test test-fast install install-test demo warehouse bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(DEMO)/.complete: | $(VENV)/.installed
	$(BIN)/govindex demo --out $(DEMO) --months 24 --seed 7
	touch $@

demo: $(DEMO)/.complete

$(DB): $(DEMO)/.complete
	$(BIN)/govindex refresh --source $(DEMO) --db $(DB)

warehouse: $(DB)

serve: install warehouse
	@echo "govindex is starting on http://$(HOST):$(PORT)"
	$(BIN)/govindex serve --host $(HOST) --port $(PORT) --db $(DB)

# The full suite, what CI runs: everything but the browser in parallel, then the browser tests in one process
# (they drive one chromium against one server).
test: install-test
	$(BIN)/python -m pytest -m "not browser" -n $(WORKERS)
	$(BIN)/python -m pytest -m browser

# For development: the suite without the tests marked slow (> ~3 s each) and without the browser.
test-fast: install-test
	$(BIN)/python -m pytest -m "not slow and not browser" -n $(WORKERS)

bench: install-test
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m bench

clean:
	rm -rf $(DEMO) $(DB) $(DB).wal $(DB).*.lock $(DB).building-* $(DATA)/runs.sqlite* $(DATA)/inbox $(DATA)/archive tests/artifacts
