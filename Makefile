# Two commands do all the set-up on a fresh machine:
#   make run    — the main job (creates .venv, installs, runs alertbot)
#   make test   — lint, type checks and the whole test suite
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
# the compiled part of the matcher is rebuilt when its source changes
BUILD  := pyproject.toml setup.py bot/engine/_wordscan.c
STAMP  := $(VENV)/.installed-$(shell cat $(BUILD) | cksum | cut -d' ' -f1)

.PHONY: run test lint install bench bench-pipeline clean

$(STAMP): $(BUILD)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/alertbot run

lint: $(STAMP)
	$(BIN)/ruff check bot handlers tests bench
	$(BIN)/mypy bot handlers

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/matcher.py

# needs real feed items as JSON lines: make bench-pipeline ITEMS=path/to/items.jsonl
bench-pipeline: $(STAMP)
	$(BIN)/python bench/pipeline.py $(ITEMS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
