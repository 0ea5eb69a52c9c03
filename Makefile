# bankanalysis: `make help` lists the targets. Every target bootstraps .venv with pip when it is
# missing or when pyproject.toml changed, so a fresh clone needs nothing installed by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
RAW := data/raw
PROCESSED := data/processed
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

.DEFAULT_GOAL := help
.PHONY: help reports test audit data lab lint format bench bench-scale clean venv selfcheck

## Show this help
help:
	@awk '/^## /{c=substr($$0,4);next} /^[a-zA-Z_-]+:/{if(c){split($$1,a,":");printf "  make %-10s %s\n",a[1],c};c=""}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@bash scripts/ensure_system_deps.sh
	@touch $(STAMP)

## Create or update the virtual environment (.venv) from pyproject.toml
venv: $(STAMP)

## Generate the synthetic bank if data/raw is empty, then validate and prepare data/processed
data: $(STAMP)
	@if ! ls $(RAW)/regions.* >/dev/null 2>&1; then \
	  echo "data/raw is empty: generating the built-in synthetic bank"; \
	  $(BIN)/bankanalysis data generate --out $(RAW); fi
	$(BIN)/bankanalysis data prepare --raw $(RAW) --out $(PROCESSED)

## Main job: data, then every report for every region into reports/<run-id>/ (reports/latest)
reports: data
	$(BIN)/bankanalysis run --regions all --jobs $(JOBS) --out reports

# The small synthetic bank the notebooks and end-to-end tests run on (tests/ci_bank.py; rebuilt
# when the generator changes, prepare skipped when the raw data are unchanged).
CI_BANK := build/ci
# pytest-xdist workers of `make test` (tests sharing an expensive fixture share a worker:
# tests/conftest.py); TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2

## Run the whole test suite: lint, unit tests, notebooks with nbval, end-to-end batch
test: $(STAMP)
	$(BIN)/python tests/ci_bank.py $(CI_BANK)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	BANKANALYSIS_CI_BANK=$(CURDIR)/$(CI_BANK) $(BIN)/python -m pytest -q -n $(TEST_WORKERS) tests
	BANKANALYSIS_PROCESSED=$(CURDIR)/$(CI_BANK)/processed $(BIN)/python -m pytest -q \
	  -p no:cacheprovider --nbval-lax --nbval-kernel-name python3 notebooks/

# The run the audit reads and the processed data it was computed from (their fingerprints must
# match), e.g. make audit RUN=reports/20261201T0640Z PROCESSED=/data/bank/processed
RUN ?= reports/latest

## Attack a finished run (RUN, default reports/latest; PROCESSED, default data/processed): the run-level disclosure and privacy tests
audit: $(STAMP)
	BANKANALYSIS_AUDIT_RUN=$(abspath $(RUN)) BANKANALYSIS_AUDIT_PROCESSED=$(abspath $(PROCESSED)) \
	  $(BIN)/python -m pytest -q -p no:cacheprovider -m run_level tests

## Check the analytics recover the truth planted in a fresh synthetic bank
selfcheck: $(STAMP)
	$(BIN)/bankanalysis selfcheck

# Lab refuses to run as root without --allow-root (analysts' containers often run as root);
# the flag is added only then. LAB_ARGS passes more options, e.g. LAB_ARGS="--port=9999 --no-browser".
LAB_ROOT_FLAG := $(shell [ $$(id -u) = 0 ] && echo --allow-root)
LAB_ARGS ?=

## Start JupyterLab at the project root with the `bankanalysis` kernel (as root or not)
lab: $(STAMP)
	$(BIN)/python -m ipykernel install --user --name bankanalysis --display-name "Python (bankanalysis)"
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) $(LAB_ROOT_FLAG) $(LAB_ARGS)

## Lint and format-check the code
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

## Format the code in place
format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

## Run the benchmarks; figures go to reports/bench/latest.json
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]' || echo "optional benchmark packages unavailable"
	$(BIN)/python -m benchmarks.run

# Sizes and regions of the growth benchmark, e.g. make bench-scale SCALE_SIZES=1m,3m SCALE_REGIONS=0
SCALE_SIZES ?= 1m,3m,10m
SCALE_REGIONS ?= 120

## Growth: every stage at SCALE_SIZES customers and a SCALE_REGIONS-region batch (long; not in bench)
bench-scale: $(STAMP)
	$(BIN)/python -m benchmarks.scale --sizes $(SCALE_SIZES) --regions-batch $(SCALE_REGIONS)

## Remove generated data, reports and caches (keeps data/raw if it is not synthetic)
clean:
	rm -rf $(PROCESSED)/* $(PROCESSED)/.[!.]* reports/* build .pytest_cache
	@touch $(PROCESSED)/.gitkeep reports/.gitkeep
	@if [ -f $(RAW)/_truth/.synthetic ]; then rm -rf $(RAW)/*; touch $(RAW)/.gitkeep; fi
