"""Beat's work without beat: the embedded default's (no REDIS_URL) periodic tasks, run in the web server's
process by one daemon thread.

Without a broker there is no worker and no beat, and nothing ran the sweeps: an offer never lapsed, no
long-wait case opened, no reminder went out (issue 16). This thread runs `CELERY_BEAT_SCHEDULE` on its
intervals, and a task sent with a countdown (an offer's expiry) at its moment, not at once as an eager send
would. It starts with the server (`cxhost.wsgi`: runserver's serving child, never its autoreloading parent,
and each gunicorn worker), never in management commands or tests unless `PERIODIC_IN_PROCESS` says so, and
never with REDIS_URL set (production runs beat). One per process: every scheduled task is already safe to run
twice, as beat's are (two nodes, a slow run overlapping the next).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_scheduler: Scheduler | None = None


class Scheduler(threading.Thread):
    """A heap of (when, job) on the monotonic clock; periodic jobs put themselves back after each run."""

    def __init__(self, schedule: dict[str, dict]) -> None:
        super().__init__(name="cxhost-periodic", daemon=True)
        self._heap: list[tuple[float, int, str, Callable[[], object], float | None]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        now = time.monotonic()
        for name, entry in schedule.items():
            every = float(entry["schedule"])
            # After one interval, as beat does: the server's start is not the moment to sweep.
            self._push(now + every, name, _task_runner(entry["task"]), every)

    def _push(self, when: float, name: str, run: Callable[[], object], every: float | None) -> None:
        with self._wake:
            heapq.heappush(self._heap, (when, next(self._order), name, run, every))
            self._wake.notify()

    def later(self, seconds: float, name: str, run: Callable[[], object]) -> None:
        """Run `run` once, `seconds` from now."""
        self._push(time.monotonic() + max(seconds, 0.0), name, run, None)

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()

    def run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._wake.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                if self._stopped:
                    return
                _, _, name, job, every = heapq.heappop(self._heap)
            close_old_connections()
            try:
                job()
            except Exception:  # one task's fault must not stop the others: logged, and run again next time
                logger.exception("in-process periodic task %s failed", name)
            finally:
                connections.close_all()  # this thread's own connections: never left open between runs
            if every is not None:
                self._push(time.monotonic() + every, name, job, every)


def _task_runner(task_name: str) -> Callable[[], object]:
    def run() -> object:
        # By its import path: a web process never ran the worker's autodiscovery, so the registry may lack it.
        return import_string(task_name).apply(throw=True).get()

    return run


def wanted() -> bool:
    return bool(getattr(settings, "PERIODIC_IN_PROCESS", False)) and not settings.REDIS_URL


def start() -> bool:
    """Start this process's scheduler if the settings want one and none runs yet; True if one runs."""
    global _scheduler
    if not wanted():
        return False
    with _lock:
        if _scheduler is None:
            _scheduler = Scheduler(settings.CELERY_BEAT_SCHEDULE)
            _scheduler.start()
            logger.info("periodic tasks run in-process (no REDIS_URL): %s", ", ".join(settings.CELERY_BEAT_SCHEDULE))
    return True


def defer(task, args: tuple, countdown: float) -> bool:
    """Run `task(*args)` `countdown` seconds from now on this process's scheduler; False when none runs
    (then an eager send runs it at once, as before, and the sweeps are the backstop)."""
    scheduler = _scheduler
    if scheduler is None or countdown <= 0:
        return False
    scheduler.later(countdown, task.name, lambda: task.apply(args, throw=True).get())
    return True
