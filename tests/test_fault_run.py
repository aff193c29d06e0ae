"""The load run with faults, short: bench/fault_run.py for 45 s of load on its own PostgreSQL and Redis.

While clients book, change, walk in and text, the run kills Redis, a gunicorn worker and the Celery worker, and
stops the database for a few seconds; afterwards nothing may be lost or doubled (see the script's docstring).
Runs in the PostgreSQL pass (it needs PostgreSQL's binaries and redis-server); it touches no shared service.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.postgres

LOAD_SECONDS = 45


def test_a_short_load_run_with_faults_loses_nothing_and_answers_no_500(tmp_path):
    figures_file = tmp_path / "figures.json"
    run = subprocess.run(
        [sys.executable, str(PROJECT / "bench" / "fault_run.py"), "--seconds", str(LOAD_SECONDS),
         "--json", str(figures_file)],
        cwd=PROJECT, capture_output=True, text=True, timeout=900,
    )
    output = run.stdout[-6000:] + run.stderr[-4000:]
    assert figures_file.exists(), output
    figures = json.loads(figures_file.read_text())

    assert run.returncode == 0, output
    assert figures["violations"] == [], output
    # The run did what it says: real traffic, every fault, the database really away.
    assert figures["requests"] >= 150, output
    assert figures["created_seen"] >= 40, output
    assert [p["name"] for p in figures["phases"]] == [
        "broker restarted", "web worker killed", "Celery worker killed", "database down"], output
    assert figures["db_down_503"] >= 5 and figures["db_down_500"] == 0, output
    # What a guest and a restaurant would notice.
    assert figures["overlapping_tables"] == 0
    assert figures["peak_overbooked_covers"] <= figures["overbooking_cap"]
    assert figures["missing"] == [] and figures["extra"] == [] and figures["renamed"] == []
    assert figures["created_seen"] == figures["created_stored"]
    assert figures["confirmations_unsent"] == [] and figures["confirmations_twice"] == []
    assert figures["confirmations_sent"] == figures["confirmations_expected"] > 0
    assert figures["other_5xx"] == {} and figures["unanswered"] == []
