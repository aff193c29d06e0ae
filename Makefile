# CX Host — two commands: `make demo` serves the demo restaurant, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/cxhost
HOST_PORT ?= 127.0.0.1:8000

.PHONY: demo test test-sqlite test-postgres lint bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py runserver $(HOST_PORT)

# Checks run with the test settings: production's refuse to start without a SECRET_KEY.
lint: $(VENV)/.installed
	$(PY) -m ruff check .
	DJANGO_SETTINGS_MODULE=cxhost.test_settings $(PY) manage.py makemigrations --check --dry-run

test-sqlite: $(VENV)/.installed
	$(PY) -m pytest

# PostgreSQL runs everything, the concurrency proof included. Unreachable is a
# loud notice locally and a failure when REQUIRE_POSTGRES is set (as in CI).
test-postgres: $(VENV)/.installed
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(PG_URL)'.rsplit('/', 1)[0] + '/postgres', connect_timeout=3).close()" 2>/dev/null; then \
		DATABASE_URL=$(PG_URL) $(PY) -m pytest; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is unreachable at $(PG_URL) and REQUIRE_POSTGRES is set: failing." >&2; exit 1; \
	else \
		echo "!! PostgreSQL is unreachable at $(PG_URL): the PostgreSQL tests (concurrency proof) did NOT run."; \
	fi

test: lint test-sqlite test-postgres

bench: $(VENV)/.installed
	$(PY) bench/availability.py
