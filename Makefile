# Calendar Hub — the two commands a newcomer needs: `make run` (demo) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench soak install chromium messages clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Demo: an emulated Google Workspace tenant, a seeded organization, the web app and one worker.
DEMO_ENV := DEBUG=1 GOOGLE_API_ENDPOINT=http://127.0.0.1:8765 DNS_NAMESERVERS=127.0.0.1:8053 \
	GOOGLE_SERVICE_ACCOUNT_FILE=$(CURDIR)/var/demo/service-account.json PUBLIC_BASE_URL=http://127.0.0.1:8000 \
	DEMO_MODE=1 EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend
run: $(STAMP)
	env $(DEMO_ENV) $(PY) manage.py rundemo

# Browser tests need Debian's Chromium; installed here when missing and running as root.
chromium:
	@if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || { echo "Could not install chromium"; exit 1; }; \
	  else echo "Chromium is missing: sudo apt-get install chromium (or set CHROMIUM_PATH)"; exit 1; fi; \
	fi

test: $(STAMP) chromium
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) -m bench

# Chaos, fault and load runs with real processes (gunicorn, run_workers, the emulator; PostgreSQL and Redis for
# the scale-out runs): convergence after SIGKILLs, isolation from storms, latency under load. Sizes are knobs (see
# bench/bench_soak.py); choose runs with SOAK=chaos,fault,load or run names.
soak: $(STAMP)
	$(PY) -m bench.bench_soak

messages: $(STAMP)
	$(PY) manage.py makemessages -l fr -l ko --ignore '.venv/*' --ignore 'google_emulator/*' --ignore 'tests/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'

clean:
	rm -rf var staticfiles .pytest_cache
