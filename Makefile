# Two commands do all the set-up: `make run` (the demo) and `make test` (everything CI checks).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA := .data
# honcho starts gunicorn and celery by name, from the virtual environment.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
HOST ?= 127.0.0.1
PORT ?= 8000

# The embedded default for trying it: SQLite and a broker that needs no server.
DEMO_ENV := DEMO_MODE=1 DATABASE_URL=sqlite:///$(CURDIR)/$(DATA)/db.sqlite3 \
	CELERY_BROKER_URL=filesystem:// SITE_URL=http://$(HOST):$(PORT) WEB_BIND=$(HOST):$(PORT)

.PHONY: help
help:
	@echo "make run    the service with demo data on http://$(HOST):$(PORT) (Ctrl-C stops it)"
	@echo "make test   lint, types, migrations check and the whole test suite"
	@echo "make bench  benchmarks on PostgreSQL (see bench/)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Node.js and npm for the GOV.UK styles. As root with apt, install them when missing;
# otherwise say exactly what to install and stop.
.PHONY: node-deps
node-deps:
	@bash scripts/node-deps.sh

node_modules/.installed: package.json package-lock.json | node-deps
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(DATA)/assets/app.css: static/scss/app.scss node_modules/.installed
	mkdir -p $(DATA)/assets
	npm run --silent build:css

.PHONY: deps
deps: $(VENV)/.installed $(DATA)/assets/app.css

# Servers and a browser for the tests. As root with apt, install what is missing;
# otherwise say exactly what to install.
.PHONY: system-deps
system-deps:
	@bash scripts/system-deps.sh

.PHONY: run
run: deps
	$(DEMO_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	@echo
	@echo "Open http://$(HOST):$(PORT)/ (Ctrl-C stops the web server, worker and beat)."
	$(DEMO_ENV) $(BIN)/honcho -f Procfile.demo start

.PHONY: lint
lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	# The house: imports point down the layers (pyproject.toml), no near-copies of six lines,
	# no module over 600 lines, no view over 40, an import inside a function says why.
	$(BIN)/lint-imports --no-cache
	$(BIN)/pylint --disable=all --enable=duplicate-code --min-similarity-lines=6 \
		--ignore=migrations --score=n agencies referrals safeguarding
	$(BIN)/python scripts/check_layout.py
	DEMO_MODE=1 DATABASE_URL=sqlite:// $(BIN)/python manage.py check --fail-level WARNING
	DEMO_MODE=1 DATABASE_URL=sqlite:// $(BIN)/python manage.py makemigrations --check --dry-run
	# Security gates: no high-severity finding, no dependency with a known vulnerability
	# (when its advisory source does not answer it says so loudly; PIP_AUDIT_STRICT=1 fails then).
	$(BIN)/bandit -q -r agencies referrals safeguarding --severity-level high
	$(BIN)/python scripts/pip_audit_gate.py

.PHONY: test
test: deps system-deps lint
	$(BIN)/pytest $(PYTEST_ARGS)

# About 30 minutes on 2 cores the first time (the datasets, 10,000,000 audit events among them,
# are then kept under .data/bench). The HTTP loads are Python's own (bench/load.py): no wrk.
.PHONY: bench
bench: deps system-deps
	$(BIN)/python -m bench
	$(BIN)/python -m bench.matching

.PHONY: clean
clean:
	rm -rf $(DATA) .pytest_cache .mypy_cache .ruff_cache
