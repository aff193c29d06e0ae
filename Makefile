# CX Host — two commands: `make demo` serves the demo restaurant, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PG_URL ?= postgres://postgres@127.0.0.1:5432/cxhost
# Where `make demo` serves: a port (`make demo HOST_PORT=8080`) or an address and port (`HOST_PORT=0.0.0.0:8000`).
HOST_PORT ?= 127.0.0.1:8000
# The background-work tests run a real Celery worker on this Redis (a database number of their own).
REDIS_TEST_URL ?= redis://127.0.0.1:6379/7

.PHONY: demo prod prod-smoke test-prod-install bench-prod bench-chain bench-sites fault-run test test-sqlite test-postgres check-redis lint bench worker beat screenshots messages fuzz

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py runserver $(HOST_PORT)

# The production shape (README, "Production and scaling out"): gunicorn (gthread), a Celery worker and one beat,
# whitenoise's static files, DEBUG off. Needs SECRET_KEY, DATABASE_URL (PostgreSQL) and REDIS_URL; refuses without.
prod: $(VENV)/.installed
	scripts/prod.sh

# The production install, proven (README, "Production and scaling out"): a fresh venv from requirements.txt alone
# (never the dev requirements) runs scripts/prod.sh on a PostgreSQL database (SMOKE_PG_URL, dropped) and a
# redis-server of its own, and a booking's confirmation SMS reaches a local Twilio. No .venv needed.
prod-smoke:
	$(PYTHON) scripts/prod_smoke.py

# `make test`'s step: PostgreSQL unreachable is a loud notice locally and a failure when REQUIRE_POSTGRES is set.
test-prod-install:
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || [ -n "$$SMOKE_PG_URL" ]; then \
		$(PYTHON) scripts/prod_smoke.py; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is unreachable at 127.0.0.1:5432 and REQUIRE_POSTGRES is set: failing." >&2; exit 1; \
	else \
		echo "!! PostgreSQL is unreachable at 127.0.0.1:5432: the production-install smoke test did NOT run."; \
	fi

# Checks run with the test settings: production's refuse to start without a SECRET_KEY.
lint: $(VENV)/.installed
	$(PY) -m ruff check .
	DJANGO_SETTINGS_MODULE=cxhost.test_settings $(PY) manage.py makemigrations --check --dry-run

# SQLite runs everything but the PostgreSQL-only proofs, the front desk in Chromium (tests/browser/) included.
test-sqlite: $(VENV)/.installed
	$(PY) -m pytest

# PostgreSQL runs everything, the concurrency proof included, but the browser tests: they prove what a person
# sees, which the database does not change, and they ran on SQLite already. Unreachable is a
# loud notice locally and a failure when REQUIRE_POSTGRES is set (as in CI).
test-postgres: $(VENV)/.installed
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(PG_URL)'.rsplit('/', 1)[0] + '/postgres', connect_timeout=3).close()" 2>/dev/null; then \
		DATABASE_URL=$(PG_URL) CXHOST_TEST_REDIS_URL=$(REDIS_TEST_URL) $(PY) -m pytest -m "not browser"; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is unreachable at $(PG_URL) and REQUIRE_POSTGRES is set: failing." >&2; exit 1; \
	else \
		echo "!! PostgreSQL is unreachable at $(PG_URL): the PostgreSQL tests (concurrency proof) did NOT run."; \
	fi

# The PostgreSQL pass runs a real worker on Redis (and a redis-server of its own for the fault test).
# Unreachable is a loud notice locally and a failure when REQUIRE_REDIS is set (as in CI).
check-redis:
	@if $(PY) -c "import redis; redis.Redis.from_url('$(REDIS_TEST_URL)', socket_connect_timeout=3).ping()" 2>/dev/null \
		&& command -v redis-server >/dev/null; then \
		echo "Redis: reachable at $(REDIS_TEST_URL)"; \
	elif [ -n "$$REQUIRE_REDIS" ]; then \
		echo "Redis is unreachable at $(REDIS_TEST_URL) (or redis-server is not installed) and REQUIRE_REDIS is set: failing." >&2; exit 1; \
	else \
		echo "!! Redis is unreachable at $(REDIS_TEST_URL): the background-work tests (a real worker) will FAIL."; \
	fi

test: lint check-redis test-prod-install test-sqlite test-postgres

# Schemathesis over the whole OpenAPI schema, alone (it is part of `make test` too); on SQLite, or on PostgreSQL
# with DATABASE_URL=postgres://… . FUZZ_EXAMPLES (default 20 per operation and caller) searches harder.
fuzz: $(VENV)/.installed
	$(PY) -m pytest tests/fuzz -q

# Background work against Redis (see the README): REDIS_URL=redis://127.0.0.1:6379/0 make worker / make beat
worker:
	$(VENV)/bin/celery -A cxhost worker --loglevel=INFO

beat:
	$(VENV)/bin/celery -A cxhost beat --loglevel=INFO --schedule /tmp/cxhost-celerybeat-schedule

bench: $(VENV)/.installed
	$(PY) bench/availability.py
	$(PY) bench/desk.py

# The production worker model under a held evening lock, sync vs gthread, with and without connection reuse
# (README, "Production and scaling out"). Needs a PostgreSQL database of its own: it is migrated and seeded.
BENCH_PG_URL ?= postgres://postgres@127.0.0.1:5432/cxhost_bench
bench-prod: $(VENV)/.installed
	DATABASE_URL=$(BENCH_PG_URL) $(PY) bench/prod_shape.py

# Load with faults (README, "Load and fault run"): the production shape on a PostgreSQL and a Redis of its own
# (spare ports, a temporary folder; never the machine's), Redis, a web worker, the Celery worker and the database
# failing under steady traffic; then the checks, as a table. FAULT_RUN_SECONDS=45 is CI's short version.
FAULT_RUN_SECONDS ?= 120
fault-run: $(VENV)/.installed
	$(PY) bench/fault_run.py --seconds $(FAULT_RUN_SECONDS)
# Chain scale (issue 9) at `big`, end to end: seed_load builds it in BENCH_PG_URL when missing, then day
# availability (bench/chain.py), bookings on PostgreSQL and SQLite through gunicorn gthread with 1 and 8
# clients (bench/bookings.py: the same seed built once a day into /tmp for SQLite, a few minutes), and the
# desk for a full evening (bench/desk.py --big), and the chain's 20 sites (bench/sites.py, below). Redis
# database BENCH_REDIS_URL is flushed by it.
# Not the tests' database (REDIS_TEST_URL): the benches flush it.
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/8
bench-chain: $(VENV)/.installed
	DATABASE_URL=$(BENCH_PG_URL) $(PY) bench/chain.py
	DATABASE_URL=$(BENCH_PG_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/bookings.py
	DATABASE_URL=$(BENCH_PG_URL) $(PY) bench/desk.py --big
	DATABASE_URL=$(BENCH_PG_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/sites.py

# Many restaurants on one deployment (README, "Benchmarks"): 20 sites of one group (seed_load --sites 20 when
# missing) in BENCH_PG_URL, gunicorn's production shape with and without a shared Redis cache (BENCH_REDIS_URL,
# flushed): availability round-robin over the sites, set-up loads across processes, the throttle across workers.
bench-sites: $(VENV)/.installed
	DATABASE_URL=$(BENCH_PG_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/sites.py

# The browser tests save what they saw; this keeps the committed pictures of the desk (README, docs/) fresh.
screenshots: $(VENV)/.installed
	CXHOST_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q -p no:randomly tests/browser

# The desk's Ukrainian and Russian: collect the marked strings into locale/*/django.po, translate the new ones
# there, then run this again to compile. The compiled .mo files are committed, so a clone (`make demo`,
# `make test`) needs no gettext; refreshing them does, and stops here without it.
LOCALES := uk ru
messages: $(VENV)/.installed
	@command -v msgfmt >/dev/null && command -v xgettext >/dev/null || { \
		echo "!! GNU gettext (msgfmt, xgettext) is not installed: apt-get install gettext" >&2; exit 1; }
	DJANGO_SETTINGS_MODULE=cxhost.test_settings $(PY) manage.py makemessages --no-location --no-obsolete \
		$(addprefix -l ,$(LOCALES)) --ignore=.venv --ignore=staticfiles --ignore=tests --ignore=bench
	@for lang in $(LOCALES); do \
		msgfmt --check -o locale/$$lang/LC_MESSAGES/django.mo locale/$$lang/LC_MESSAGES/django.po || exit 1; \
	done
	@echo "Compiled. tests/test_i18n.py fails while a string has no translation."
