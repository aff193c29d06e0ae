"""GET /healthz/: is the database answering, and the broker (or are tasks run in-process)?"""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        return "down"


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
    healthy = all(state in ("ok", "eager") for state in report.values())
    return JsonResponse(report, status=200 if healthy else 503)
