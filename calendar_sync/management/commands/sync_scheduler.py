from django.core.management.base import BaseCommand

from calendar_sync.sync.scheduler import SCHEDULER_INTERVAL, scheduler_loop


class Command(BaseCommand):
    help = (
        "Run the sync claim loop as a dedicated process: claim due calendars every --interval seconds, forever "
        "(or for --seconds). Optional: `run_workers` claims the same way from its supervising process, and the "
        "per-minute `calendar_sync.scheduler` schedule does one pass; running several is safe (claims are atomic)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=SCHEDULER_INTERVAL)
        parser.add_argument("--seconds", type=float, default=None, help="stop after this long (default: never)")

    def handle(self, *args, **options):
        self.stdout.write(f"sync scheduler: claiming due calendars every {options['interval']}s")
        scheduler_loop(seconds=options["seconds"], interval=options["interval"])
