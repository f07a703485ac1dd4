# Two commands for a fresh machine (Python 3.11+, Node 20+), no AWS account needed:
#   make synth   set up, synthesize the default config, print a summary
#   make test    set up, run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config/default.yaml
# jsii prints a Node end-of-life banner on Node 20; the CDK CLI checks for updates and notices online.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# jsii 1.142 reads this name (a comma list of Node majors) for the end-of-life banner.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20,18
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
# The pinned CLI from package.json (what `npx cdk` runs), called directly: no npm start-up or npm notices.
CDK := node_modules/.bin/cdk --no-notices --no-version-reporting
PYTEST_ARGS ?=
DEPLOY_ARGS ?=

.PHONY: help setup synth test lint typecheck docs docs-check deploy-local bench clean

help:
	@echo "make synth         set up and synthesize CONFIG (default $(CONFIG)) with no AWS account"
	@echo "make test          set up and run the test suite"
	@echo "make deploy-local  set up, deploy CONFIG into a local emulated AWS (moto), submit a job, show it,"
	@echo "                   clean up (DEPLOY_ARGS=--keep holds it open until Ctrl-C)"
	@echo "make lint          ruff + mypy"
	@echo "make docs          regenerate docs/rules.md, docs/config.md and config/schema.json"
	@echo "make bench         run the benchmarks (prints tables, writes docs/benchmarks.md)"

setup: $(VENV)/.installed node_modules/.installed

# Every Python package comes from a hash-locked file (pip --require-hashes: a changed or substituted file
# fails the install). The project and runtime/ are installed editable, without dependencies and with the
# locked setuptools (no build isolation), in a separate call: --require-hashes cannot take `-e`.
# checkov pins its own boto3, so it gets a virtualenv of its own (see requirements-checkov.txt).
$(VENV)/.installed: requirements.lock requirements-dev.lock requirements-checkov.lock pyproject.toml runtime/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the hash-locked Python requirements into $(VENV) ..."
	@# pip's and setuptools' own notices go to a log, shown only when a step fails.
	@$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock > $(VENV)/install.log 2>&1 \
	  || { cat $(VENV)/install.log; exit 1; }
	@$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . -e ./runtime >> $(VENV)/install.log 2>&1 \
	  || { cat $(VENV)/install.log; exit 1; }
	@test -x $(VENV)/checkov/bin/python || $(BIN)/python -m venv $(VENV)/checkov
	@$(VENV)/checkov/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-checkov.lock >> $(VENV)/install.log 2>&1 \
	  || { cat $(VENV)/install.log; exit 1; }
	@touch $@

node_modules/.installed: package.json package-lock.json
	@command -v node >/dev/null || { echo "Node.js 20+ is required for the CDK CLI"; exit 1; }
	@echo "Installing the pinned AWS CDK CLI into node_modules ..."
	@npm ci --no-audit --no-fund --silent
	@touch $@

synth: setup
	@rm -rf cdk.out
	@$(CDK) synth --quiet -c config=$(CONFIG)
	@$(BIN)/python scripts/synth_summary.py cdk.out

test: setup
	@$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

docs: setup
	@$(BIN)/mnp rules --format markdown > docs/rules.md
	@$(BIN)/python -m mnp_toolkit.config reference > docs/config.md
	@$(BIN)/python -m mnp_toolkit.config schema > config/schema.json

deploy-local: setup
	@scripts/deploy_local.sh --config $(CONFIG) $(DEPLOY_ARGS)

bench: setup
	@$(BIN)/python bench/run_all.py

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
