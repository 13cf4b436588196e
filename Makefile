# ringlab: `make demo` and `make test` set up .venv on first use, then run.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
# ringlab and what it runs with; then the test and lint tools, which only `make test` needs
STAMP   := $(VENV)/.installed
TESTING := $(VENV)/.installed-test

.PHONY: demo test lint typecheck unit serve bench bench-deps clean

# The first run downloads ~45 MB (the test tools ~120 MB more), and a step that prints nothing
# for a minute looks hung: say what is happening and for how long, and let pip list each
# package it fetches. Times measured from a fresh clone (README, Quick start).
$(STAMP): pyproject.toml
	@if test -d $(VENV); then echo "updating $(VENV) (pyproject.toml changed)"; \
	else echo "setting up $(VENV) (first run only, under a minute: ~45 MB from PyPI, longer on a slow link)"; \
	echo "  creating the virtualenv"; $(PY) -m venv $(VENV); fi
	@echo "  upgrading pip"
	@$(BIN)/pip install --quiet --upgrade pip
	@echo "  installing ringlab and its dependencies (trio, Hypercorn, Quart, matplotlib, ...)"
	@$(BIN)/pip install -e .
	@touch $@
	@echo "$(VENV) is ready: . $(VENV)/bin/activate puts ringlab on PATH"

$(TESTING): $(STAMP)
	@if test -f $@; then echo "updating the test tools in $(VENV)"; \
	else echo "installing the test tools into $(VENV) (first time only, under a minute: ~120 MB more)"; fi
	@$(BIN)/pip install -e '.[test]'
	@touch $@

## demo: run the flagship scenarios against the embedded server; reports go to reports/
demo: $(STAMP)
	$(BIN)/ringlab run scenarios/baseline.toml scenarios/ring_after_accept.toml

## test: lint, type-check and run the whole suite
test: lint typecheck unit

lint: $(TESTING)
	$(BIN)/ruff check server simulator tests bench
	$(BIN)/ruff format --check server simulator tests bench

typecheck: $(TESTING)
	$(BIN)/mypy

# then the shipped scenario files through the pytest plugin, as QA runs theirs in CI (soak.toml
# is a capacity run of 21,000 visitors: `make bench` territory)
unit: $(TESTING)
	$(BIN)/pytest
	$(BIN)/pytest -p no:cacheprovider scenarios/ --ignore=scenarios/soak.toml \
		--ringlab-out=test-output/scenarios

## serve: run the reference server on http://127.0.0.1:8000 (data in ringlab.db)
serve: $(STAMP)
	$(BIN)/ringlab serve

## bench: the quick versions of every benchmark (a few minutes); results in bench/RESULTS.md
bench: $(STAMP) bench-deps
	cd bench && ../$(BIN)/python link_bench.py --quick
	cd bench && ../$(BIN)/python virtual_bench.py --visitors 100
	cd bench && ../$(BIN)/python server_bench.py --quick
	cd bench && ../$(BIN)/python loadgen_bench.py --quick

## bench-deps: the peers ringlab is compared with: Locust (its own venv) and Artillery (npm)
bench-deps: bench/.venv-locust/.installed bench/node_modules/.installed

bench/.venv-locust/.installed:
	$(PY) -m venv bench/.venv-locust
	bench/.venv-locust/bin/pip install --quiet 'locust>=2.30' 'websocket-client>=1.8'
	touch $@

# no browser download (the Playwright engine Artillery pulls in would fetch one): ws only
bench/node_modules/.installed:
	cd bench && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund \
		--no-save artillery@2
	touch $@

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
