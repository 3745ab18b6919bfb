from django.apps import AppConfig


class CalendarSyncConfig(AppConfig):
    name = "calendar_sync"
    verbose_name = "Calendar sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django_q.signals import post_spawn

        from calendar_sync.meetings import selectors as meetings
        from calendar_sync.presence import services as presence
        from calendar_sync.scheduling import keywords
        from calendar_sync.scheduling import services as meeting_service
        from calendar_sync.sync import engine as sync
        from calendar_sync.sync import sources
        from calendar_sync.warmup import worker_warm_up
        from calendar_sync.workspaces import freebusy as room_freebusy
        from calendar_sync.workspaces import health as room_health
        from calendar_sync.workspaces import services as rooms
        from controlhub.onboarding.services import register_feature_scope
        from controlhub.people.calendar import person_calendar_started
        from controlhub.people.calendar_health import person_on_source_health

        post_spawn.connect(worker_warm_up, dispatch_uid="calendar_sync.worker_warm_up")
        # Keywords: durable (an outbox entry per event, written with the page, acted on until done).
        sync.on_page_outbox("keywords", select=keywords.keyword_events_select, apply=keywords.keyword_events_apply,
                            reclaim=keywords.keyword_claims_release)
        # The org's own Jitsi / BigBlueButton servers (Meeting service page) get a Join button too.
        sync.join_hosts_provider(meeting_service.join_hosts)
        # The organizer's own Join opens the meeting with host rights (a moderator's link, never in the event).
        meetings.host_links_provider(providers=keywords.HOST_LINK_PROVIDERS)(keywords.host_links)
        # Rooms: what the mirror does not keep (visibility) and a free/busy refresh after each change; the
        # Directory rooms scope joins the scopes line once an org turns workspaces on.
        sync.on_page_committed(room_freebusy.room_events_note)
        register_feature_scope(rooms.SCOPE_ROOMS_READONLY, rooms.workspaces_enabled)
        person_calendar_started.connect(presence.presence_on_calendar_started, dispatch_uid="presence.started")
        # A person sees their calendar failing, retrying or recovered; the engine never knows who owns a source.
        sources.source_health.connect(person_on_source_health, dispatch_uid="people.calendar_health")
        sources.source_health.connect(room_health.room_on_source_health, dispatch_uid="workspaces.room_health")
