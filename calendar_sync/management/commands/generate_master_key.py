from django.core.management.base import BaseCommand

from calendar_sync.encryption.crypto import generate_master_key


class Command(BaseCommand):
    help = (
        "Print a fresh ENCRYPTION_KEYS entry (kid:<base64url of 32 random bytes>). To rotate the master key, put "
        "it FIRST in ENCRYPTION_KEYS, keep the old entries after it, restart, then run `manage.py rotate_keys`."
    )

    def handle(self, *args, **options):
        self.stdout.write(generate_master_key())
