# mediafix: `make run` starts the product, `make test` runs every check.
# Both set up what is missing first: a virtual environment in .venv with mediafix
# installed, and exiftool (plus Chromium for the browser tests) from apt-get.

SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Where `make run` listens (override: make run PORT=8080).
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint check-python system-deps test-deps clean

check-python:
	@if [ -z "$(PYTHON)" ]; then echo "mediafix needs Python 3.11 or newer (python3 --version)"; exit 1; fi

$(STAMP): pyproject.toml | check-python
	@echo "==> creating $(VENV) with $(PYTHON) and installing mediafix"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "could not create a virtual environment: install python3-venv (sudo apt-get install python3-venv)"; exit 1; }
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[test,video]'
	@touch $(STAMP)

system-deps:
	@scripts/ensure-system-deps exiftool

test-deps:
	@scripts/ensure-system-deps exiftool chromium

setup: $(STAMP) system-deps

run: setup
	@$(BIN)/mediafix db upgrade
	@echo "==> starting mediafix with an embedded worker (Ctrl-C stops it)"
	@$(BIN)/mediafix serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	@$(BIN)/ruff check src tests bench
	@$(BIN)/ruff format --check src tests bench
	@$(BIN)/mypy

test: $(STAMP) test-deps lint
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
