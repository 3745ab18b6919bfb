"""Which service-account key an organization uses, and the gateway built from it."""

from django.conf import settings

from calendar_sync.google.gateway import RetryPolicy, gateway_for_key
from calendar_sync.google.keys import load_service_account_file, parse_service_account_key
from controlhub.services.keys import org_cipher_for


def _own_key_aad(org):
    return f"controlhub_organization/own_key/{org.pk}"


def org_service_account_key(org):
    """The org's uploaded key if it has one, else the deployment's (``GOOGLE_SERVICE_ACCOUNT_FILE``)."""
    if org.own_key_ciphertext:
        blob = bytes(org.own_key_ciphertext)
        text = org_cipher_for(org, blob).decrypt(blob, aad=_own_key_aad(org))
        return parse_service_account_key(text)
    return load_service_account_file(settings.GOOGLE_SERVICE_ACCOUNT_FILE)


def org_gateway(org):
    retry = RetryPolicy(
        max_attempts=settings.GOOGLE_RETRY_ATTEMPTS, base=settings.GOOGLE_RETRY_BASE, cap=settings.GOOGLE_RETRY_CAP
    )
    return gateway_for_key(
        org_service_account_key(org),
        endpoint=settings.GOOGLE_API_ENDPOINT,
        timeout=settings.GOOGLE_HTTP_TIMEOUT,
        retry=retry,
    )
