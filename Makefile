# The two commands: `make demo` runs the example ML pipeline, `make test` runs every check.
# Both create or reuse .venv and install what they need.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test test-exhaustive lint typecheck unit bench bench-quick bench-ab clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info >= (3, 11), "legato needs Python >= 3.11: make PYTHON=python3.11"'
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/digits/pipeline.py

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

# Also the cases marked `exhaustive`: more of what the default run already proves (every
# crash point of the write-ahead chain test, say); minutes more than `make test`.
test-exhaustive: $(STAMP)
	$(BIN)/pytest -q -m ''

# Benchmarks beside the peers (../shared/bench/peers, installed under /tmp/peers): writes
# benchmarks/results/*.csv, docs/benchmarks.md and docs/benchmarks-scale.png. Never run by `make test`.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

bench-quick: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py --quick --legato-only $(BENCH_ARGS)

# An engine change beside the engine before it, in one sitting: BASE is a git ref.
BASE ?= HEAD~1
bench-ab: $(BENCH_STAMP)
	$(BIN)/python benchmarks/ab.py --base $(BASE) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis build dist
