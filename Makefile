# Two commands on a fresh Debian machine (see README):
#   make run    install into .venv and serve the app on the shipped model
#   make test   install everything the tests need (Chromium and PostgreSQL too) and run the
#               whole suite

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-requirements
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT   ?= 5000
HOST   ?= 127.0.0.1

.PHONY: run serve test test-unit test-ui browser postgres bench bench-quick clean

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

run: $(STAMP)  ## the app on 127.0.0.1:$(PORT), served as in production
	$(PY) app.py --port $(PORT)

serve: $(STAMP)  ## production server: gunicorn, one worker process more than cores
	$(PY) app.py --host $(HOST) --port $(PORT)

# Debian's Chromium and its driver, only when missing (browser tests never download one).
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; else \
	  echo "Installing Debian's chromium and chromium-driver"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium chromium-driver; fi

# Debian's PostgreSQL server programs, only when missing: the feedback tests start a throwaway
# server of their own with them (`make run` needs no database server: SQLite by default).
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; else \
	  echo "Installing Debian's postgresql"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q postgresql; fi

test: $(STAMP) browser postgres  ## every test, the browser tests included
	$(PY) -m pytest

test-unit: $(STAMP) postgres  ## everything but the browser tests
	$(PY) -m pytest -m "not ui"

test-ui: $(STAMP) browser  ## only the browser tests
	$(PY) -m pytest -m ui

bench: $(STAMP)  ## all benchmarks, full size
	$(PY) -m benchmarks

bench-quick: $(STAMP)  ## all benchmarks in a few minutes
	$(PY) -m benchmarks --quick

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
