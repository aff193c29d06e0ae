"""Rate limits that hold under concurrency: one atomic counter per client in the shared cache.

DRF's SimpleRateThrottle reads the client's history, decides, then writes it back: requests arriving together
all read the same history and all get through (8 simultaneous clients against a limit of 5 let 6 to 8 pass).
Here each request increments one counter (Redis INCR, atomic across processes and machines) and is let through
only if its own number is within the limit, so the limit holds however many arrive at once.

A fixed window that starts at the client's first request: the counter is created (SET NX) with the window's
length as its expiry, and the next window starts once it has expired. A client may fit up to twice the limit into
one window's length across the edge; for a guard against abuse that is fine, and it costs two round trips instead
of a sliding log's several.
"""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle


class AtomicRateThrottle(SimpleRateThrottle):
    """Per user for a logged-in caller (a token or a desk session), else per client address (see NUM_PROXIES),
    counted atomically in `self.cache`. Logged-in callers are counted too: a host of one restaurant is, at
    another's public endpoints, just a client, and a stolen token must not book without limit."""

    def get_cache_key(self, request, view) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user-{user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return self.count(self.key) <= self.num_requests

    def count(self, key: str) -> int:
        """This request's number in the client's current window."""
        for _ in range(2):
            self.cache.add(key, 0, timeout=self.duration)  # the window starts, unless it has already
            try:
                number = self.cache.incr(key)
            except ValueError:  # the window ended between the two calls: start the next one
                continue
            if number == 1:
                # The first of a window (or a counter that expired just before INCR, which then made it again
                # without an expiry): the window runs from now.
                self.cache.touch(key, timeout=self.duration)
            return number
        return 1  # the counter vanished twice in a row (a cache being flushed): let this one through uncounted

    def wait(self) -> float:
        # The cache cannot say when the counter expires: the longest it may take, which is never too soon.
        return float(self.duration)


class GuestPageThrottle(AtomicRateThrottle):
    """The guest's own page (`/b/<token>/`) and its forms: a cap on guessing tokens from one address (or user)."""

    scope = "guest_page"
