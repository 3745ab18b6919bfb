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
import ipaddress
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


def client_ip(request):
    """The client's address as every limit sees it (``AXES_CLIENT_IP_CALLABLE``, and the rate limits).

    ``REMOTE_ADDR``, or behind ``TRUSTED_PROXY_COUNT`` reverse proxies the address the outermost of them saw
    (X-Forwarded-For is appended to by each proxy, so entries left of that one are whatever the client sent).
    An IPv6 client is counted by its /64, the block one subscriber gets, or it could change address per try.
    """
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            address = hops[-proxies] if len(hops) >= proxies else hops[0]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)
