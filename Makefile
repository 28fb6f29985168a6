# make demo  : create .venv, install gradad, train + evaluate on the built-in demo data set, write a report
# make test  : create .venv, install gradad with test extras, run the test suite
# make bench : long measurements (never part of make test): bench-speed (latency) + bench-accuracy (hours)
#              + bench-parity (AUROC of each optimised inference path on the models bench-accuracy kept)
# make bench-env : separate venv with anomalib for the peer rows of make bench (large download)
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO    ?= runs/demo

.PHONY: demo test bench bench-speed bench-accuracy bench-parity bench-env install clean

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

SETS    ?= demo mvtec_ad/bottle magnetic_tile/tile visa/capsules $(addprefix piped/,$(notdir $(wildcard ../shared/data/piped/*)))

bench: bench-speed bench-accuracy bench-parity

bench-speed: $(STAMP)
	$(BIN)/python scripts/bench.py

# hours on 2 cores; records in benchmarks/accuracy (tracked), generators and models in runs/bench_accuracy, so an
# interrupted run continues. Single detectors on 3 draws of the bank per set (one PatchDiff: one draw can be luck);
# their average, which is the default (3 banks, one detector each: the same members, assembled, trains nothing);
# then the other reweighting methods' single detectors on the first draw (the ablation)
ONE = --tag banks1 --set generation.banks=1 --save-models
bench-accuracy: $(STAMP)
	$(BIN)/python scripts/bench_accuracy.py --sets $(SETS) --seeds 0 --draws 3 --methods difference $(ONE)
	$(BIN)/python scripts/bench_accuracy.py --sets $(SETS) --seeds 0 --assemble 3
	$(BIN)/python scripts/bench_accuracy.py --sets $(SETS) --seeds 0 --methods uniform belief $(ONE)

bench-parity: $(STAMP)
	$(BIN)/python scripts/bench_parity.py

bench-env:
	$(PY) -m venv .venv-bench && .venv-bench/bin/pip install torch==2.14.1 torchvision==0.29.1 anomalib

clean:
	rm -rf $(VENV) runs
