# The two commands: `make demo` runs the example ML pipeline, `make test` runs every check.
# Both create or reuse .venv and install what they need: `make demo` only what the example
# imports (the `demo` extra), `make test` the dev tools and every optional feature (the
# `dev` extra); on one .venv the second adds what the first did not install.
# `make dist` builds the sdist and the wheel into dist/.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: demo test test-exhaustive lint typecheck unit ui ui-screenshot dist bench bench-quick bench-ab clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info >= (3, 11), "legato needs Python >= 3.11: make PYTHON=python3.11"'
	$(BIN)/python -m pip install --quiet --upgrade pip

# legato, editable, with the extra the stamp is named after (.installed-demo: '.[demo]').
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$*]'
	@touch $@

demo: $(DEMO_STAMP)
	$(BIN)/python examples/digits/pipeline.py
	@echo "the legato command is $(BIN)/legato (or: source $(BIN)/activate, then legato)"

test: lint typecheck ui unit

# The web UI (ui/, React + TypeScript + Vite): its npm packages as package-lock.json pins
# them, the type check, the unit tests of its pure parts (vitest), and the build into
# src/legato/server/static (committed: `pip install legato[ui]` needs no Node). The browser
# tests under tests/ui run with `unit`, against what this built.
UI_MODULES := ui/node_modules/.installed

$(UI_MODULES): ui/package-lock.json
	@command -v npm > /dev/null || { echo "make test builds the web UI: install Node.js 20+ and npm"; exit 1; }
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

ui: $(UI_MODULES)
	cd ui && npm run --silent typecheck && npm test --silent && npm run --silent build

# docs/images/run-page.png, the README's screenshot: a real digits run's page, taken by the
# browser test that starts it.
ui-screenshot: $(STAMP) ui
	LEGATO_UI_DOCS=1 $(BIN)/pytest -q tests/ui -k turns_green

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The 25 slowest cases are listed at the end: the suite has a budget of about 10 minutes.
# The tests start hundreds of Python processes (the CLI, workers, append processes), each
# importing legato: its bytecode is compiled first, as an installed package's is, even where
# the shell turns bytecode caches off (PYTHONDONTWRITEBYTECODE: then only these are read).
# Checked against each source's hash, never its time, so an edit is never shadowed by an
# older cache (__pycache__, ignored by git).
COMPILE := $(BIN)/python -m compileall -q --invalidation-mode checked-hash src/legato

# Two workers (pytest-xdist), each taking whole files (a file's fixtures are set up once):
# half the suite's time is spent waiting on the processes it starts, so two workers on two
# cores finish in a little over half the time of one (818 s -> 445 s, the same 3,051 tests).
# Each worker has its own session: its own Ray cluster, S3 server, browser and PostgreSQL
# schema. TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2

unit: $(STAMP)
	$(COMPILE)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=25

# Also the cases marked `exhaustive`: more of what the default run already proves (every
# crash point of the write-ahead chain test, say); minutes more than `make test`.
test-exhaustive: $(STAMP)
	$(COMPILE)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile -m ''

# An sdist and a wheel in dist/, built by PEP 517 `build` in an isolated environment (hatchling
# from the package index pip is configured with); the wheel holds the package data
# (migrations, py.typed). Use it elsewhere: pip install 'dist/legato-VERSION-py3-none-any.whl[serve]'.
dist: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'build>=1.2'
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

# Benchmarks beside the peers (../shared/bench/peers, installed under /tmp/peers): writes
# benchmarks/results/*.csv, docs/benchmarks.md and docs/benchmarks-scale.png. Never run by `make test`.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)

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
