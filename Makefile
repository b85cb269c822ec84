# Two commands do everything on a fresh machine: `make run` and `make test`.
# Both create the environment (.venv in the checkout) themselves. `make help` lists the rest.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU wheel of torch (on disk on our machines); on a GPU machine: make TORCH=torch
TORCH ?= torch==2.13.0
# Extra index for torch where the wheel is not on disk, e.g. https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
STAMP := $(VENV)/.installed

export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PATH := $(CURDIR)/$(BIN):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help install run test lint typecheck unit format bench push clean studio-down

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)" $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e ".[dev,studio]"
	touch $(STAMP)

install: $(STAMP) ## Create .venv with every dependency (CPU torch first)

KEY_FILE := .secrets/pseudonymise.key
# Version of the benchmark `make run` releases (semantic versioning: see `curation release`)
RELEASE ?= 1.0.0

$(KEY_FILE):
	mkdir -p -m 700 .secrets
	umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(32))" > $(KEY_FILE)
	@echo "Created the surrogate key $(KEY_FILE) (untracked; keep it to reproduce surrogates)"

# Use cases the main command takes through the whole loop
USE_CASES ?= pseudonymisation icd10_coding oncology_extraction oncology_response

run: $(STAMP) $(KEY_FILE) ## The whole loop on the embedded default: pipeline, Label Studio, experts, gates, gold, release
	$(BIN)/curation studio up
	$(BIN)/dvc repro push
	for uc in $(USE_CASES); do $(BIN)/curation simulate-annotators $$uc || exit 1; done
	$(BIN)/dvc repro adjudicate
	for uc in $(USE_CASES); do $(BIN)/curation review $$uc || exit 1; done
	for uc in $(USE_CASES); do $(BIN)/curation simulate-annotators $$uc --review || exit 1; done
	$(BIN)/dvc repro
	for uc in $(USE_CASES); do $(BIN)/curation release $$uc --version $(RELEASE) || exit 1; done
	for uc in $(USE_CASES); do $(BIN)/curation evaluate $$uc --baseline preannotator || exit 1; done
	$(BIN)/dvc push --quiet
	@$(BIN)/curation studio status
	@for uc in $(USE_CASES); do echo "Benchmark in benchmarks/$$uc/ (card README.md); open its report: benchmarks/$$uc/report/index.html"; done
	@echo "Quality reports and Data Docs in reports/quality/<use case>/ (data_docs/*/index.html)"
	@echo "Oncology patient table and trial pre-screening: data/structured/oncology/ (screening.md; accuracy in reports/structure/oncology/evaluation.json)"
	@echo "Annotate at that address (credentials in .secrets/studio.env)"

studio-down: $(STAMP) ## Stop the embedded Label Studio server
	$(BIN)/curation studio down

test: lint typecheck unit ## Lint, type-check and run every test (servers and pipelines included)

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check curation tests
	$(BIN)/ruff format --check curation tests

typecheck: $(STAMP) ## mypy on the package
	$(BIN)/mypy

# Headless Chromium renders the release report in the tests (Debian packages)
CHROMIUM := /usr/bin/chromedriver

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install chromium and chromium-driver (Debian) for the report tests"; exit 1; }
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	$(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null

unit: $(STAMP) $(CHROMIUM) ## pytest (installs Debian chromium for the report test if missing)
	$(BIN)/pytest -q

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix curation tests
	$(BIN)/ruff format curation tests

bench: $(STAMP) ## Measure generator and ingest throughput (prints docs/s)
	$(BIN)/python tests/bench/bench_corpus.py

push: $(STAMP) ## Push DVC-tracked data to the configured remote
	$(BIN)/dvc push

clean: ## Remove the environment and pipeline outputs (not the DVC remote)
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
