from django.apps import AppConfig
from django.conf import settings


class ControlhubConfig(AppConfig):
    name = "controlhub"
    verbose_name = "Control Hub"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from controlhub import checks  # noqa: F401 - registers the system checks
        from controlhub.people.services import email_verified_in
        from controlhub.tenancy.boundary import register_verified_email_lookup

        # The tenant boundary's own-key rule asks people whether a mailbox was proven; tenancy never imports them.
        register_verified_email_lookup(email_verified_in)
        if settings.GOOGLE_TOKEN_CACHE:
            from calendar_sync.google.gateway import use_token_store
            from controlhub.tenancy.token_cache import SharedTokenCache

            use_token_store(SharedTokenCache())
