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

.PHONY: run test install chromium migrate lint typecheck bench clean

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(VENV)/bin/python requirements/base.txt requirements/dev.txt requirements/prod.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@touch $(STAMP)

install: $(STAMP) chromium

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

migrate: install
	DEBUG=1 $(PY) manage.py migrate --noinput

test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(MAKE) --no-print-directory typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

run: migrate
	@DEBUG=1 $(PY) manage.py create_demo_staff
	@DEBUG=1 $(PY) manage.py setup_schedules
	@DEBUG=1 $(PY) manage.py load_demo_cedulas
	@echo "Console: http://127.0.0.1:8000/admin/   Public site: http://127.0.0.1:8000/   Stand-in registry: http://127.0.0.1:8001/censo/consultar/"
	DEBUG=1 $(VENV)/bin/honcho start

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

clean:
	rm -rf $(VENV) var
