"""Production settings refuse danger: no start without a SECRET_KEY, and no test seam read from the environment.

Each case starts a fresh interpreter, as a deployment would, with only the variables it names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.DEBUG, s.SECRET_KEY, s.CXHOST_UNSAFE_SKIP_BOOKING_LOCK, s.CXHOST_BOOKING_RACE_DELAY_MS]))"
)
SEAMS = {"CXHOST_UNSAFE_SKIP_BOOKING_LOCK": "1", "CXHOST_BOOKING_RACE_DELAY_MS": "250"}


def start(settings_module: str, argv: list[str], **variables: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "DJANGO_SETTINGS_MODULE": settings_module, **variables}
    return subprocess.run([sys.executable, *argv], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60)


def shown(settings_module: str, **variables: str) -> list:
    result = start(settings_module, ["-c", SHOW], **variables)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "variables",
    [{}, {"DEBUG": "0"}, {"DEBUG": "false", "SECRET_KEY": ""}],
    ids=["nothing set", "DEBUG=0", "empty SECRET_KEY"],
)
def test_production_refuses_to_start_without_a_secret_key(variables):
    result = start("cxhost.settings", ["manage.py", "check"], **variables)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr, result.stderr[-2000:]


def test_production_refuses_the_public_development_key():
    from cxhost.settings import DEVELOPMENT_SECRET_KEY

    result = start("cxhost.settings", ["manage.py", "check"], SECRET_KEY=DEVELOPMENT_SECRET_KEY)

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_starts_with_a_secret_key_and_development_without_one():
    assert shown("cxhost.settings", SECRET_KEY="a-real-secret-of-some-length")[:2] == [False,
                                                                                     "a-real-secret-of-some-length"]
    debug, key, *_ = shown("cxhost.settings", DEBUG="1")
    assert debug is True and key  # the development key, which only DEBUG may use


def test_production_reads_no_test_seam_from_the_environment():
    assert shown("cxhost.settings", SECRET_KEY="a-real-secret-of-some-length", **SEAMS)[2:] == [False, 0]


def test_the_test_settings_read_the_seams_and_need_no_secret():
    debug, key, skip_lock, delay_ms = shown("cxhost.test_settings", **SEAMS)

    assert (debug, skip_lock, delay_ms) == (False, True, 250)
    assert key
    assert shown("cxhost.test_settings")[2:] == [False, 0]
