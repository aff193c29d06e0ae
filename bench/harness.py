"""What every bench that talks to a real server needs: a spare port, a timed GET, percentiles, and stopping a
server's whole process group. The scripts run as `python bench/<name>.py`, so `import harness` finds this."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import statistics
import subprocess
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str) -> tuple[int, float]:
    """One GET on a new connection: (status, milliseconds)."""
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        response.read()
        return response.status, (time.perf_counter() - began) * 1000
    finally:
        conn.close()


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95)."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def stop_server(process: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM the server's process group (gunicorn's master and workers), SIGKILL what outlives `grace`."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        process.wait(timeout=10)


def wait_healthy(port: int, process: subprocess.Popen, *, seconds: float = 60, log: str = "") -> None:
    """Wait for a server we started to answer /healthz/ 200; stop it and exit if it does not in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if get(port, "/healthz/")[0] == 200:
                return
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    stop_server(process)
    raise SystemExit(f"gunicorn did not answer /healthz/ within {seconds:.0f} s" + (f": see {log}" if log else ""))
