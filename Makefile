# The two commands README gives: `make demo` (install and run) and `make test` (install what tests need, run them).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-dev system-packages frontend lint bench

demo: install frontend
	$(BIN)/luoshi demo --host $${LUOSHI_HOST:-127.0.0.1} --port $${LUOSHI_PORT:-8000}

# Tests run on TEST_WORKERS pytest-xdist workers, each with its own database, Redis DB and data dir
# (docs/TESTING.md); whole files go to one worker, so a module's costly set-up is built once. TEST_WORKERS=0: serial.
TEST_WORKERS ?= 3

test: system-packages install-dev frontend
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'

frontend:
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

# Debian's Chromium (browser tests; never a downloaded browser), CJK fonts (documents, screenshots) and Pango
# (WeasyPrint's PDF layout).
system-packages:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ] || ! ldconfig -p | grep -q libpangoft2; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0; \
	fi

lint:
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Performance figures (docs/PERFORMANCE.md): seeds luoshi_bench_run if needed, installs Debian's wrk if missing, then
# measures Luoshi against a bare FastAPI + psycopg endpoint (~6 min). Needs PostgreSQL and Redis as `make test` does.
bench: install frontend
	$(BIN)/python bench/run.py $(BENCH_ARGS)
