# govindex — two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DATA   := data
DEMO   := $(DATA)/demo
DB     := $(DATA)/warehouse.duckdb
HOST   ?= 127.0.0.1
PORT   ?= 8050

.PHONY: serve test install install-test demo warehouse bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
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

test: install-test
	$(BIN)/python -m pytest

bench: install-test
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m bench

clean:
	rm -rf $(DEMO) $(DB) $(DB).wal $(DB).*.lock $(DB).building-* $(DATA)/runs.sqlite* $(DATA)/inbox $(DATA)/archive tests/artifacts
