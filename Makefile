# The two commands of the README: `make run` (the product, embedded mode) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench fuzz

$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: $(BIN)/.installed
	$(BIN)/python -m boardrun.server

test: $(BIN)/.installed
	$(BIN)/python -m pytest -n 2 -q

bench: $(BIN)/.installed
	for b in bench/[!_]*.py; do [ $$b = bench/api_fuzz.py ] || $(BIN)/python $$b || exit 1; done

# Not a benchmark: schemathesis against the embedded server's OpenAPI document (docs/openapi.md).
fuzz: $(BIN)/.installed
	$(BIN)/python bench/api_fuzz.py
