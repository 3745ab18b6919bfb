"""Rate limits: at most N actions per key in a fixed window, counted on the shared ``throttle`` cache.

Used for what costs us or others something per request: a sign-in link mail (per address and per client
address), a Test connection run (per organization), a domain check (per domain). Rates are the setting
``THROTTLE_RATES``: scope -> (limit, seconds).

Counting is atomic on every cache backend: each allowed hit claims one numbered slot with ``cache.add``
(Redis ``SET NX``; the database cache's INSERT on a primary key), and a hit that finds all ``limit`` slots
of the window taken is refused and writes nothing. ``cache.incr`` would not do: on the database cache it is a
read then a write (two workers can both count 3) that also resets the entry's timeout.
"""

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone

CACHE_ALIAS = "throttle"


@dataclass(frozen=True)
class ThrottleResult:
    allowed: bool
    retry_at: datetime  # when the window ends and the count starts again

    def minutes_left(self, *, now=None):
        return minutes_until(self.retry_at, now=now)

    def seconds_left(self, *, now=None):
        """For a Retry-After header."""
        return max(1, math.ceil((self.retry_at - (now or timezone.now())).total_seconds()))


def minutes_until(when, *, now=None):
    """Whole minutes from now until ``when``, at least one: what "try again in N minutes" says."""
    seconds = (when - (now or timezone.now())).total_seconds()
    return max(1, math.ceil(seconds / 60))


def throttle_rate(scope):
    limit, seconds = settings.THROTTLE_RATES[scope]
    return int(limit), int(seconds)


def throttle_hit(*, scope, key, now=None):
    """Count one action of ``key`` (an address, an org id...) under ``scope``; ``allowed`` is False once the
    window already holds its limit, and then nothing is counted."""
    limit, seconds = throttle_rate(scope)
    now = now or timezone.now()
    window = int(now.timestamp()) // seconds
    retry_at = datetime.fromtimestamp((window + 1) * seconds, tz=UTC)
    digest = hashlib.sha256(str(key).encode()).hexdigest()[:32]
    base = f"{scope}:{digest}:{window}"
    slots = [f"{base}:{n}" for n in range(limit)]
    cache = caches[CACHE_ALIAS]
    taken = cache.get_many(slots)
    # Slots outlive their window by a minute: a worker whose clock is a little behind still finds them.
    timeout = max(1, math.ceil((retry_at - now).total_seconds())) + 60
    for slot in slots:
        if slot not in taken and cache.add(slot, 1, timeout=timeout):
            return ThrottleResult(allowed=True, retry_at=retry_at)
    return ThrottleResult(allowed=False, retry_at=retry_at)
