# Arbor's two commands on a fresh machine: `make run` and `make test`. Each sets itself up first: a virtual
# environment in .venv with the versions pinned in the lock files (requirements.txt to run, requirements-test.txt
# to test), installed
# again only when a lock file changed. `make lock` refreshes the lock files from pyproject.toml.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The PostgreSQL database `make test-all` runs the suite on a second time, when a server answers.
PG_TEST_URL ?= postgresql://root@127.0.0.1:5432/test
# ... and with the Redis server at $(REDIS_TEST_URL) when one answers (else the embedded one again).
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0
PYTEST := $(BIN)/python -m pytest -n auto -q

# uv resolves the lock files; pip installs from them (it is in every venv, and reads this machine's pip.conf).
UV_VERSION ?= 0.13.9
LOCK := $(BIN)/uv pip compile -q --universal --python-version 3.11 --custom-compile-command "make lock" pyproject.toml

.PHONY: run test test-all bench lint lock setup setup-test test-tools chromium

# run: set up, then serve Arbor with the example bots on http://127.0.0.1:5000 (ARBOR_HOST, ARBOR_PORT)
run: setup
	$(BIN)/python app.py

# test: set up, then the test suite (on DATABASE_URL when set, else SQLite) and the linter, which runs even when
# a test failed; the exit status is the suite's, else the linter's
test: setup-test test-tools
	@status=0; $(PYTEST) || status=$$?; \
	$(BIN)/ruff check . || { [ $$status -ne 0 ] || status=1; }; \
	exit $$status

# test-all: the suite on SQLite with embedded Redis, then on PostgreSQL at $(PG_TEST_URL) (and real Redis) when
# they run; the linter
test-all: setup-test test-tools
	@status=0; \
	echo "env -u DATABASE_URL -u REDIS_URL $(PYTEST)"; \
	env -u DATABASE_URL -u REDIS_URL $(PYTEST) || status=$$?; \
	if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1; then \
		redis=$$(command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping 2>/dev/null | grep -q PONG && echo $(REDIS_TEST_URL)); \
		echo "DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$$redis $(PYTEST)"; \
		DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$$redis $(PYTEST) || status=$$?; \
	else \
		echo "PostgreSQL does not answer on 127.0.0.1 (pg_isready): the PostgreSQL run is skipped."; \
	fi; \
	$(BIN)/ruff check . || { [ $$status -ne 0 ] || status=1; }; \
	exit $$status

# bench: the benchmarks, which print their figures (one process, so the figures are comparable)
bench: setup-test test-tools
	$(BIN)/python -m pytest tests/bench -m bench -s -q -p no:xdist

# lint: ruff over the whole tree
lint: setup-test
	$(BIN)/ruff check .

# lock: pin every Python package again from pyproject.toml's ranges (the newest versions they allow today);
# run the tests before committing the new lock files
lock: | $(BIN)/pip
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)
	$(LOCK) -o requirements.txt
	$(LOCK) --extra production -c requirements.txt -o requirements-production.txt
	$(LOCK) --extra test -c requirements.txt -o requirements-test.txt

# setup: the virtual environment with what running needs (requirements.txt) and Arbor itself (editable);
# setup-test adds the test tools (requirements-test.txt)
setup: $(VENV)/.installed-run
setup-test: $(VENV)/.installed-test

define INSTALL_LOCKED
	$(BIN)/python -m pip install -q -r $<
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@
endef

$(VENV)/.installed-run: requirements.txt pyproject.toml | $(BIN)/pip
	$(INSTALL_LOCKED)

$(VENV)/.installed-test: requirements-test.txt pyproject.toml | $(BIN)/pip
	$(INSTALL_LOCKED)

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
docs: setup-test test-tools
	$(BIN)/python -m tests.e2e.screenshots
	ARBOR_SCREENSHOTS=1 $(BIN)/python -m pytest -q -p no:xdist tests/e2e/test_newcomer_walk.py tests/e2e/test_versions_browser.py
