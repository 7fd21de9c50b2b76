# Two entry points, each doing its own set-up on a fresh machine (Python 3.11 + pip):
#   make search   installs into .venv and runs the quickstart study
#   make test     installs into .venv and runs the tests
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: search test bench install

$(VENV)/installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/installed

search: install
	$(PY) -m search run studies/quickstart.yaml

test: install
	$(PY) -m pytest

bench: install
	$(PY) bench/epoch_speed.py
