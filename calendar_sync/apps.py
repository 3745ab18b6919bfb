from django.apps import AppConfig


class CalendarSyncConfig(AppConfig):
    name = "calendar_sync"
    verbose_name = "Calendar sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django_q.signals import post_spawn

        from calendar_sync.presence import services as presence
        from calendar_sync.scheduling import keywords
        from calendar_sync.sync import engine as sync
        from calendar_sync.warmup import worker_warm_up
        from controlhub.people.calendar import person_calendar_started

        post_spawn.connect(worker_warm_up, dispatch_uid="calendar_sync.worker_warm_up")
        sync.on_page_committed(keywords.process_events)
        person_calendar_started.connect(presence.presence_on_calendar_started, dispatch_uid="presence.started")
