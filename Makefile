# make demo  : create .venv, install gradad, train + evaluate on the built-in demo data set, write a report
# make test  : create .venv, install gradad with test extras, run the test suite
# make bench : long measurements (never part of make test)
# make bench-env : separate venv with anomalib for the peer rows of make bench (large download)
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO    ?= runs/demo

.PHONY: demo test bench bench-env install clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[export,test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/gradad demo --out $(DEMO)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

bench-env:
	$(PY) -m venv .venv-bench && .venv-bench/bin/pip install torch==2.14.1 torchvision==0.29.1 anomalib

clean:
	rm -rf $(VENV) runs
