# Two commands for a newcomer (see README.md):
#   make test   set this machine up (Docker engine, debootstrap, registry; a virtualenv with opsctl
#               and its dev tools), then run the whole suite: ruff, mypy, and every test (it ends
#               with the 25 slowest, where the suite's time goes)
#   make demo   the main job on the local lab: build and deploy two versions, roll back
.DEFAULT_GOAL := test
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The editable install is redone only when pyproject.toml changes, so a second `make test` is fast.
STAMP := $(VENV)/.opsctl-installed
PYTEST_ARGS ?=

.PHONY: test unit lint types machine venv demo bench image wheel clean distclean

test: machine venv
	$(MAKE) --no-print-directory lint types
	$(BIN)/pytest --durations=25 $(PYTEST_ARGS)

# Unit and moto-backed aws tests: everything that needs no Docker engine.
unit: venv
	$(BIN)/pytest -m "not lab" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check opsctl tests tools

types: venv
	$(BIN)/mypy

# Installs packages and starts dockerd, which needs root.
machine:
	@if [ "$$(id -u)" -eq 0 ]; then bash tools/setup-machine.sh; else sudo bash tools/setup-machine.sh; fi

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml Makefile | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -q -e '.[dev,aws-inventory]'
	touch $@

demo: machine venv
	bash tools/demo.sh

bench: machine venv
	$(BIN)/python tools/bench.py

# The CI image (Dockerfile; docs/ci.md). Its default base is the lab's, which `opsctl lab up` builds.
image: venv
	bash tools/build-image.sh

# A wheel in dist/ for `pipx install dist/opsctl-*.whl` (README).
wheel: venv
	$(BIN)/python -m pip wheel --no-deps -q -w dist .

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
	find opsctl tests tools -name __pycache__ -type d -prune -exec rm -rf {} +

# Also removes the virtualenv; the next `make test` recreates it.
distclean: clean
	rm -rf $(VENV)
