# Arbor's two commands on a fresh machine: `make run` and `make test`. Each sets itself up first:
# a virtual environment in .venv, and the packages of pyproject.toml installed again only when it changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The PostgreSQL database `make test-all` runs the suite on a second time, when a server answers.
PG_TEST_URL ?= postgresql://root@127.0.0.1:5432/test
# ... and with the Redis server at $(REDIS_TEST_URL) when one answers (else the embedded one again).
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0
PYTEST := $(BIN)/python -m pytest -n auto -q

.PHONY: run test test-all bench lint setup test-tools chromium

# run: set up, then serve Arbor with the example bots on http://127.0.0.1:5000 (ARBOR_HOST, ARBOR_PORT)
run: setup
	$(BIN)/python app.py

# test: set up, then the test suite (on DATABASE_URL when set, else SQLite) and the linter
test: setup test-tools
	$(PYTEST)
	$(BIN)/ruff check .

# test-all: the suite on SQLite with embedded Redis, then on PostgreSQL at $(PG_TEST_URL) (and real Redis) when
# they run; the linter
test-all: setup test-tools
	env -u DATABASE_URL -u REDIS_URL $(PYTEST)
	@if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1; then \
		redis=$$(command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping 2>/dev/null | grep -q PONG && echo $(REDIS_TEST_URL)); \
		echo "DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$$redis $(PYTEST)"; \
		DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$$redis $(PYTEST); \
	else \
		echo "PostgreSQL does not answer on 127.0.0.1 (pg_isready): the PostgreSQL run is skipped."; \
	fi
	$(BIN)/ruff check .

# bench: the benchmarks, which print their figures (one process, so the figures are comparable)
bench: setup test-tools
	$(BIN)/python -m pytest tests/bench -m bench -s -q -p no:xdist

# lint: ruff over the whole tree
lint: setup
	$(BIN)/ruff check .

# setup: the virtual environment with Arbor installed in it (editable) and the test tools
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml | $(BIN)/pip
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

# test-tools: what the browser tests and the widget benchmark need besides Python: Debian's chromium and the
# npm packages pinned in package-lock.json (terser; Microsoft's botframework-webchat, a second Direct Line client)
test-tools: chromium node_modules/.installed

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "Installing Debian's npm"; $(APT_INSTALL) npm; }
	npm ci --no-audit --no-fund
	touch $@

chromium:
	@command -v chromium >/dev/null || { echo "Installing Debian's chromium for the browser tests"; $(APT_INSTALL) chromium; }

# System packages are installed only when missing: as root on CI, with sudo elsewhere.
APT_INSTALL = sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq

# pip rather than python: a venv made without ensurepip has a python but cannot install anything.
$(BIN)/pip:
	$(PYTHON) -m venv $(VENV)

# docs: the pictures README.md and docs/ show (docs/screenshots/*.png), made again from a live Arbor in chromium
# (tests/e2e/screenshots.py; readme.png only where the markdown package is installed)
.PHONY: docs
docs: setup test-tools
	$(BIN)/python -m tests.e2e.screenshots
