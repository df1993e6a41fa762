# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
DEMO_DIR ?= demo-out
PYTEST_ARGS ?=

.PHONY: install dev demo test lint bench clean

install:
	$(PIP) install -q .

dev:
	$(PIP) install -q -e ".[dev]"

demo: install
	$(PYTHON) -m mgrdark_data.demo --out $(DEMO_DIR)

test: dev
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

lint:
	ruff check .

bench: dev
	$(PYTHON) bench/segment.py

clean:
	rm -rf $(DEMO_DIR) build *.egg-info .pytest_cache
