from django.core.management.base import BaseCommand, CommandError

from calendar_sync.encryption.crypto import CryptoError
from calendar_sync.key_rotation import BATCH_SIZE, master_key_rotate, org_key_rotate
from controlhub.tenancy.models import Organization


class Command(BaseCommand):
    help = (
        "Without --org: re-wrap every organization data key with the primary (first) master key of "
        "ENCRYPTION_KEYS. With --org SLUG: give that organization a new data key and re-encrypt its data in "
        "batches; safe to kill and run again (it resumes)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG", help="rotate this organization's data key")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, **options):
        try:
            if not options["org"]:
                count = master_key_rotate()
                self.stdout.write(f"re-wrapped {count} data key(s) with the primary master key")
                return
            org = Organization.objects.filter(slug=options["org"]).first()
            if org is None:
                raise CommandError(f"no organization with slug {options['org']!r}")
            progress = org_key_rotate(organization=org, batch_size=options["batch_size"])
        except CryptoError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{org.slug}: data key version {progress['version']}; re-encrypted {progress['meetings']} meeting(s), "
            f"{progress['keyword_meetings']} keyword meeting(s), uploaded key: "
            f"{'yes' if progress['own_key'] else 'no'}"
        )
