from importlib import import_module

from django.core.management.base import BaseCommand
from django_q.models import Schedule

SCHEDULE_MODULES = ["controlhub.schedules", "calendar_sync.schedules"]


def declared_schedules():
    for module_name in SCHEDULE_MODULES:
        try:
            module = import_module(module_name)
        except ModuleNotFoundError:
            continue
        yield from getattr(module, "SCHEDULES", [])


class Command(BaseCommand):
    help = "Install (or update) the periodic tasks declared in code; idempotent. Removes stale ones we own."

    def handle(self, *args, **options):
        names = []
        for spec in declared_schedules():
            spec = dict(spec)
            name = spec.pop("name")
            names.append(name)
            _, created = Schedule.objects.update_or_create(name=name, defaults=spec)
            self.stdout.write(f"{'installed' if created else 'updated'}: {name}")
        stale = Schedule.objects.filter(name__regex=r"^[a-z_]+\.[a-z_]+$").exclude(name__in=names)
        for schedule in stale:
            self.stdout.write(f"removed: {schedule.name}")
        stale.delete()
