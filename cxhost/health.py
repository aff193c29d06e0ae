"""GET /healthz/: is the database answering and taking writes, and the broker (or are tasks run in-process)?"""

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse

from cxhost.redis_guard import GuardedRedis
from reservations.api.errors import DATABASE_RETRY_AFTER_SECONDS, database_read_only

# A write that changes nothing: a database that refuses writes (a read-only transaction default, a hot
# standby after a fail-over, a read-only file) refuses this too, while a bare SELECT would still pass.
WRITE_PROBE = "UPDATE django_migrations SET app = app WHERE 1 = 0"


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return "down"
    try:
        with connection.cursor() as cursor:
            cursor.execute(WRITE_PROBE)
    except DatabaseError as exc:
        return "read_only" if database_read_only(exc) else "down"
    return "ok"


# /healthz/ answers within a second whatever Redis does: a hung Redis costs the probe this much, and once a
# call to it has failed (here or in any request) the probe reports it down without waiting.
BROKER_PROBE_SECONDS = 0.5


def broker_transport_loads() -> bool:
    """Can Celery load its broker's transport here? An install that lacks one of its libraries (kombu's redis
    transport needs `packaging`, which only the `celery[redis]` extra brings) fails every hand-off while Redis
    itself answers a ping."""
    from kombu.transport import resolve_transport

    from cxhost.celery import app

    try:
        resolve_transport(app.conf.broker_url.split("://", 1)[0])
        return True
    except ImportError:
        return False


def _broker() -> str:
    if not settings.REDIS_URL:
        return "eager"
    if not broker_transport_loads():
        return "down"
    timeout = min(BROKER_PROBE_SECONDS, settings.REDIS_TIMEOUT_SECONDS)
    try:
        GuardedRedis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
        return "ok"
    except Exception:
        return "down"


def healthz(request):
    report = {"database": _database(), "broker": _broker()}
    if all(state in ("ok", "eager") for state in report.values()):
        return JsonResponse(report)
    return JsonResponse(report, status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})
