"""The one backoff policy of the product: exponential, capped, optionally jittered, and ``Retry-After`` honoured.

Google asks clients to retry 5xx, 429 and rate-limit errors with truncated exponential backoff and jitter
(https://developers.google.com/workspace/calendar/api/guides/quota#backoff), and to wait what ``Retry-After``
says when it is given. The gateway (between attempts of one call), the sync engine (between runs of a failing
calendar) and activation (between background validations) each use an instance with their own base and cap.
"""

import random


class Backoff:
    def __init__(self, *, base, cap, jitter=True, floor=0.0):
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self.floor = floor

    def delay(self, attempt, retry_after=None):
        """Seconds to wait after failed attempt ``attempt`` (counting from 1).

        ``Retry-After`` is honoured when it is a number of seconds (capped, at least ``floor``); an HTTP-date
        (also legal) falls back to the exponential delay rather than failing the caller.
        """
        try:
            seconds = float(retry_after) if retry_after not in (None, "") else None
        except (TypeError, ValueError):
            seconds = None
        if seconds is not None and seconds >= 0:
            return max(self.floor, min(seconds, self.cap))
        raw = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        if self.jitter:
            raw *= 0.5 + random.random() / 2
        return max(self.floor, raw)
