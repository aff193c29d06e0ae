#!/usr/bin/env bash
# The production shape on one machine (`make prod`): migrate, collect the static files, then gunicorn (the web),
# one Celery worker and exactly one beat, all on the PostgreSQL and Redis the environment names. Ctrl-C stops all.
# More nodes: run gunicorn and workers on each; beat on ONE of them only (see the README).
# VENV names the virtualenv to run from (default .venv; the production smoke test passes one built from
# requirements.txt alone, so it runs exactly this script).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"

missing=()
for name in SECRET_KEY DATABASE_URL REDIS_URL; do
    [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "make prod: set ${missing[*]} (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxhost" \
         "REDIS_URL=redis://127.0.0.1:6379/0 CACHE_URL=redis://127.0.0.1:6379/1 SECRET_KEY=...)." >&2
    exit 2
fi
case "$DATABASE_URL" in
    postgres://*|postgresql://*) ;;
    *) echo "make prod: DATABASE_URL must be PostgreSQL: SQLite on one machine's disk cannot be shared." >&2; exit 2 ;;
esac
if [ -n "${DEBUG:-}" ] && [ "${DEBUG}" != "0" ] && [ "${DEBUG,,}" != "false" ]; then
    echo "make prod: DEBUG must be off." >&2; exit 2
fi
export DJANGO_SETTINGS_MODULE=cxhost.settings STATIC_MANIFEST=1
if [ "${SMS_BACKEND:-console}" = "file" ]; then
    echo "make prod: SMS_BACKEND=file writes to one machine's disk; use twilio (or console to try)." >&2; exit 2
fi

"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput --verbosity 0
if [ "${HTTPS:-1}" = "0" ]; then
    echo "make prod: HTTPS=0, plain http to try it on this machine: the TLS warnings below are expected." >&2
    "$PY" manage.py check --deploy
else
    "$PY" manage.py check --deploy --fail-level WARNING
fi

pids=()
stop() { trap - EXIT INT TERM; for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait; }
trap stop EXIT INT TERM
"$VENV/bin/celery" -A cxhost worker --loglevel=INFO & pids+=($!)
"$VENV/bin/celery" -A cxhost beat --loglevel=INFO --schedule "${CELERY_BEAT_SCHEDULE_FILE:-/tmp/cxhost-celerybeat-schedule}" & pids+=($!)
"$VENV/bin/gunicorn" -c gunicorn.conf.py cxhost.wsgi:application & pids+=($!)
# Any one of them ending ends the shape: a web without its worker is not production.
wait -n
