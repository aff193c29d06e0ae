"""The in-process scheduler's guards and clock (`cxhost.periodic`): off with a broker and in tests, on for the
embedded default's server; a periodic job runs on its interval and a deferred one at its moment."""

from __future__ import annotations

import threading
import time

from django.test import override_settings

from cxhost import periodic


def test_off_in_tests_and_whenever_a_broker_runs_beat():
    assert periodic.wanted() is False  # the test settings: no thread in the test process
    with override_settings(PERIODIC_IN_PROCESS=True, REDIS_URL="redis://127.0.0.1:6379/0"):
        assert periodic.wanted() is False  # production: beat runs the schedule
    with override_settings(PERIODIC_IN_PROCESS=True, REDIS_URL=""):
        assert periodic.wanted() is True  # make demo


def test_a_scheduled_job_runs_on_its_interval_and_a_deferred_one_at_its_moment():
    ran: list[tuple[str, float]] = []
    done = threading.Event()
    scheduler = periodic.Scheduler({})
    scheduler._push(time.monotonic() + 0.2, "every", lambda: ran.append(("every", time.monotonic())), 0.2)
    started = time.monotonic()
    scheduler.later(0.5, "once", lambda: (ran.append(("once", time.monotonic())), done.set()))
    scheduler.start()

    assert done.wait(5)
    scheduler.stop()
    scheduler.join(5)
    once = [at - started for name, at in ran if name == "once"]
    every = [at - started for name, at in ran if name == "every"]
    assert len(once) == 1 and 0.5 <= once[0] < 1.5
    assert len(every) >= 2 and every[0] >= 0.2
    assert not scheduler.is_alive()
