# Two commands do all the set-up on a fresh machine:
#   make run    — the main job (creates .venv, installs, runs alertbot)
#   make test   — lint, type checks and the whole test suite
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --quiet --disable-pip-version-check
# reinstalled when the lock file, the declarations or the matcher's C source change
BUILD  := requirements-dev.lock pyproject.toml setup.py bot/engine/_wordscan.c
STAMP  := $(VENV)/.installed-$(shell cat $(BUILD) | cksum | cut -d' ' -f1)
UV     := uv==0.13.8

.PHONY: run test lint install lock env-example bench bench-pipeline bench-replicas clean

# every package at the version and hash in the lock file, then the project itself
# (no deps, built with the locked setuptools: nothing unpinned is fetched). The lock is
# complete, so pip resolves nothing (--no-deps): pip 23 otherwise re-resolves a dependency
# asked for with an extra (justext's lxml[html_clean]) to the newest release and refuses it
# as unpinned. pip check then proves the locked set consistent.
$(STAMP): $(BUILD)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/pip check --disable-pip-version-check
	$(PIP) install --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# after a change of the pins in pyproject.toml: re-resolve both lock files (needs the network).
# requirements.lock: what the bot runs with (Docker); requirements-dev.lock: that plus the dev
# tools, constrained to the same versions (make install, CI).
lock:
	$(PYTHON) -m venv $(VENV)/lock-tools
	$(VENV)/lock-tools/bin/pip --quiet --disable-pip-version-check install $(UV)
	$(VENV)/lock-tools/bin/uv pip compile --quiet pyproject.toml --python-version 3.11 \
		--generate-hashes -o requirements.lock
	$(VENV)/lock-tools/bin/uv pip compile --quiet pyproject.toml --extra dev -c requirements.lock \
		--python-version 3.11 --generate-hashes -o requirements-dev.lock

run: $(STAMP)
	$(BIN)/alertbot run

lint: $(STAMP)
	$(BIN)/ruff check bot handlers tests bench
	$(BIN)/mypy bot handlers
	$(BIN)/hadolint Dockerfile

# after adding or changing a setting in bot/config.py (tests/test_env_example.py says when)
env-example: $(STAMP)
	$(BIN)/python -m bot.envexample > .env.example

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/matcher.py

# needs real feed items as JSON lines: make bench-pipeline ITEMS=path/to/items.jsonl
bench-pipeline: $(STAMP)
	$(BIN)/python bench/pipeline.py $(ITEMS)

# needs PostgreSQL (default: the local test database; --database-url to change)
bench-replicas: $(STAMP)
	$(BIN)/python bench/replicas.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
