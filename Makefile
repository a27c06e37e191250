# Two commands for a fresh machine: `make run` (the whole system) and `make test` (every test layer).
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
# bytecode compiled once at set-up: the CLI then starts in well under 0.5 s even where Python may not
# write its caches (PYTHONDONTWRITEBYTECODE, read-only trees); see the README's benchmark section
export UV_COMPILE_BYTECODE := 1
SOURCES := src contracts/src libs/runtime/src services/intake/src services/eligibility/src services/audit/src services/notify/src

.PHONY: run test setup uv lint docs docs-check bench

uv:
	@command -v uv >/dev/null 2>&1 || [ -x "$(UV)" ] || python3 -m pip install --quiet --disable-pip-version-check uv

setup: uv
	@$(UV) sync --frozen --quiet --compile-bytecode
	@$(UV) run --frozen --no-sync python -m compileall -q -j 0 $(SOURCES) >/dev/null

run: setup
	$(UV) run iub up

test: setup
	@bash .ci/install-system-deps.sh
	$(UV) run pytest

lint: setup
	$(UV) run ruff check .

docs: setup
	$(UV) run iub docs build

docs-check: setup
	$(UV) run iub docs build --check

bench: setup
	$(UV) run python bench/run.py
