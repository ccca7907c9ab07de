# Two commands: `make run` (demo) and `make test`. Both build .venv when it is missing.
# python3.11 when it is on PATH, else python3 (checked below to be 3.11 or newer). `make PYTHON=...` overrides.
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@if ! test -x $(BIN)/python; then \
	  if ! $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then \
	    echo "creditmart needs Python 3.11 or newer, but '$(PYTHON)' is" \
	      "$$(command -v $(PYTHON) >/dev/null && $(PYTHON) --version 2>&1 || echo 'not on PATH')." >&2; \
	    echo "Install Python 3.11+ or name one: make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)" >&2; \
	    exit 1; \
	  fi; \
	  $(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/creditmart demo

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) instance .pytest_cache
