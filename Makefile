# Persistent BinderHub: every task a developer or CI runs.
# `make test` works on a fresh machine: it builds .venv from the pinned files.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements/hub.txt requirements/dev.txt requirements/constraints.txt

.PHONY: setup test lint docs docs-check bench clean

setup: $(STAMP) node_modules/.installed

$(STAMP): $(REQUIREMENTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt -c requirements/constraints.txt
	touch $@

# configurable-http-proxy, for the tests that run a real JupyterHub.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/yamllint --strict .
	$(BIN)/pre-commit validate-config .pre-commit-config.yaml
	$(BIN)/pre-commit validate-manifest .pre-commit-hooks.yaml

docs: setup
	$(BIN)/python tools/render_docs.py

docs-check: setup
	$(BIN)/python tools/render_docs.py --check

bench: setup
	$(BIN)/python tools/bench.py
	$(BIN)/python tools/bench_hook.py

clean:
	rm -rf $(VENV) node_modules build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
