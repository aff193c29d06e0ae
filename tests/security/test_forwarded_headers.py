"""A live gunicorn with the production gunicorn.conf.py trusts a forwarded "this was https" only from the addresses
in FORWARDED_ALLOW_IPS (none by default). gunicorn's own default trusts 127.0.0.1: then any local process, or a
local proxy passing a client's header on, made plain http look secure to Django — no https redirect, HSTS and
secure cookies sent over http.

What a user notices is Django's `request.is_secure()`: an http request is redirected to https (301) and gets no
Strict-Transport-Security; a secure one is served (here the token endpoint's 405 for a GET) with HSTS.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import time

import pytest

from tests.concurrency.conftest import GUNICORN, PROJECT, _free_port, stop_group

PATH = "/api/v1/auth/token/"
START_TIMEOUT = 30.0


def get(port: int, **headers: str) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", PATH, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


@pytest.fixture
def production_gunicorn():
    """Start gunicorn as `make prod` does (its config file, production settings: https on), with the given
    FORWARDED_ALLOW_IPS (None: unset); answer its port."""
    started = []

    def start(forwarded_allow_ips: str | None) -> int:
        port = _free_port()
        env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
               "DJANGO_SETTINGS_MODULE": "cxhost.settings", "SECRET_KEY": "forwarded-test-" + "x" * 50,
               "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2",
               "GUNICORN_ACCESS_LOG": ""}
        if forwarded_allow_ips is not None:
            env["FORWARDED_ALLOW_IPS"] = forwarded_allow_ips
        process = subprocess.Popen([str(GUNICORN), "-c", str(PROJECT / "gunicorn.conf.py"), "cxhost.wsgi"],
                                   cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True)
        started.append(process)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited: {process.stderr.read().decode(errors='replace')[-3000:]}")
            try:
                get(port)
                return port
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not answer")
                time.sleep(0.2)

    yield start
    for process in started:
        stop_group(process)


def assert_treated_as_http(answer) -> None:
    status, headers = answer
    assert status == 301 and headers["location"].startswith("https://"), answer
    assert "strict-transport-security" not in headers


def test_forwarded_https_from_loopback_is_not_trusted_by_default(production_gunicorn):
    port = production_gunicorn(None)

    assert_treated_as_http(get(port))
    assert_treated_as_http(get(port, **{"X-Forwarded-Proto": "https"}))
    assert_treated_as_http(get(port, **{"X-Forwarded-Ssl": "on"}))
    assert_treated_as_http(get(port, **{"X-Forwarded-Protocol": "ssl"}))


def test_forwarded_https_is_trusted_from_the_configured_proxy_only_in_its_one_header(production_gunicorn):
    port = production_gunicorn("127.0.0.1")

    status, headers = get(port, **{"X-Forwarded-Proto": "https"})
    assert status == 405 and "strict-transport-security" in headers  # served as https: GET is not allowed here
    # Only the header the proxy is documented to set; another a client slipped through is not trusted.
    assert_treated_as_http(get(port, **{"X-Forwarded-Ssl": "on"}))
    assert_treated_as_http(get(port))
