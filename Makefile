# Two entry points (see README): `make synth` and `make test`. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Pinned toolchain first: Node 22 and the CDK CLI from package.json, Python tools from the venv.
export PATH := $(CURDIR)/node_modules/.bin:$(BIN):$(PATH)

.PHONY: setup synth test lint typecheck unit snapshots records deploy bench clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Main job: synthesize every stage into cdk.out and summarize it.
synth: setup
	rm -rf cdk.out
	cdk synth --quiet
	$(BIN)/python tools/synth_summary.py cdk.out

## Quality gate: lint, format, types, tests (what CI and the pipeline run).
test: setup lint typecheck unit

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

unit:
	$(BIN)/pytest

## Accept intended template changes, then review `git diff tests/__snapshots__`.
snapshots: setup
	$(BIN)/pytest tests/test_templates.py tests/test_compliance.py --snapshot-update

## Accept intended changes to stateful resources, exports or stack names (tests/records/).
records: setup
	$(BIN)/pytest tests/test_guards.py --update-records

## Deploy one stage: make deploy STAGE=dev ACCOUNT=123456789012
deploy: setup
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=dev|staging|prod [ACCOUNT=...]"; exit 2; }
	cdk deploy -c stages=$(STAGE) -c require_accounts=true \
	  $(if $(ACCOUNT),-c $(STAGE).account=$(ACCOUNT)) "$$(echo $(STAGE) | sed 's/./\U&/')/*"

## Compare warm full synth with an empty CDK app's synth on this machine.
bench: setup
	$(BIN)/python tools/bench_synth.py

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
