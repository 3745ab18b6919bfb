"""Which service-account key an organization uses, and the gateway built from it.

Keys are parsed once per process (parsing validates the RSA key and costs ~30 ms): the deployment's file is cached
by path and modification time, an org's uploaded key by a digest of its ciphertext, so replacing a key takes
effect at once and an unchanged one is never parsed twice.
"""

import hashlib
import threading

from django.conf import settings

from calendar_sync.encryption.aad import aad
from calendar_sync.google.gateway import GuardedGateway, RetryPolicy, gateway_for_key
from calendar_sync.google.keys import load_service_account_file, parse_service_account_key
from controlhub.tenancy.boundary import TenantBoundary
from controlhub.tenancy.keys import org_cipher_for
from controlhub.tenancy.models import Organization

_own_keys = {}
_own_keys_lock = threading.Lock()


def _own_key_aad(org):
    return aad(Organization, "own_key", org.pk)


def other_universes_allowed():
    """A key for a universe other than googleapis.com is refused, except against a configured Google endpoint
    (the emulator), where the universe is whatever the operator pointed us at."""
    return bool(settings.GOOGLE_API_ENDPOINT)


def org_service_account_key(org):
    """The org's uploaded key if it has one, else the deployment's (``GOOGLE_SERVICE_ACCOUNT_FILE``)."""
    if org.own_key_ciphertext:
        blob = bytes(org.own_key_ciphertext)
        cache_key = (org.pk, hashlib.sha256(blob).digest())
        with _own_keys_lock:
            key = _own_keys.get(cache_key)
        if key is None:
            text = org_cipher_for(org, blob).decrypt(blob, aad=_own_key_aad(org))
            key = parse_service_account_key(text, allow_other_universe=other_universes_allowed())
            with _own_keys_lock:
                if len(_own_keys) > 1000:
                    _own_keys.clear()
                _own_keys[cache_key] = key
        return key
    return load_service_account_file(settings.GOOGLE_SERVICE_ACCOUNT_FILE,
                                     allow_other_universe=other_universes_allowed())


def _gateway(key):
    retry = RetryPolicy(
        max_attempts=settings.GOOGLE_RETRY_ATTEMPTS, base=settings.GOOGLE_RETRY_BASE, cap=settings.GOOGLE_RETRY_CAP
    )
    return gateway_for_key(
        key, endpoint=settings.GOOGLE_API_ENDPOINT, timeout=settings.GOOGLE_HTTP_TIMEOUT, retry=retry
    )


def org_gateway(org):
    """The gateway an organization talks to Google through: its key's shared gateway behind the org's tenant
    boundary (``tenant_boundary``), so no subject outside the org's own tenant can be impersonated."""
    return GuardedGateway(_gateway(org_service_account_key(org)), TenantBoundary(org).require)


def deployment_gateway():
    """The unguarded gateway of the deployment's own key (``GOOGLE_SERVICE_ACCOUNT_FILE``), or None if none is
    set. Only for warming caches: it must never be used to act as a subject (use ``org_gateway``)."""
    if not settings.GOOGLE_SERVICE_ACCOUNT_FILE:
        return None
    return _gateway(load_service_account_file(settings.GOOGLE_SERVICE_ACCOUNT_FILE,
                                     allow_other_universe=other_universes_allowed()))
