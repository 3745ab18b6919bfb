"""System checks: refuse to start (or warn) on configuration that would lose or expose data."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from calendar_sync.encryption.crypto import KeyConfigError, MasterKeyring


@register()
def encryption_keys_check(app_configs, **kwargs):
    value = settings.ENCRYPTION_KEYS
    if not value:
        return [Error("ENCRYPTION_KEYS is not set: meeting data cannot be encrypted at rest.",
                      hint="Generate one with `python manage.py generate_master_key` and set ENCRYPTION_KEYS.",
                      id="calendarhub.E001")]
    try:
        MasterKeyring.parse(value)
    except KeyConfigError as exc:
        return [Error(f"ENCRYPTION_KEYS is malformed: {exc}", id="calendarhub.E002")]
    return []


@register(deploy=True)
def public_url_check(app_configs, **kwargs):
    if not settings.PUBLIC_BASE_URL.startswith("https://"):
        return [Warning("PUBLIC_BASE_URL is not https: Google only delivers push notifications to HTTPS addresses.",
                        id="calendarhub.W001")]
    return []
