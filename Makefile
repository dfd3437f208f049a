# The two commands of the README: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM_STAMP := var/.chromium
# The binary itself: Debian's /usr/bin/chromium-headless-shell is a wrapper script that does not exec it.
HEADLESS_SHELL := /usr/lib/chromium/chromium-headless-shell
PYTEST_ARGS ?=

.PHONY: run test quick install chromium migrate lint typecheck bench bench-smoke clean messages

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(VENV)/bin/python requirements/base.txt requirements/dev.txt requirements/prod.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@touch $(STAMP)

install: $(STAMP) chromium messages

# The Spanish catalogue (locale/) compiled with Python: no GNU gettext on the machine is needed.
messages: $(STAMP)
	@$(PY) -m ops.compile_messages

# A Chromium for Playwright, in order of preference: PLAYWRIGHT_CHROMIUM_EXECUTABLE; Debian's headless shell (what
# Playwright itself runs headless, about twice as fast per lookup as the full browser); as root, apt-get installs it
# (with the full browser beside it); Debian's /usr/bin/chromium; Playwright's own download. No browser download is
# reachable on some machines, so `playwright install` is the last resort, not the first. The path goes to var/.chromium.
chromium: $(STAMP)
	@mkdir -p var
	@if [ -n "$$PLAYWRIGHT_CHROMIUM_EXECUTABLE" ] && [ -x "$$PLAYWRIGHT_CHROMIUM_EXECUTABLE" ]; then \
		echo "$$PLAYWRIGHT_CHROMIUM_EXECUTABLE" > $(CHROMIUM_STAMP); \
	elif [ -x $(HEADLESS_SHELL) ]; then \
		echo $(HEADLESS_SHELL) > $(CHROMIUM_STAMP); \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell chromium) \
			>/dev/null 2>&1 && [ -x $(HEADLESS_SHELL) ]; then \
		echo $(HEADLESS_SHELL) > $(CHROMIUM_STAMP); \
	elif [ -x /usr/bin/chromium ]; then \
		echo /usr/bin/chromium > $(CHROMIUM_STAMP); \
	elif $(PY) -m playwright install chromium >/dev/null 2>&1; then \
		echo playwright > $(CHROMIUM_STAMP); \
	else \
		echo "error: no Chromium for Playwright. Install Debian's 'chromium-headless-shell' (or 'chromium') package," \
		     "run '$(PY) -m playwright install chromium', or set PLAYWRIGHT_CHROMIUM_EXECUTABLE." >&2; \
		exit 1; \
	fi
	@echo "chromium: $$(cat $(CHROMIUM_STAMP))"

# Every Django command of the development path goes through ./dev (OPS_DEV=1: var/dev.env, DEBUG=1, a generated key).
migrate: install
	./dev migrate --noinput

# The whole suite in three runs: the tests that need no Chromium, qcluster or stand-in in parallel on TEST_WORKERS
# cores (pytest-xdist, a test database each and, on Redis, a Redis database each: tests/xdist_redis.py; 0 runs them
# in this process), then the integration tests side by side on INTEGRATION_WORKERS (mostly waiting: gaps, backoffs,
# outages), then the ones marked `serial` alone (they measure real time against a bound: ETAs, tokens ready in time).
TEST_WORKERS ?= 2
INTEGRATION_WORKERS ?= 2
# TEST_LINT=0 skips ruff and mypy (.ci/run's second profile: the same code was checked on the first).
TEST_LINT ?= 1
PYTEST := $(PY) -m pytest -p tests.xdist_redis
test: install
	@if [ "$(TEST_LINT)" != 0 ]; then $(MAKE) --no-print-directory lint; fi
	$(PYTEST) -m "not integration" -n $(TEST_WORKERS) -p no:cacheprovider $(PYTEST_ARGS)
	$(PYTEST) -m "integration and not serial" -n $(INTEGRATION_WORKERS) -p no:cacheprovider $(PYTEST_ARGS)
	$(PYTEST) -m "integration and serial" -p no:cacheprovider $(PYTEST_ARGS)

# The fast loop while at work: every test not marked `integration` (no Chromium, no qcluster, no stand-in site), in
# parallel on every core (pytest-xdist; each worker gets its own test database, test.sqlite3_gw0 ...). No lint.
QUICK_WORKERS ?= auto
quick: $(STAMP) messages
	$(PY) -m pytest -m "not integration" -n $(QUICK_WORKERS) -p no:cacheprovider $(PYTEST_ARGS)

run: migrate
	@./dev create_demo_staff
	@./dev setup_schedules
	@./dev load_demo_cedulas
	@echo "Console: http://127.0.0.1:8000/admin/   Public site: http://127.0.0.1:8000/   Stand-in registry: http://127.0.0.1:8001/censo/consultar/"
	REGISTRY_SOURCES=$${REGISTRY_SOURCES:-wsp,consultacenso} \
	REGISTRY_CONSULTACENSO_URL=$${REGISTRY_CONSULTACENSO_URL:-http://127.0.0.1:8001/consultacenso/} \
	$(VENV)/bin/honcho start

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(MAKE) --no-print-directory typecheck

# mypy with django-stubs (config in pyproject.toml). The stubs' plugin imports the settings, which want a SECRET_KEY:
# a placeholder that only this read-only check sees.
typecheck: $(STAMP)
	SECRET_KEY=mypy-settings-import-only OPS_IGNORE_DOTENV=1 $(PY) -m mypy

bench: install
	$(PY) bench/lookup_bench.py
	$(PY) bench/queue_bench.py
	$(PY) bench/import_bench.py
	$(PY) bench/console_bench.py

# Every bench/*.py once at its tiny size (BENCH_SMOKE=1): CI's check that each still measures the page it names.
bench-smoke: install
	$(PY) -m devtools.bench_smoke

clean:
	rm -rf $(VENV) var
