# Quick start: `make run` serves the app, `make test` runs the whole suite (what CI runs),
# `make test-fast` the quick tier for development: no browser, no `slow` test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
# torch for the test extras; CI pins the CPU build that is on local disk. Override on a GPU box,
# e.g. `make test TORCH_SPEC=torch`, to let pip pick the CUDA build.
TORCH_SPEC ?= torch==2.13.0
# pytest-xdist: one worker per core; a module's tests stay together, the browser tests share
# one worker (tests/conftest.py). `make test PYTEST_PAR=` runs them in one process.
PYTEST_PAR ?= -n auto --dist loadgroup

.PHONY: run test test-fast install install-dev lint bench clean-db

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[api]"

install-dev: $(BIN)/python
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[dev]"

run: install
	$(BIN)/sidebyside init --demo
	$(BIN)/sidebyside serve --port $(PORT)

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q $(PYTEST_PAR)

test-fast: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q $(PYTEST_PAR) -m "not slow and not browser"

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install-dev
	$(BIN)/python bench/judge_throughput.py
	$(BIN)/python bench/analysis_scale.py
	$(BIN)/python bench/assignment_scale.py
	$(BIN)/python bench/annotate_load.py
	$(BIN)/python bench/perplexity.py
	$(BIN)/python bench/ppi_coverage.py
	$(BIN)/python bench/allocation.py
	$(BIN)/python bench/allocation.py --claims

clean-db:
	rm -f data/sidebyside.db data/sidebyside.db-wal data/sidebyside.db-shm
