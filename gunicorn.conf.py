"""gunicorn's production settings (`make prod`), each overridable from the environment.

The worker model is gthread: a few processes, several threads each. A booking waits for its restaurant-day's
lock in PostgreSQL (up to BOOKING_LOCK_TIMEOUT_MS) and a request spends much of its time waiting on the
database; with sync workers a handful of such waits occupy every worker and the whole site stalls (issue 9:
one day's lock held 15 s made /healthz/ and other days wait 12 s on 4 sync workers). With threads a waiting
request holds one thread, and the other threads of the same process go on answering. Processes are for the
CPU work (the availability engine holds the GIL): one per core. Threads are for the waiting: 8 per process,
so 16 requests in flight on this 2-core machine. Each thread keeps one PostgreSQL connection (CONN_MAX_AGE),
so a node opens at most WEB_CONCURRENCY × GUNICORN_THREADS connections. Async workers (gevent) were not
chosen: Django's ORM is synchronous and psycopg would have to be patched for green threads.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# Longer than the booking lock's wait (10 s) and the slowest honest request; a request past it is killed.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
keepalive = 5
# Restart a worker now and then (staggered), so slow leaks never build up.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # empty: no access log
errorlog = "-"
# No runtime control socket: nothing here uses it, and every gunicorn on a machine would share its default path.
control_socket_disable = True
# Forwarded headers say a request came over https; they are trusted only from the TLS proxy's addresses in
# FORWARDED_ALLOW_IPS (comma-separated), none by default. gunicorn's own default trusts 127.0.0.1, so any local
# process, or a local proxy passing on a client's header, could make plain http look secure (no https redirect,
# HSTS and Secure cookies over http).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")
# Only the header our proxy is documented to set (as SECURE_PROXY_SSL_HEADER reads it): a proxy that sets it may
# still pass a client's X-Forwarded-Ssl or X-Forwarded-Protocol through untouched.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
