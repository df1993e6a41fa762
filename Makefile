# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
DEMO_DIR ?= demo-out
PYTEST_ARGS ?=

.PHONY: torch install dev demo demo-learn test lint bench clean

# Keep a torch that is already installed (e.g. a CUDA build); otherwise pin the release we test
# with, since an unpinned torch may pull several GB of CUDA packages.
TORCH ?= torch==2.13.0

torch:
	@$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install -q "$(TORCH)"

install: torch
	$(PIP) install -q .

dev: torch
	$(PIP) install -q -e ".[dev]"

# Every pipeline step on tiny data in a few minutes (it shows the steps, not learning).
demo: install
	$(PYTHON) -m mgrdark_train.demo --out $(DEMO_DIR)

# The learning demonstration: the tiny preset's full training (about 36 CPU-minutes).
demo-learn: install
	$(PYTHON) -m mgrdark_train.demo --learn --out $(DEMO_DIR)

test: dev
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

lint: dev
	ruff check .
	ruff format --check .

bench: dev
	$(PYTHON) bench/segment.py

clean:
	rm -rf $(DEMO_DIR) build *.egg-info .pytest_cache
