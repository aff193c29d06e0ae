"""CX Host settings: everything comes from the environment, with safe embedded defaults.

With no variable set but `DEBUG=1` the project runs on SQLite in the project
folder and runs background tasks in-process; `DATABASE_URL` and `REDIS_URL`
switch to PostgreSQL and a Celery broker. With `DEBUG` off (production) a
`SECRET_KEY` is mandatory. The test suite uses `cxhost.test_settings`.
"""

import warnings
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# Public, so only for development: anyone who knows it can forge sessions and password-reset links.
DEVELOPMENT_SECRET_KEY = "cxhost-insecure-development-key-never-use-in-production"
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY or SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    if not DEBUG:
        # After Zulip's get_mandatory_secret: refuse to start rather than run on a key the world knows.
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random string in production "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set DEBUG=1 for development."
        )
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if DEBUG or not ALLOWED_HOSTS:
    # localhost is always allowed in development and for the embedded demo.
    ALLOWED_HOSTS += ["localhost", "127.0.0.1", "[::1]", "testserver"]
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL] if PUBLIC_BASE_URL.startswith("http") else []

# Behind TLS (the default in production): secure cookies, HSTS and a redirect to https, each overridable.
# `HTTPS=0` runs production settings over plain http (trying `make prod` on localhost); DEBUG implies it.
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
# Load balancers probe health over plain http, inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=HTTPS)
# Said outright though they are Django's defaults: scripts never read the session, and neither cookie rides along
# on another site's cross-site POST.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Headers on every answer (SecurityMiddleware, XFrameOptionsMiddleware; the policy: ContentSecurityPolicyMiddleware).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# HSTS starts at one hour: a browser remembers it, so lengthen it (HSTS_SECONDS) once https is known to work.
SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=False)
# Opt-in, only behind a proxy that sets X-Forwarded-Proto itself (and strips the client's): trusted otherwise,
# any client could claim https.
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Whether every subdomain of the host serves https (HSTS_INCLUDE_SUBDOMAINS=1), and joining the browsers' preload
# list (HSTS_PRELOAD=1, hard to undo), are the operator's calls about their domain, not ours: not warned about.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "django_htmx",
    "simple_history",
    "reservations",
    "recovery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the user's own choice (the switcher's cookie), else the browser's; StaffLanguageMiddleware
    # then puts a desk user without a choice in their restaurant's language.
    "django.middleware.locale.LocaleMiddleware",
    "cxhost.middleware.ApiTrailingSlashMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The audit history's who (the request's user, DRF's token user included) and from where (by path).
    "simple_history.middleware.HistoryRequestMiddleware",
    "reservations.audit.AuditSourceMiddleware",
    "cxhost.middleware.StaffLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cxhost.middleware.ApiJsonErrorsMiddleware",
    "cxhost.middleware.ContentSecurityPolicyMiddleware",
    # Last: whatever a login view answered, a paused login gets the pause's 429 (cxhost/lockout.py).
    "cxhost.lockout.LoginLockoutMiddleware",
]

ROOT_URLCONF = "cxhost.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "cxhost.wsgi.application"

# Celery's broker, and the shared cache unless CACHE_URL says otherwise (see CACHES).
REDIS_URL = env("REDIS_URL", default="")
# A hung Redis (stopped, overloaded, a dead network path) accepts connections and never answers: every call to
# it from a request (publish, cache, rate limit, /healthz/) gives up after this, and after one has failed,
# calls to that Redis fail at once for REDIS_RETRY_AFTER_SECONDS (`cxhost/redis_guard.py`).
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=0.5)
REDIS_RETRY_AFTER_SECONDS = env.float("REDIS_RETRY_AFTER_SECONDS", default=5.0)

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers: take the write lock at BEGIN (no deadlocking
    # lock upgrades) and wait for it instead of answering "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A connection per request unless CONN_MAX_AGE says otherwise (bench/bookings.py keeps them, as on PostgreSQL).
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
else:
    # Persistent connections, checked before reuse: a new PostgreSQL connection per request cost more than the
    # request (/healthz/ 8 ms → 2.8 ms with reuse, issue 9). Chosen over Django 5's psycopg pool: gunicorn's gthread
    # workers give each thread its own connection either way, the pool needs another package and its own sizing,
    # and this bounds connections simply: web workers × threads + Celery concurrency, far under max_connections.
    # The health check (a cheap ping only when a reused connection is first touched) drops one the server closed
    # (a PostgreSQL restart, an idle timeout) instead of failing the request. Every session setting we make is
    # `SET LOCAL` (transaction-scoped), so nothing leaks from one request to the next on a reused connection.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))

# The cache holds the public throttles' counters and the restaurants' set-up: with REDIS_URL (several
# processes, several machines) it is Redis, so every process counts against one limit and a set-up loaded by
# one worker serves them all; without it, each process keeps its own in memory (the demo, one process).
# Its keys carry a prefix of their own, apart from Celery's; production should still give it a Redis database
# of its own (CACHE_URL=redis://…/1): `cache.clear()` empties the whole database it is given.
CACHE_URL = env("CACHE_URL", default=REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {
            # Django's Redis cache, skipping a Redis that failed moments ago (the throttle then lets requests
            # through uncounted, see the README).
            "BACKEND": "cxhost.redis_guard.GuardedRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "cxhost-cache",
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cxhost"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# The desk speaks English, Ukrainian and Russian (catalogues in locale/, compiled .mo files committed:
# `make messages` refreshes them). The API always answers in English: its words are the contract.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("uk", "Українська"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Pages where a member of staff who has not chosen a language gets their restaurant's.
STAFF_LANGUAGE_PATHS = ("/desk/", "/accounts/")
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production (`make prod`) collects the static files first and sets STATIC_MANIFEST=1: whitenoise then serves
# them compressed under content-hashed names, cacheable for ever. Without it (the demo, the tests) they are
# served from the apps' folders as they are, with no collectstatic step.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
# Staff log in to the front desk; the admin keeps its own login page.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "desk"
LOGOUT_REDIRECT_URL = "login"
# Django's 403 page, except for the desk's own htmx requests: a toast saying to reload.
CSRF_FAILURE_VIEW = "reservations.desk.frame.csrf_failure"

PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "E164"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an unauthenticated request is answered 401, not 403.
        "reservations.api.auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["reservations.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "reservations.api.errors.exception_handler",
    # The client's address is the connection's, not a header a client can set: X-Forwarded-For is read only
    # behind as many proxies as NUM_PROXIES says (each appends the address it saw).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_THROTTLE_RATES": {
        # Public endpoints (availability, online booking) are rate limited per client address.
        "public": env("PUBLIC_THROTTLE_RATE", default="1000/min"),
        # The guest's page (/b/<token>/): a guest opens it a few times; a token guesser would need millions.
        "guest_page": env("GUEST_PAGE_THROTTLE_RATE", default="120/min"),
    },
}

# API tokens (django-rest-knox): stored only as a hash, good for one shift (TOKEN_TTL_HOURS), revoked by logout and
# by any change of the user's password (reservations.signals). Sent as before: `Authorization: Token <token>`.
TOKEN_TTL_HOURS = env.int("TOKEN_TTL_HOURS", default=10)
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=TOKEN_TTL_HOURS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

# Brute-force protection on every password login: the desk's, the admin's and the token endpoint (OWASP's advice;
# the rules: reservations/services/logins.py). LOGIN_FAILURE_LIMIT failures of one username from one address within
# 15 minutes pause that pair for LOGIN_PAIR_LOCK_MINUTES; LOGIN_USERNAME_LIMIT failures of a username within an hour
# pause it with a doubling backoff up to LOGIN_USERNAME_MAX_LOCK_MINUTES, except from an address where that user
# logged in within LOGIN_TRUSTED_ADDRESS_DAYS; LOGIN_ADDRESS_LIMIT failures within an hour pause an address.
# Failures live in the database, so every web process sees the same counts.
AUTHENTICATION_BACKENDS = [
    "cxhost.lockout.LockoutModelBackend",
    "reservations.backends.MembershipRoleBackend",  # a manager's admin permissions, from their memberships
]
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_PAIR_LOCK_MINUTES = env.int("LOGIN_PAIR_LOCK_MINUTES", default=5)
LOGIN_USERNAME_LIMIT = env.int("LOGIN_USERNAME_LIMIT", default=10)
LOGIN_USERNAME_MAX_LOCK_MINUTES = env.int("LOGIN_USERNAME_MAX_LOCK_MINUTES", default=15)
LOGIN_TRUSTED_ADDRESS_DAYS = env.int("LOGIN_TRUSTED_ADDRESS_DAYS", default=30)
LOGIN_ADDRESS_LIMIT = env.int("LOGIN_ADDRESS_LIMIT", default=100)

SPECTACULAR_SETTINGS = {
    "TITLE": "CX Host API",
    "DESCRIPTION": "The restaurant book that refuses on purpose, rarely, and recoverably.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come with the package: the docs page works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # A booking's status appears in several serializers: one name for it in the schema.
    "ENUM_NAME_OVERRIDES": {"ReservationStatusEnum": "reservations.models.Reservation.Status"},
    # The errors every operation can give (400/401/403/404/409/413/415/422/429/503, one `Error` body), added
    # to each operation, a new one included; and /healthz/.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reservations.api.schema.add_standard_errors",
    ],
}

# Celery: with no REDIS_URL, tasks run in-process (the embedded default).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A booking must not wait on Redis, and the outbox row plus beat's re-dispatch make a task's loss harmless: a
# publish gives up on a broker that refuses at once, without retrying (kombu's default retries for seconds), and
# on one that hangs after REDIS_TIMEOUT_SECONDS (kombu's default socket_timeout is none: wait for ever).
# Connecting is bounded too (broker_connection_timeout, default 4 s); timed-out commands are never retried.
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT_SECONDS
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 0, "socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    "retry_on_timeout": False,
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "purge-idempotency-keys": {
        "task": "reservations.tasks.purge_idempotency_keys_task",
        "schedule": 3600.0,
    },
    "purge-expired-tokens": {
        "task": "reservations.tasks.purge_expired_tokens_task",
        "schedule": 3600.0,
    },
    "expire-waitlists": {
        "task": "reservations.tasks.expire_waitlists_task",
        "schedule": 600.0,
    },
    "prepare-pending-guests": {
        "task": "reservations.tasks.prepare_pending_guests_task",
        "schedule": 60.0,
    },
    # The outbox's safety net: messages whose task never reached a worker (the broker was down) go out now.
    "dispatch-pending-sms": {
        "task": "reservations.tasks.dispatch_pending_sms_task",
        "schedule": float(env.int("SMS_REDISPATCH_EVERY_SECONDS", default=30)),
    },
    "queue-sms-reminders": {
        "task": "reservations.tasks.queue_reminders_task",
        "schedule": 300.0,
    },
    "queue-sms-thank-yous": {
        "task": "reservations.tasks.queue_thank_yous_task",
        "schedule": 900.0,
    },
    # A long wait's case within a minute of the quote running out (its deadline is 5 minutes).
    "sweep-long-waits": {
        "task": "recovery.tasks.long_waits_sweep_task",
        "schedule": 60.0,
    },
    # Recovery offers' backstop: lapse unanswered offers, make the offers a lost trigger never made.
    "sweep-recovery-offers": {
        "task": "recovery.tasks.sweep_offers_task",
        "schedule": 30.0,
    },
}
# Without REDIS_URL there is no beat: the web server's process runs the schedule above itself (`cxhost.periodic`).
# Off with REDIS_URL whatever this says; the test settings turn it off unless a test's server asks.
PERIODIC_IN_PROCESS = env.bool("PERIODIC_IN_PROCESS", default=True)
# A freed table is held for the turned-away guest it is offered to this long; it is offered to guests who
# asked for a time within this many minutes of a start it can seat them at.
RECOVERY_OFFER_MINUTES = env.int("RECOVERY_OFFER_MINUTES", default=10)
RECOVERY_OFFER_WINDOW_MINUTES = env.int("RECOVERY_OFFER_WINDOW_MINUTES", default=30)
# The beat sweep (every 30 s) looks only at guests refused for a time from the offer window ago to this far
# ahead (a held-back table is released to the book shortly before its time: keep this above the rules'
# `release_minutes_before`), and at days where a table was given back in the last LOOKBACK minutes (a lost
# trigger's); at most SWEEP_LIMIT refusals a run, nearest time first, first refused first.
RECOVERY_SWEEP_AHEAD_MINUTES = env.int("RECOVERY_SWEEP_AHEAD_MINUTES", default=180)
RECOVERY_SWEEP_LOOKBACK_MINUTES = env.int("RECOVERY_SWEEP_LOOKBACK_MINUTES", default=15)
RECOVERY_SWEEP_LIMIT = env.int("RECOVERY_SWEEP_LIMIT", default=500)

SMS_BACKEND = env("SMS_BACKEND", default="console")
SMS_FILE_PATH = env("SMS_FILE_PATH", default=str(BASE_DIR / "sms.jsonl"))
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env("TWILIO_FROM", default="")
# Where the Twilio SDK sends its requests: Twilio itself, or a proxy (the tests point it at a local fake).
TWILIO_API_BASE_URL = env("TWILIO_API_BASE_URL", default="https://api.twilio.com").rstrip("/")
# A request to Twilio without an answer in this long is given up: a send's outcome is then unknown (asked later).
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10.0)
# A reminder goes this long before the booking (never for one made inside the window).
SMS_REMINDER_HOURS = env.int("SMS_REMINDER_HOURS", default=24)
# The thank-you goes the morning after a completed visit, from this local hour.
SMS_THANK_YOU_HOUR = env.int("SMS_THANK_YOU_HOUR", default=10)
# The guest's own page (the link in confirmations and reminders) shows a finished booking's state for this many
# days after it ends, and then answers "no longer valid": an old SMS is not a key to anything for ever.
GUEST_PAGE_DAYS_AFTER = env.int("GUEST_PAGE_DAYS_AFTER", default=3)
# A provider error is retried with exponential backoff (base × 2^n seconds); after the last attempt the
# message is failed and shown to staff.
SMS_MAX_ATTEMPTS = env.int("SMS_MAX_ATTEMPTS", default=5)
SMS_RETRY_BASE_SECONDS = env.int("SMS_RETRY_BASE_SECONDS", default=30)
# A pending message this long past its due moment lost its task (the broker was down): beat sends it again.
SMS_REDISPATCH_AFTER_SECONDS = env.int("SMS_REDISPATCH_AFTER_SECONDS", default=20)
# A message handed to the provider this long ago and never settled belongs to a worker that died mid-send
# (the provider call itself gives up after 10 s): with the provider's id stored it is sent; without, its fate
# is unknown and beat asks the provider what it has.
SMS_SENDING_STUCK_SECONDS = env.int("SMS_SENDING_STUCK_SECONDS", default=120)
# Asking the provider: its messages to the number sent from this long before the hand-over (clocks differ) …
SMS_LOOKUP_MARGIN_SECONDS = env.int("SMS_LOOKUP_MARGIN_SECONDS", default=60)
# … and "it never got it" is concluded only once this long has passed since the hand-over: Twilio's list is
# eventually consistent, and a request may still be arriving.
SMS_LOOKUP_GRACE_SECONDS = env.int("SMS_LOOKUP_GRACE_SECONDS", default=120)
# A message claimed this long ago but never handed to the provider belongs to a worker that died (or lost the
# database) before sending anything: beat puts it back and it is sent. Between claim and hand-over there are
# only a few quick queries; a worker merely slow there loses its claim and sends nothing (see `sms_send`).
SMS_CLAIM_STUCK_SECONDS = env.int("SMS_CLAIM_STUCK_SECONDS", default=60)

# Anonymous online bookings a day (UTC), counted in the database (reservations/services/public_caps.py): per
# phone number, per number prefix (the number without its last 4 digits: a block of 10,000 an SMS-pumping
# operator rotates through) and per client address (as the rate limit reads it, NUM_PROXIES). Past any of them
# 429 too_many_requests: nothing is booked and nothing texted. Staff bookings are not capped.
PUBLIC_BOOKINGS_PER_PHONE_PER_DAY = env.int("PUBLIC_BOOKINGS_PER_PHONE_PER_DAY", default=3)
PUBLIC_BOOKINGS_PER_PREFIX_PER_DAY = env.int("PUBLIC_BOOKINGS_PER_PREFIX_PER_DAY", default=20)
PUBLIC_BOOKINGS_PER_ADDRESS_PER_DAY = env.int("PUBLIC_BOOKINGS_PER_ADDRESS_PER_DAY", default=20)

# How long an idempotency key is remembered (the contract promises at least 24 h).
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
# A key still "in flight" after this long belongs to a request that died.
IDEMPOTENCY_IN_FLIGHT_SECONDS = env.int("IDEMPOTENCY_IN_FLIGHT_SECONDS", default=60)
# How long a booking waits for the restaurant-day lock before answering 409 book_busy.
BOOKING_LOCK_TIMEOUT_MS = env.int("BOOKING_LOCK_TIMEOUT_MS", default=10000)
# Test seams for the concurrency proof's control run, always off here: production reads no variable that
# could skip the booking lock or slow a booking down. Only `cxhost.test_settings` turns them on.
CXHOST_UNSAFE_SKIP_BOOKING_LOCK = False
CXHOST_BOOKING_RACE_DELAY_MS = 0
CXHOST_PREPARE_RACE_DELAY_MS = 0  # the same, between "prepared already?" and preparing a booking for the floor
CXHOST_CASE_RACE_DELAY_MS = 0  # the same, between "a case for this already?" and opening one
CXHOST_SMS_SENT_MARK_DELAY_MS = 0  # between storing the provider's id and the `sent` mark (a worker is killed there)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
