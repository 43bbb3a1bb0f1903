# Two entry points (see README): `make synth` and `make test`. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# Pinned toolchain first: Node 22 and the CDK CLI from package.json, Python tools from the venv.
export PATH := $(CURDIR)/node_modules/.bin:$(BIN):$(PATH)

.PHONY: setup synth test lint typecheck unit snapshots records deploy bench config stages recovery cost diagram diagrams clean
# Unset: PLATFORM_PROFILE, else "default" (the pipeline's own synth sets PLATFORM_PROFILE).
PROFILE ?=
CDK_PROFILE := $(if $(PROFILE),-c profile=$(PROFILE))
SYNTHESIZED := $(or $(PROFILE),$(PLATFORM_PROFILE),default)

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Main job: synthesize every stage of a profile into cdk.out and summarize it (exit 1 on any
## unacknowledged compliance finding). PROFILE=default|workshop|fleet|commerce|meeting
synth: setup
	rm -rf cdk.out
	cdk synth --quiet $(CDK_PROFILE)
	echo $(SYNTHESIZED) > cdk.out/PROFILE
	$(BIN)/python tools/synth_summary.py cdk.out

# cdk.out of PROFILE: synthesized unless the last `make synth` was that profile.
synthesized:
	@test "$$(cat cdk.out/PROFILE 2>/dev/null)" = "$(SYNTHESIZED)" || $(MAKE) --no-print-directory synth PROFILE=$(SYNTHESIZED)

## Estimated monthly cost per stage, stack and cost driver of PROFILE's templates (and
## cdk.out/cost-estimate.json). Usage assumptions: tools/cost/assumptions.json, --assume.
cost: setup synthesized
	$(BIN)/python -m tools.cost cdk.out $(if $(ASSUME),$(foreach a,$(ASSUME),--assume $(a)))

## Architecture diagrams of PROFILE's stages into docs/architecture/ (Mermaid; SVG with dot).
diagram: setup synthesized
	$(BIN)/python -m tools.diagram cdk.out --out docs/architecture --profile $(SYNTHESIZED)

## Every profile's diagrams (what tests/test_docs.py checks are current).
diagrams: setup
	for p in default workshop fleet commerce meeting; do $(MAKE) --no-print-directory diagram PROFILE=$$p || exit 1; done

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

## Deploy one stage: make deploy STAGE=dev ACCOUNT=123456789012 [PROFILE=...]
deploy: setup
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=dev|staging|prod [ACCOUNT=...] [PROFILE=...]"; exit 2; }
	cdk deploy $(CDK_PROFILE) -c stages=$(STAGE) -c require_accounts=true \
	  $(if $(ACCOUNT),-c $(STAGE).account=$(ACCOUNT)) "$$(echo $(STAGE) | sed 's/./\U&/')/*"

## The effective configuration of one stage, with where each value came from.
config: setup
	@test -n "$(STAGE)" || { echo "usage: make config STAGE=prod [PROFILE=...]"; exit 2; }
	@$(BIN)/python tools/show_config.py $(STAGE) profile=$(SYNTHESIZED)

## Every profile and its stages.
stages: setup
	@$(BIN)/python tools/show_config.py stages

## Stated recovery targets (RPO/RTO) next to what each stage's backups deliver.
recovery: setup
	@$(BIN)/python tools/show_config.py recovery

## Compare warm full synth with an empty CDK app's synth on this machine.
bench: setup
	$(BIN)/python tools/bench_synth.py

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
