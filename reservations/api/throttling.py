"""Rate limits that hold under concurrency: one atomic counter per client and window in the shared cache.

DRF's SimpleRateThrottle reads the client's history, decides, then writes it back: requests arriving together
all read the same history and all get through (8 simultaneous clients against a limit of 5 let 7 or 8 pass).
Here each request increments one counter (Redis INCR, atomic across processes and machines) and is let
through only if its own number is within the limit, so the limit holds however many arrive at once.

A fixed window: the counter for [k·duration, (k+1)·duration) lives in a key named after k. At a window's edge a
client may fit up to twice the limit into one `duration`; for a guard against abuse that is fine, and it costs
one round trip instead of a sliding log's several.
"""

from __future__ import annotations

import math

from rest_framework.throttling import AnonRateThrottle

# A window's key outlives its window by this much, so it can never expire while its window still counts into it
# (Django's `incr` on a key that vanished would recreate it without an expiry).
KEY_GRACE_SECONDS = 60


class AtomicAnonRateThrottle(AnonRateThrottle):
    """Per client address (see NUM_PROXIES), anonymous callers only, counted atomically in `self.cache`."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.wait_seconds = (window + 1) * self.duration - now
        return self.count(f"{self.key}:{window}") <= self.num_requests

    def count(self, key: str) -> int:
        """This request's number in the window: created at 0 by whoever comes first (`add` is SET NX), then
        incremented (INCR), each step atomic on its own."""
        self.cache.add(key, 0, timeout=self.duration + KEY_GRACE_SECONDS)
        return self.cache.incr(key)

    def wait(self) -> float:
        return max(1, math.ceil(self.wait_seconds))
