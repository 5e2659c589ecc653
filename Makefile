# Two commands on a fresh clone: `make run` (serve MCP on stdio) and `make test`.
# Both create .venv and install the project into it first (once, again when pyproject.toml changes).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -m venv $(VENV) >&2
	@$(BIN)/python -m pip install -q --upgrade pip >&2
	@$(BIN)/python -m pip install -q -e '.[test]' >&2
	@# Byte-compile now: start-up time matters to assistants, and some environments never write .pyc files.
	@$(BIN)/python -m compileall -q domain adapters infrastructure server >&2
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@exec $(BIN)/cde-orchestrator serve

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/cde-orchestrator bench --json bench-results.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
