# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each sets up what it needs first: the virtual environment, native BLAS where the system allows,
# and the Delta JARs resolved into Spark's Ivy cache (deploy/fetch-jars.sh says why and how).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DATA_DIR ?= data

.PHONY: setup bench-setup demo test test-fast lint format package clean

setup: $(INSTALLED)
	@bash deploy/setup-system.sh
	@bash deploy/fetch-jars.sh

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable ".[local,dev]"
	touch $(INSTALLED)

# The reference libraries the benchmarks in bench/ compare against (DuckDB, implicit).
bench-setup: setup
	$(BIN)/pip install --quiet --editable ".[local,dev,bench]"

demo: setup
	$(BIN)/spinback demo --data-dir $(DATA_DIR)

test: setup
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not heavy"

lint: setup
	$(BIN)/ruff check src tests jobs bench notebooks
	$(BIN)/ruff format --check src tests jobs bench notebooks
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format src tests jobs bench notebooks
	$(BIN)/ruff check --fix src tests jobs bench notebooks

package: setup
	bash deploy/package.sh

clean:
	rm -rf $(VENV) dist build $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
