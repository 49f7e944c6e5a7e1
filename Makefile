PYTHON ?= python
PYTEST_ARGS ?=

.PHONY: help install test test-live lint format check-all bench profile profile-replay annotate proto clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install:  ## editable install with dev extras (builds the Cython extensions)
	$(PYTHON) -m pip install -e ".[dev]"

test:  ## run the test suite (no network beyond 127.0.0.1)
	$(PYTHON) -m pytest $(PYTEST_ARGS)

test-live:  ## also run the live-exchange tests (needs keys in the environment)
	ARB_LIVE_TESTS=1 $(PYTHON) -m pytest -m live $(PYTEST_ARGS)

lint:  ## ruff + mypy
	$(PYTHON) -m ruff check arb tests perf
	$(PYTHON) -m mypy

format:  ## ruff format + import sorting
	$(PYTHON) -m ruff check --fix --select I arb tests perf
	$(PYTHON) -m ruff format arb tests perf

check-all: lint test  ## lint, then test

bench:  ## run every benchmark in perf/ and print the tables
	$(PYTHON) perf/run.py

profile:  ## py-spy flame graph of the book benchmark (perf/out/*.svg)
	bash perf/profile.sh

annotate:  ## rebuild the Cython core with annotate HTML next to each .pyx
	ARB_CYTHON_ANNOTATE=1 $(PYTHON) setup.py build_ext --inplace --force

proto:  ## regenerate the MEXC protobuf classes from arb/venues/mexc/proto/*.proto
	$(PYTHON) -m grpc_tools.protoc -I arb/venues/mexc/proto --python_out=arb/venues/mexc/proto \
		--pyi_out=arb/venues/mexc/proto arb/venues/mexc/proto/*.proto

clean:  ## remove build outputs
	rm -rf build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis perf/out
	find arb -name '*.so' -delete -o -name '*.c' -delete -o -name '*.html' -delete
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

profile-replay:  ## py-spy flame graph of `arb-engine replay` (records the simulator first)
	PYTHON=$(PYTHON) bash perf/profile.sh replay
