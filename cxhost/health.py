"""GET /healthz/: is the database answering and taking writes, and the broker (or are tasks run in-process)?"""

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse

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


def _broker() -> str:
    if not settings.REDIS_URL:
        return "eager"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
        return "ok"
    except Exception:
        return "down"


def healthz(request):
    report = {"database": _database(), "broker": _broker()}
    if all(state in ("ok", "eager") for state in report.values()):
        return JsonResponse(report)
    return JsonResponse(report, status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})
