# Townsquare: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
# `make demo` installs only what serving needs (no torch/transformers/onnx: those are the training extra).
SERVE_STAMP := $(VENV)/.serving-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
TOWNSQUARE_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
export TOWNSQUARE_TEST_POSTGRES_URL
# One worker per core (pytest-xdist): each has its own databases, temp folders and server ports.
PYTEST_ARGS ?= -n auto

.PHONY: demo serve test test-sqlite test-postgres lint format bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,semantic,training]'
	@rm -f $(VENV)/.installed-*; touch $@ $(SERVE_STAMP)

$(SERVE_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[semantic]'
	@rm -f $(VENV)/.serving-*; touch $@

demo: $(SERVE_STAMP)  ## migrate, load demo data, start the service on embedded SQLite
	$(VENV)/bin/townsquare demo --host $(HOST) --port $(PORT)

serve: $(SERVE_STAMP)  ## start the service on the configured database
	$(VENV)/bin/townsquare db upgrade
	$(VENV)/bin/townsquare serve --host $(HOST) --port $(PORT)

test: $(STAMP)  ## every suite on SQLite, then again on PostgreSQL when one is reachable
	$(MAKE) --no-print-directory test-sqlite
	@if $(PY) scripts/pg_reachable.py; then \
		$(MAKE) --no-print-directory test-postgres; \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true but PostgreSQL is not reachable at $$TOWNSQUARE_TEST_POSTGRES_URL"; exit 1; \
	else \
		echo "PostgreSQL not reachable at $$TOWNSQUARE_TEST_POSTGRES_URL: PostgreSQL run skipped"; \
	fi

test-sqlite: $(STAMP)
	TOWNSQUARE_TEST_BACKEND=sqlite $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	TOWNSQUARE_TEST_BACKEND=postgres $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff format --check src tests bench migrations scripts
	$(VENV)/bin/ruff check src tests bench migrations scripts
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format src tests bench migrations scripts
	$(VENV)/bin/ruff check --fix src tests bench migrations scripts

bench: $(STAMP)  ## throughput and latency; JSON under bench/results/
	$(PY) bench/scale.py  # stream workers on PostgreSQL + Redis beside SQLite inline (needs both)
	$(PY) bench/ingest.py
	$(PY) bench/ingest.py --models fast --out bench/results/ingest-models.json
	$(PY) bench/detection.py
	$(PY) bench/ban_evasion.py
	$(PY) bench/brand_safety.py
	$(PY) bench/council.py
	$(PY) bench/workbench.py
	$(PY) bench/exposure.py --jobs 2  # the longest: six replays of a 50,000-post day

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
