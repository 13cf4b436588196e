# ringlab: `make demo` and `make test` set up .venv on first use, then run.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test lint typecheck unit serve clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## demo: run the flagship scenarios against the embedded server; reports go to reports/
demo: $(STAMP)
	$(BIN)/ringlab run scenarios/baseline.toml scenarios/ring_after_accept.toml

## test: lint, type-check and run the whole suite
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check server simulator tests bench
	$(BIN)/ruff format --check server simulator tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

## serve: run the reference server on http://127.0.0.1:8000 (data in ringlab.db)
serve: $(STAMP)
	$(BIN)/ringlab serve

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
