# Two entry points for a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve build test lint bench test-deps

install: $(STAMP)

# torch first and pinned: 2.13.0 is the CPU build available from local disk;
# letting a dependency pick torch pulls a multi-GB CUDA build instead.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Serves on 127.0.0.1:8000; converts the bundled model and builds the index first when missing.
serve: install
	$(BIN)/concord serve

build: install
	$(BIN)/concord build

bench: install test-deps
	$(BIN)/python -m scripts.benchmark
	$(BIN)/python -m scripts.bench_arrivals --documents 100
	$(BIN)/python -m scripts.bench_scale
	$(BIN)/python -m scripts.bench_extract

test: install test-deps
	$(BIN)/python -m pytest

# The widget tests drive Debian's chromium and need a CJK font (else Chinese renders as boxes); the
# shared-store tests start a real PostgreSQL server. Installed through apt when missing and we are
# root; otherwise those tests fail saying what to install.
TEST_PACKAGES := chromium fonts-wqy-microhei postgresql
test-deps:
	@if ! command -v chromium >/dev/null || ! fc-list :lang=zh 2>/dev/null | grep -q . \
			|| ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(TEST_PACKAGES) >/dev/null; \
		else \
			echo "note: the tests need $(TEST_PACKAGES) (apt-get install $(TEST_PACKAGES))" >&2; \
		fi; \
	fi

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
