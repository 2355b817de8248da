# churnguard — every target is a thin wrapper; CI runs the same ones (.ci/run -> make test).
.DEFAULT_GOAL := help
SHELL := /bin/bash

UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
CG := $(VENV)/bin/churnguard
PORT ?= 3000

.PHONY: help install demo test test-fast lint bench serve mlflow-ui clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(if $(findstring .tools,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen --compile-bytecode --python python3
	@touch $@

install: $(VENV)/.installed ## Create .venv from uv.lock (needs only python3 and make)

demo: install ## Run the main job end to end on embedded defaults (state in CHURNGUARD_HOME)
	$(CG) demo

# Two workers: most slow tests wait on subprocesses and servers, so two overlap well on 2 cores.
# loadfile keeps each module on one worker, and the Spark modules together (tests/conftest.py).
XDIST := -n 2 --dist loadfile

test: install ## Lint, then run every test (slow and service tests included) on two workers
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest $(XDIST)

test-fast: install ## Run the tests that are not marked slow
	$(VENV)/bin/pytest $(XDIST) -m "not slow"

lint: install $(if $(findstring .tools,$(UV)),.tools/bin/uv) ## ruff over the code; pip-audit over uv.lock (fails when it cannot audit every package)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/ruff format --check . || true
	@requirements=$$(mktemp) && trap 'rm -f $$requirements' EXIT && \
	$(UV) export --frozen --no-hashes --no-emit-project --format requirements-txt -q -o $$requirements && \
	$(VENV)/bin/pip-audit -r $$requirements --no-deps --disable-pip --strict --progress-spinner off \
	|| { echo "lint: pip-audit failed: a known vulnerability, or a locked package it could not audit (vulnerability service unreachable, or a version it does not know); see above" >&2; exit 1; }

bench: install ## Speed and memory benchmarks (ratios against baselines in the same run)
	$(PY) -m bench

serve: install ## Start the scoring service on PORT (default 3000)
	$(CG) serve --port $(PORT)

mlflow-ui: install ## Open the MLflow UI on the local store (http://127.0.0.1:5000, ~40 s to start)
	@echo "MLflow UI: http://127.0.0.1:5000 (it takes about 40 s to answer the first time; Ctrl-C stops it)"
	$(VENV)/bin/mlflow ui --backend-store-uri "$$($(PY) -c 'from common.settings import get_settings; print(get_settings().tracking_uri)')" --port 5000

clean: ## Remove local state (CHURNGUARD_HOME default) and caches, not .venv
	rm -rf .churnguard .pytest_cache .ruff_cache .hypothesis
