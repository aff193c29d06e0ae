"""Settings for the test suite and the servers it starts: production's, plus the test-only seams.

pytest uses this module (pyproject.toml), and so do the live gunicorn servers of the concurrency proof.
"""

import os

# Tests have no secret to protect, and must run without DEBUG (production's error handling) from a fresh clone.
os.environ.setdefault("SECRET_KEY", "cxhost-test-suite-key-not-secret")
# The test client and the live test servers speak plain http: no redirect to https, cookies without `Secure`.
os.environ.setdefault("HTTPS", "0")

from .settings import *  # noqa: E402,F403
from .settings import env  # noqa: E402

# The concurrency proof's control run skips the restaurant-day lock to show what it prevents, and both runs
# widen the decide→write gap so that races really overlap.
CXHOST_UNSAFE_SKIP_BOOKING_LOCK = env.bool("CXHOST_UNSAFE_SKIP_BOOKING_LOCK", default=False)
CXHOST_BOOKING_RACE_DELAY_MS = env.int("CXHOST_BOOKING_RACE_DELAY_MS", default=0)
# The SMS fault tests kill a worker between the provider's answer (its id stored) and the `sent` mark.
CXHOST_SMS_SENT_MARK_DELAY_MS = env.int("CXHOST_SMS_SENT_MARK_DELAY_MS", default=0)
# No scheduler thread in the test process; a test serving the embedded default asks for one (PERIODIC_IN_PROCESS=1).
PERIODIC_IN_PROCESS = env.bool("PERIODIC_IN_PROCESS", default=False)
# The suite books hundreds of online parties from one address and one number range: the daily caps are out of
# its way unless a test sets them (tests/reservations/test_public_path.py), or the environment does.
PUBLIC_BOOKINGS_PER_PHONE_PER_DAY = env.int("PUBLIC_BOOKINGS_PER_PHONE_PER_DAY", default=1_000_000)
PUBLIC_BOOKINGS_PER_PREFIX_PER_DAY = env.int("PUBLIC_BOOKINGS_PER_PREFIX_PER_DAY", default=1_000_000)
PUBLIC_BOOKINGS_PER_ADDRESS_PER_DAY = env.int("PUBLIC_BOOKINGS_PER_ADDRESS_PER_DAY", default=1_000_000)
